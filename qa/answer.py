"""The one ``answer()`` behind the CLI, the API and the UI: question in, cited answer out.

Retrieve chunks, answer from sentences, cite stories. The answer is a short span or list
taken from the best sentence that satisfies the question's constraints; when no story meets
them (a date the corpus never mentions, a person it never names, too few of the question's
words), the reply says the corpus has no answer and lists the nearest passages as possibly
related.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from .extract import Context, Extraction, extract
from .dates import covers
from .index import Index
from .people import TITLED_NAME, looks_like_name
from .prompts import load_prompts
from .question import INTERROGATIVE, Question, analyze
from .retrieve import StoryHit, name_in, retrieve
from .sentences import split_sentences

STORIES_READ = 5           # stories whose sentences are read for the answer
SENTENCES_TRIED = 8        # best sentences the extractors are tried on
MIN_COVERAGE = 0.34        # share of the question's words the best sentence must hold
CONTINUATION = 3           # following sentences that may add to a list answer


@dataclass
class Citation:
    n: int
    story_id: str
    title: str
    date: str | None
    source: str
    lines: list[int]
    text: str
    start: int
    end: int
    answer_start: int | None
    answer_end: int | None
    score: float
    url: str


@dataclass
class Answer:
    question: str
    answer: str
    found: bool
    type: str
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    message: str = ""      # the reply line: the answer, or why there is none
    retrieved: list[str] = field(default_factory=list)  # story ids, best first
    lang: str = "zh"
    elapsed_ms: float = 0.0
    analysis: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        order = ["question", "answer", "found", "type", "elapsed_ms", "citations", "related", "message",
                 "lang", "analysis", "retrieved"]
        return {k: d[k] for k in order}


@dataclass
class Evidence:
    hit: StoryHit
    start: int
    end: int
    score: float
    coverage: float

    @property
    def text(self) -> str:
        return self.hit.story.body[self.start:self.end]


def story_url(story_id: str, start: int | None = None, end: int | None = None,
              a_start: int | None = None, a_end: int | None = None) -> str:
    """The story page, with the cited range (and the answer inside it) to highlight."""
    url = f"/story/{quote(story_id, safe='')}"
    if start is not None and end is not None:
        url += f"?start={start}&end={end}"
        if a_start is not None and a_end is not None:
            url += f"&astart={a_start}&aend={a_end}"
        url += "#cited"
    return url


class Answerer:
    def __init__(self, index: Index, embedder, prompts_dir: Path, fusion: str = "weighted"):
        self.index = index
        self.embedder = embedder
        self.prompts_dir = Path(prompts_dir)
        self.fusion = fusion
        self.known_names = known_people(index.stories.values())

    def answer(self, question: str) -> Answer:
        t0 = time.perf_counter()
        q = analyze(question, self.index.tokenizer)
        lang = "en" if q.english else "zh"
        prompts = load_prompts(self.prompts_dir, lang)
        result = self._answer(q, prompts)
        result.lang = lang
        result.analysis = q.to_dict()
        result.elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
        return result

    # -------------------------------------------------------------- steps

    def _answer(self, q: Question, prompts: dict) -> Answer:
        hits = retrieve(self.index, self.embedder, q, self.fusion)
        retrieved = [h.story.id for h in hits]
        result = self._answer_from(q, hits, prompts)
        result.retrieved = retrieved
        return result

    def _answer_from(self, q: Question, hits: list[StoryHit], prompts: dict) -> Answer:
        none = Answer(q.text, "", False, q.type, message=prompts["no_answer"])
        if not hits:
            return none
        none.related = self._related(hits)
        reason = self._unmet_constraint(q, hits, prompts)
        if reason:
            none.message = reason
            return none
        candidates = [h for h in hits[:STORIES_READ] if h.date_ok is not False]
        evidence = self._evidence(q, candidates)
        if not evidence or evidence[0].coverage < MIN_COVERAGE:
            return none
        ctx = Context(self.index.tokenizer, self.known_names, prompts["person"], prompts["list_separator"])
        best = evidence[0]
        tried = [ev for ev in evidence[:SENTENCES_TRIED]
                 if ev.score >= 0.6 * best.score and ev.coverage >= MIN_COVERAGE]
        for loose in (False, True):
            ctx.loose = loose
            for ev in tried:
                ex = extract(q, ev.text, ctx)
                if ex and ex.text:
                    return self._found(q, ev, ex, evidence, ctx, prompts)
        if q.type in ("who", "when", "howmuch") or best.coverage < 0.5:
            return none
        return self._found(q, best, Extraction(best.text, [(0, len(best.text))]), evidence, ctx, prompts)

    def _unmet_constraint(self, q: Question, hits: list[StoryHit], prompts: dict) -> str | None:
        """Why the corpus cannot answer, judged from the stories found, or None."""
        top = hits[:STORIES_READ]
        if q.dates and not any(h.date_ok for h in top):
            date = "、".join(d.text for d in q.dates)
            return prompts["no_answer_reason_date"].format(date=date)
        people = [n for n in q.names if looks_like_name(n) and n in self.known_names | set(q.names)
                  and not n.endswith(("区", "县", "市"))]
        for person in people:
            if person in self.known_names and not any(person in h.story.body for h in top):
                return prompts["no_answer"]
        return None

    def _evidence(self, q: Question, hits: list[StoryHit]) -> list[Evidence]:
        """Every sentence of the stories read, scored against the question, best first.

        Coverage weighs each question word by its rarity among these sentences (IDF), so 区长
        counts more than the 管城回族区 every sentence of the story shares. A date the question
        names counts as present in a story that mentions it; a predicate counts as present
        when any of its synonyms is (参加 / 出席).
        """
        if not hits:
            return []
        top = hits[0].score
        sentences = [(hit, s, e) for hit in hits for s, e in split_sentences(hit.story.body)]
        texts = [hit.story.body[s:e] for hit, s, e in sentences]
        keywords = [k for k in q.keywords if not INTERROGATIVE.fullmatch(k)]
        keywords = [k for k in keywords if not any(k != o and k in o for o in keywords)]
        predicate_words = [w for w in q.predicate_words if len(w) > 1]
        dates = set(q.date_norms)

        def present(k: str, text: str, hit: StoryHit) -> float:
            if k in dates:  # fully where the sentence names it, half elsewhere in its story
                return 1.0 if k in dated.get((hit.story.id, text), ()) else 0.5 if hit.date_ok else 0.0
            if k in text or (k in q.predicate_words and any(w in text for w in predicate_words)):
                return 1.0
            # The headline and lead set the scene for every sentence of the story.
            return 0.5 if k in context[hit.story.id] else 0.0

        dated: dict[tuple[str, str], set[str]] = {}  # (story, sentence) -> question dates it names
        for (hit, s, e), text in zip(sentences, texts):
            named = {d for m in hit.story.dates if s <= m.start < e for d in dates if covers(m.norm, d)}
            if named:
                dated[(hit.story.id, text)] = named
        context = {}
        for hit in hits:
            lead = hit.story.body[slice(*hit.story.paragraphs[0])] if hit.story.paragraphs else ""
            context[hit.story.id] = f"{hit.story.title} {hit.story.subtitle} {lead}"

        n = len(texts)
        weights = {}
        for k in keywords:
            df = sum(present(k, t, hit) for (hit, _, _), t in zip(sentences, texts))
            if df == 0 and q.english and re.fullmatch(r"[a-z0-9\-]+", k):
                continue  # an English word cannot be expected in a Chinese story; dense retrieval bridges
            weights[k] = math.log((n + 1) / (df + 0.5)) + 0.1
        if not any(len(k) >= 2 and not k.isdigit() for k in weights):
            return []  # nothing of the question's substance can be matched: no evidence at all
        if self._topic_missing(q, weights, sentences, texts, present):
            return []
        total = sum(weights.values()) or 1.0
        bigrams = _bigrams(INTERROGATIVE.sub(" ", q.norm))
        out = []
        for (hit, s, e), text in zip(sentences, texts):
            coverage = sum(w * present(k, text, hit) for k, w in weights.items()) / total
            overlap = len(bigrams & _bigrams(text)) / (len(bigrams) or 1)
            score = 1.5 * coverage + 0.5 * overlap + 0.3 * hit.score / top
            if predicate_words and any(w in text for w in predicate_words):
                score += 0.2
            if q.head and q.head in text:
                score += 0.1
            if _TYPE_FEATURE.get(q.type) and _TYPE_FEATURE[q.type].search(text):
                score += 0.1
            out.append(Evidence(hit, s, e, score, coverage))
        out.sort(key=lambda ev: -ev.score)
        return out

    def _topic_missing(self, q: Question, weights: dict, sentences, texts, present) -> bool:
        """A noun the question is about (火星 in 火星基地什么时候建成) that no story read contains."""
        if q.english:
            return False
        nouns = {w for w, flag in self.index.tokenizer.tagged(INTERROGATIVE.sub(" ", q.norm))
                 if flag.startswith("n") and len(w) >= 2}
        for k in weights:
            if k in nouns and k != q.head and not any(present(k, t, hit) for (hit, _, _), t in zip(sentences, texts)):
                return True
        return False

    def _found(self, q: Question, ev: Evidence, ex: Extraction, evidence: list[Evidence], ctx: Context,
               prompts: dict) -> Answer:
        story = ev.hit.story
        pieces = [(ev.start + s, ev.start + e) for s, e in ex.pieces]
        text_end = ev.end
        answer_text = ex.text
        if ex.uses_objects:
            answer_text, text_end, more = self._continue_list(q, ev, ex, ctx)
            pieces += more
        answer_text = answer_text.strip()
        first = self._citation(1, story, ev.start, text_end, pieces, ev.score)
        citations = [first]
        for other in evidence[1:]:
            if len(citations) == 3:
                break
            if other.hit.story.id == story.id and other.start < text_end and other.end > ev.start:
                continue
            core = [p for p in re.split(r"[、,()（）]", ex.text) if len(p) >= 2]
            if core and any(c in other.text for c in core[:3]) and other.coverage >= MIN_COVERAGE:
                spans = [(other.start + other.text.find(c), other.start + other.text.find(c) + len(c))
                         for c in core[:3] if c in other.text]
                citations.append(self._citation(len(citations) + 1, other.hit.story, other.start, other.end,
                                                spans, other.score))
        message = prompts["answer"].format(answer=answer_text)
        return Answer(q.text, answer_text, True, q.type, citations, message=message)

    def _continue_list(self, q: Question, ev: Evidence, ex: Extraction, ctx: Context):
        """Objects of the predicate in the next sentences of the paragraph (第三天…考察了A。实地考察了B。)."""
        story = ev.hit.story
        para = next((p for p in story.paragraphs if p[0] <= ev.start < p[1] + 1), (ev.start, ev.end))
        answer, end, more = ex.text, ev.end, []
        for s, e in split_sentences(story.body, ev.end, para[1])[:CONTINUATION]:
            nxt = extract(q, story.body[s:e], ctx)
            if not nxt or not nxt.uses_objects:
                break
            answer += ctx.separator + nxt.text
            more += [(s + a, s + b) for a, b in nxt.pieces]
            end = e
        return answer, end, more

    def _citation(self, n: int, story, start: int, end: int, pieces: list[tuple[int, int]],
                  score: float) -> Citation:
        a_start = min((s for s, _ in pieces), default=None)
        a_end = max((e for _, e in pieces), default=None)
        return Citation(n=n, story_id=story.id, title=story.display_title, date=story.date,
                        source=story.source, lines=list(story.lines), text=story.body[start:end],
                        start=start, end=end, answer_start=a_start, answer_end=a_end,
                        score=round(float(score), 4), url=story_url(story.id, start, end, a_start, a_end))

    def _related(self, hits: list[StoryHit]) -> list[Citation]:
        out = []
        for hit in hits[:3]:
            chunk = self.index.chunks[hit.chunks[0][0]]
            first = split_sentences(hit.story.body, chunk.start, chunk.end)[:1]
            s, e = first[0] if first else (chunk.start, chunk.end)
            out.append(self._citation(len(out) + 1, hit.story, s, e, [], hit.score))
        return out


_TYPE_FEATURE = {
    "who": TITLED_NAME,
    "when": re.compile(r"\d{4}年|\d{1,2}月|[上下]半年|季度|年底|年初"),
    "howmuch": re.compile(r"\d|第[一二三四五六七八九十]"),
}


def known_people(stories) -> frozenset[str]:
    """People the corpus names: its reporters and everyone it introduces with a title."""
    names = set()
    for story in stories:
        names.update(story.byline.people)
        names.update(m["name"] for m in TITLED_NAME.finditer(story.body) if looks_like_name(m["name"]))
    return frozenset(names)


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[^\u4e00-\u9fff0-9a-zA-Z]", " ", text)
    return {text[i:i + 2] for i in range(len(text) - 1) if " " not in text[i:i + 2]}
