"""Questions as keyword queries: the training questions with their interrogative dropped.

Every training question is a full question ("《ICO》主创者是谁?"), but people also type the
bare phrase ("《ICO》主创者", "郑东新区防汛会商会议的主持人"). A reader that never saw such a
query declines it. So a share of the training questions whose interrogative ends them is
also read in keyword form: the interrogative, the copula or verb right before it, a final
particle and the question mark dropped. Questions with an interrogative inside ("由哪个公司
授权") have no keyword form: cutting them would leave a phrase nobody types.
"""

from __future__ import annotations

import re

from ..question import INTERROGATIVE
from ..script import fold

TAIL = re.compile(r"(?:是|为|有|叫做|叫)?(?:" + INTERROGATIVE.pattern + r")(?:的|呢|了|啊)?[?？。!！\s]*$")
MIN_CHARS = 4  # what is left must still name something


def keyword_form(question: str) -> str | None:
    """``question`` without its final interrogative, or None when it has no such form.

    Matched on the simplified fold (same length), cut in the question's own script."""
    text = question.strip()
    m = TAIL.search(fold(text))
    if m is None or m.start() < MIN_CHARS:
        return None
    return text[:m.start()].rstrip(" ，,、")
