"""The one ``answer()`` behind the CLI, the API and the UI: question in, cited answer out.

The steps, one module each: analyse the question (``question``), embed it once (its vector
searches, its token states are read), retrieve stories (``retrieve``), check hard constraints
(``answerability``), pick the chunks to read (``evidence``), read them (``reader``), accept or
decline by the reader's learned margin (``answerability``), widen a person to the list they
stand in (``expand``), and cite (``citations``). The result is plain data: typed spans with
offsets and a calibrated score; phrasing and links belong to the presentation side.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

from . import answerability, evidence, expand
from .citations import Citation, also_in, cite, cite_answer, lead_sentence
from .gloss import Sounds, dictionary, gloss
from .index import Index
from .laps import Laps
from .people import TITLED_NAME, find_people, looks_like_name
from .question import Question, analyze, without_dates
from .reader.batch import LazyPairs, Pair
from .reader.chars import CharLayout, char_layout, question_overlap
from .reader.reader import Reader
from .retrieve import StoryHit, own_date_named, retrieve
from .script import fold, is_traditional
from .spelling import NameSounds
from .tokenize import PERSON_TAGS

RELATED = 3
LAYOUT_CACHE = 512


@dataclass
class AnswerSpan:
    """A piece of the answer: ``body[start:end]`` of story ``story_id``."""

    story_id: str
    start: int
    end: int
    text: str
    score: float              # calibrated probability that the answer is right
    kind: str = "span"        # span, person, byline
    role: str = ""            # a person's role as the story prints it
    norm: str = ""            # a date span's normalized form (07-18, 2023-05, 05-end)


@dataclass
class Answer:
    question: str
    answer: str               # the answer text as the stories print it ("" when not found)
    found: bool
    type: str
    spans: list[AnswerSpan] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    reason: str = ""          # why there is no answer: date, person, place, title, no_evidence, not_found, empty_corpus
    detail: dict = field(default_factory=dict)
    score: float = 0.0
    retrieved: list[str] = field(default_factory=list)  # story ids, best first
    lang: str = "zh"  # the reply's phrasing: zh, zh-Hant (asked in traditional characters) or en
    elapsed_ms: float = 0.0
    timings: dict = field(default_factory=dict)   # ms per stage
    analysis: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Answerer:
    def __init__(self, index: Index, embedder, reader: Reader, fusion: str = "weighted"):
        self.index = index
        self.embedder = embedder
        self.reader = reader
        self.fusion = fusion
        self.known_names = known_people(index.stories.values(), index.tokenizer.tagged)
        self.sounds = NameSounds(self.known_names | set(index.tokenizer.words), lambda: dictionary().readings)
        self._layouts: OrderedDict[int, CharLayout] = OrderedDict()
        self._sounds: Sounds | None = None  # for English questions: qa.gloss.Sounds, built on first need
        self._sounds_lock = threading.Lock()

    def answer(self, question: str) -> Answer:
        t0 = time.perf_counter()
        self._laps = Laps()
        q = analyze(question, self.index.tokenizer)
        if not q.english:
            respelt = self.sounds.respell(q.norm)
            if respelt != q.norm:  # a misspelt name, read as the corpus writes it (qa.spelling)
                q = analyze(respelt, self.index.tokenizer)
                q.text, q.read_as = question, respelt
        self._laps.lap("analysis")
        result = self._answer(q)
        result.lang = "en" if q.english else "zh-Hant" if is_traditional(q.text) else "zh"
        result.analysis = q.to_dict()
        result.elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
        result.timings = dict(self._laps)
        return result

    # -------------------------------------------------------------- steps

    def _answer(self, q: Question) -> Answer:
        if not self.index.chunks:
            return Answer(q.text, "", False, q.type, reason="empty_corpus")
        self._laps.restart()
        vectors, states = self.embedder.queries_with_states([q.norm])
        self._laps.lap("encode")
        hits = retrieve(self.index, vectors[0], q, self.fusion, laps=self._laps)
        read_q, read_states, passages = q, states[0], None
        if q.english:
            hits, read_q, read_states, passages = self._in_stories_words(q, hits, read_states)
        result = self._answer_from(q, hits, read_q, read_states, passages)
        result.retrieved = [h.story.id for h in hits]
        return result

    def corpus_sounds(self) -> Sounds:
        """The corpus's words by their readings (``qa.gloss.Sounds``), built once, on the first
        English question (7 ms for the seed pages, 178 ms for DRCD's 1,000 paragraphs)."""
        with self._sounds_lock:
            if self._sounds is None:
                d = dictionary()
                self._sounds = Sounds(self.index.bm25.vocabulary(), d.readings, d.common)
            return self._sounds

    def _in_stories_words(self, q: Question, hits: list[StoryHit], q_states):
        """An English question written in the Chinese words of the chunks first retrieved for it
        (``qa.gloss``), retrieved again and read in those words (README, sixteenth round): (hits,
        the question read, its token states, and the passages of the hits when they are unchanged,
        so they are not gathered twice). Unchanged when nothing could be glossed."""
        passages = evidence.passages(self.index, hits)
        context = "\n".join(fold(p.text) for p in passages)
        tokenizer = self.index.tokenizer
        text = gloss(q.norm, context, tokenizer.frequency, tokenizer, self.corpus_sounds())
        if text is None:
            self._laps.lap("gloss")
            return hits, q, q_states, passages
        q.read_as = text
        glossed = analyze(text, tokenizer)
        vectors, states = self.embedder.queries_with_states([glossed.norm])
        hits = retrieve(self.index, vectors[0], glossed, self.fusion)
        self._laps.lap("gloss")  # the gloss, its forward pass and the second retrieval
        return hits, glossed, states[0], None

    def _answer_from(self, q: Question, hits: list[StoryHit], read_q: Question, read_states,
                     passages: list | None = None) -> Answer:
        """The answer to ``q`` from ``hits``; the reader reads ``read_q`` (``q``, or an English
        question in the stories' words) with its token states. ``passages``: those of ``hits``,
        when already gathered."""
        none = Answer(q.text, "", False, q.type, reason="not_found", related=self._related(hits))
        decline = answerability.unmet_constraint(q, hits, self.known_names)
        if decline:
            none.reason, none.detail = decline.reason, decline.detail
            return none
        if q.asks_byline:
            found = self._byline(q, hits)
            if found:
                return found
        if passages is None:
            passages = evidence.passages(self.index, hits)
        if not passages:
            none.reason = "no_evidence"
            return none
        self._laps.restart()
        spans = self.reader.read(self._pairs(read_q, read_states, passages), [fold(p.text) for p in passages],
                                 k=1, lists=q.asks_list, first=evidence.best_story_chunks(passages))
        self._laps.lap("read")
        best = answerability.best(spans, passages)
        if best is None or not answerability.accept(best.margin, self.reader.threshold):
            none.score = round(best.score, 4) if best else 0.0
            return none
        decline = self._unfit(q, best, passages)
        if decline:  # the best span that fits the question (answerability.unfit), if accepted
            spans = [s for s in spans if not self._unfit(q, s, passages)]
            best = answerability.best(spans, passages)
            if best is None or not answerability.accept(best.margin, self.reader.threshold):
                none.reason, none.detail = decline.reason, decline.detail
                return none
        title = answerability.asked_title(q)
        if title:
            roles = [p.role for passage in passages for p in find_people(fold(passage.text), self.known_names)]
            title = answerability.widen_title(q, title, roles)
            best = self._titled(title, spans, passages)
            if best is None:
                none.reason, none.detail = "title", {"title": title}
                return none
        passage = passages[best.passage]
        start, end = passage.start + best.start, passage.start + best.end
        self._laps.restart()
        found = self._found(q, passage.story, start, end, best.score, [p.story for p in passages], title)
        self._laps.lap("citations")  # names and roles expanded, sentences cited
        return found

    @staticmethod
    def _unfit(q: Question, span, passages: list):
        p = passages[span.passage]
        return answerability.unfit(q, p.story, fold(p.text[span.start:span.end]))

    def _titled(self, title: str, spans: list, passages: list):
        """The best accepted span that names a person (the people finder's, or
        ``answerability.names_a_person``) and whose people do not all carry roles without ``title``
        (``answerability.contradicts_title``); None if there is no such span."""
        for span in answerability.ranked(spans, passages):
            if not answerability.accept(span.margin, self.reader.threshold):
                continue
            p = passages[span.passage]
            start, end = p.start + span.start, p.start + span.end
            people = expand.people_list(p.story, start, end, self.known_names)
            if answerability.contradicts_title(title, people):
                continue
            if people or answerability.names_a_person(fold(p.story.body[start:end]), self.index.tokenizer):
                return span
        return None

    def _pairs(self, q: Question, q_states, passages: list) -> LazyPairs:
        """The (question, chunk) pairs to read, each made when the reader first reads it (most
        questions stop after the best story: ``Reader.confident``). A date the question names that
        is a story's own date (its lead's, ``Story.date``) already chose that story; inside it, the
        date would pull the reader to the lead sentence that repeats it (7月18日的会议谁参加了 -> the
        lead's 徐立毅, not the attendees a sentence later). So that story's chunks are read with the
        question without its dates (README, eighth round of issue 9)."""
        dated = {p.story.id for p in passages if own_date_named(p.story, q.date_norms)}
        bare = without_dates(q) if dated else None
        bare_states = []  # the question without its dates, encoded once when first needed

        def make(i: int) -> Pair:
            p = passages[i]
            if bare is None or p.story.id not in dated:
                return self._pair(q.norm, q_states, p.chunk)
            if not bare_states:
                bare_states.append(self.embedder.queries_with_states([bare])[1][0])
            return self._pair(bare, bare_states[0], p.chunk)

        return LazyPairs(len(passages), make)

    def _pair(self, question: str, q_states, chunk: int) -> Pair:
        st = self.index.tokens.chunk(chunk)
        c = self.index.chunks[chunk]
        text = fold(c.text)  # the shipped reader needs it for every pair (overlap)
        layout = self._layouts.get(chunk)
        if layout is None:
            layout = self._layouts[chunk] = char_layout(text, st.offsets)
            if len(self._layouts) > LAYOUT_CACHE:
                self._layouts.popitem(last=False)
        overlap = question_overlap(text, question) if self.reader.overlap else None
        return Pair(st.states, st.ids, q_states.states, q_states.ids, layout, overlap=overlap,
                    question=question, title=fold(c.title))

    def _found(self, q: Question, story, start: int, end: int, score: float, read: list,
               title: str | None = None) -> Answer:
        """The answer from a span; ``title``: the title the question asks the holder of."""
        people = expand.people_list(story, start, end, self.known_names)
        if q.type != "who" and not expand.cuts_a_name(start, end, people):
            people = []  # not asked for people, and the span keeps every name whole
        held = answerability.holders(title, people, q.norm) if title else []
        if held:
            people = held  # 区长是谁: the 区长, not the whole list
        if people:
            spans = [AnswerSpan(story.id, p.start, p.end, p.name, score, "person", p.role) for p in people]
            text = "、".join(p.text for p in people)
        else:
            text = story.body[start:end]
            dates = [m for m in story.dates if start <= m.start and m.end <= end]
            norm = dates[0].norm if len(dates) == 1 and len(dates[0].text) >= len(text.strip()) - 2 else ""
            spans = [AnswerSpan(story.id, start, end, text, score, norm=norm)]
        pieces = [(s.start, s.end) for s in spans]
        first = cite_answer(1, story, pieces, score)
        citations = [first] + also_in(_unique(read), spans[0].text if len(spans) == 1 else "", first, score)
        return Answer(q.text, text, True, q.type, spans, citations, score=round(score, 4))

    def _byline(self, q: Question, hits: list[StoryHit]) -> Answer | None:
        """"Which reporter wrote it": the byline of the best story that has one."""
        for hit in hits[:2]:
            story = hit.story
            pieces = expand.byline_people(story, q.norm)
            if pieces:
                spans = [AnswerSpan(story.id, p.start, p.end, p.text, 1.0, "byline") for p in pieces]
                end = len(story.body)
                c = cite(1, story, end, end, [], hit.score)
                c.text = story.byline.text
                return Answer(q.text, "、".join(p.text for p in pieces), True, q.type, spans, [c], score=1.0)
        return None

    def _related(self, hits: list[StoryHit]) -> list[Citation]:
        out = []
        for hit in hits[:RELATED]:
            chunk = self.index.chunks[hit.chunks[0][0]]
            out.append(lead_sentence(len(out) + 1, hit.story, chunk.start, chunk.end, hit.score))
        return out


def _unique(stories: list) -> list:
    seen, out = set(), []
    for s in stories:
        if s.id not in seen:
            seen.add(s.id)
            out.append(s)
    return out


def known_people(stories, tagger=None) -> frozenset[str]:
    """People the corpus names: its reporters and everyone it introduces with a title. A titled name
    whose surname the list lacks counts when ``tagger`` (jieba's part-of-speech tags, as
    ``Tokenizer.tagged``) tags it, or its last two characters, as a person: 区长 | 虎/n | 荣鑫/nr."""
    names = set()
    for story in stories:
        names.update(fold(p) for p in story.byline.people)
        body = story.folded_body
        for m in TITLED_NAME.finditer(body):
            name = m["name"]
            if looks_like_name(name) or (tagger is not None
                                         and _tagged_person(name, body[m.start():m.end() + 2], tagger)):
                names.add(name)
    return frozenset(names)


def _tagged_person(name: str, titled: str, tagger) -> bool:
    """Whether jieba, tagging ``titled`` (a title, the name after it and what follows), tags ``name``
    or its last two characters as a person."""
    return any(flag in PERSON_TAGS and word in (name, name[-2:]) for word, flag in tagger(titled))
