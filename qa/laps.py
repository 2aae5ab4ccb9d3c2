"""Stage timings of one question: ``lap(stage)`` records the milliseconds since the last lap
(or since :meth:`Laps.restart`), so a stage is timed by where it ends."""

from __future__ import annotations

import time


class Laps(dict):
    """``{stage: ms}``, filled as the question goes through the stages."""

    def __init__(self):
        super().__init__()
        self.restart()

    def restart(self) -> None:
        """Start timing the next stage now (what ran since the last lap is not counted)."""
        self._since = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self[stage] = round((now - self._since) * 1000, 2)
        self._since = now
