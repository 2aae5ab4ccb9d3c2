"""What the benchmark scripts measure alike: a process's memory and question time by stage; and the
way they read an optional setting."""

from __future__ import annotations

from pathlib import Path

from qa.evaluate import percentile

STAGES = ("analysis", "encode", "bm25", "dense", "fusion", "read", "citations")


def optional_float(text: str) -> float | None:
    """A setting given on a bench command line: a number, or "none" for off (None)."""
    return None if text.lower() == "none" else float(text)


def rss_mb(key: str = "VmHWM", pid: int | str = "self") -> float:
    """A live process's memory from /proc, in MB: its peak (VmHWM) or current (VmRSS) resident size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def p50_p95(values: list[float], digits: int = 1) -> list[float]:
    return [round(percentile(values, 50), digits), round(percentile(values, 95), digits)]


def latency_by_stage(answers) -> dict[str, list[float]]:
    """``{"total": [p50, p95], stage: [p50, p95], …}`` in ms over answers (their ``timings``)."""
    out = {"total": p50_p95([a.elapsed_ms for a in answers])}
    for stage in STAGES:
        times = [a.timings[stage] for a in answers if stage in a.timings]
        if times:
            out[stage] = p50_p95(times)
    return out
