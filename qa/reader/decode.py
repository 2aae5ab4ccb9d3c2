"""From character scores to answer spans: the best (start, end) pairs and their margins."""

from __future__ import annotations

import numpy as np

from .chars import is_punct

MAX_ANSWER_CHARS = 80
_OPEN, _CLOSE = "《“‘「『（(【[", "》”’」』）)】]"
# a list's items: joined by these (longest first); an item never runs past a clause mark
CONNECTIVES = ("以及", "、", "和", "及", "与")
_CLAUSE = frozenset("，。；;,！？!?：:\n")
MAX_ITEM_CHARS = 40


def best_spans(start: np.ndarray, end: np.ndarray, null: float, valid: np.ndarray, text: str | None = None,
               max_chars: int = MAX_ANSWER_CHARS, k: int = 3) -> list[tuple[int, int, float]]:
    """The ``k`` best (first char, end char exclusive, margin) spans, margin = span - no answer.

    A span scores ``start[i] + end[j]``; "no answer" scores ``2 * null``. With ``text``, spans
    stay inside one paragraph (no answer in the training data crosses a line break), are tidied
    (:func:`tidy`) and duplicates after tidying dropped.
    """
    n = len(start)
    if n == 0 or not valid.any():
        return []
    s = np.where(valid, start, -np.inf)
    e = np.where(valid, end, -np.inf)
    width = min(max_chars, n)
    e_pad = np.concatenate([e, np.full(width, -np.inf)])
    pair = s[:, None] + e_pad[np.arange(n)[:, None] + np.arange(width)[None, :]]  # pair[i, w] = s[i] + e[i+w]
    if text is not None and "\n" in text:
        pair[np.arange(width)[None, :] >= _to_break(text)[:, None]] = -np.inf
    flat = pair.ravel()
    top = min(len(flat), 8 * k)
    cand = np.argpartition(-flat, top - 1)[:top]
    cand = cand[np.argsort(-flat[cand])]
    out, used = [], set()
    for f in cand:
        score = flat[f]
        if not np.isfinite(score):
            break
        i, w = divmod(int(f), width)
        a, b = tidy(i, i + w + 1, text)
        if b <= a or (a, b) in used:
            continue
        used.add((a, b))
        out.append((a, b, float(score - 2 * null)))
        if len(out) == k:
            break
    return out


def _to_break(text: str) -> np.ndarray:
    """For every character, how many characters from it to the next line break (or the end)."""
    n = len(text)
    out = np.empty(n, np.int64)
    nxt = n
    for i in range(n - 1, -1, -1):
        if text[i] == "\n":
            nxt = i
        out[i] = nxt - i
    return out


def tidy(a: int, b: int, text: str | None) -> tuple[int, int]:
    """Trim blanks and unpaired punctuation from the span's edges (a quoted title keeps its marks)."""
    if text is None:
        return a, b
    while a < b and is_punct(text[a]) and not (text[a] in _OPEN and _closes(text, a, b)):
        a += 1
    while b > a and is_punct(text[b - 1]) and not (text[b - 1] in _CLOSE and _opens(text, a, b)):
        b -= 1
    return a, b


def _closes(text: str, a: int, b: int) -> bool:
    return _CLOSE[_OPEN.index(text[a])] in text[a + 1:b]


def _opens(text: str, a: int, b: int) -> bool:
    return _OPEN[_CLOSE.index(text[b - 1])] in text[a:b - 1]


def coordination(start: np.ndarray, end: np.ndarray, valid: np.ndarray, text: str, a: int, b: int) -> tuple[int, int]:
    """``text[a:b]`` widened to the whole coordination it stands in, for questions that ask for
    several things (``哪些``): while a connective (:data:`CONNECTIVES`) joins it to a neighbour,
    the neighbour is added, its far edge where the reader scores it best (the best end after the
    connective, or the best start before it, within the clause).

    Measured on the held-out CMRC train paragraphs (README, seventh round): for the 66 questions
    asking for several things F1 64.9 -> 68.4, EM 21.2 -> 25.8; the other questions are not widened.
    """
    while (c := next((c for c in CONNECTIVES if text.startswith(c, b)), None)) is not None:  # rightwards
        j = b + len(c)  # the neighbour's first character
        edge = _best_edge(text, valid, j, 1, lambda k, j=j: start[j] + end[k])
        if edge is None:
            break
        b = edge + 1
    while (c := next((c for c in CONNECTIVES if text.endswith(c, 0, a)), None)) is not None:  # leftwards
        j = a - len(c) - 1  # the neighbour's last character
        edge = _best_edge(text, valid, j, -1, lambda k, j=j: start[k] + end[j])
        if edge is None:
            break
        a = edge
    return a, b


def _best_edge(text: str, valid: np.ndarray, j: int, step: int, score) -> int | None:
    """From a list item's known edge ``j``, its other edge: the character ``step`` ways from it
    (within the clause, at most :data:`MAX_ITEM_CHARS` away) where ``score`` is highest."""
    best, edge = -np.inf, None
    if not 0 <= j < len(text) or not valid[j]:
        return None
    stop = min(len(text), j + MAX_ITEM_CHARS) if step > 0 else max(-1, j - MAX_ITEM_CHARS)
    for k in range(j, stop, step):
        if text[k] in _CLAUSE:
            break
        if valid[k] and score(k) > best:
            best, edge = score(k), k
    return edge
