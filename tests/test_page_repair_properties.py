"""Property: column breaks at random places inside paragraphs are repaired, nothing else moves."""

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.corpus import read_page
from qa.pages import ends_sentence

HANZI = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=2, max_size=12)
SENTENCE = st.builds(lambda words, end: ",".join(words) + end,
                     st.lists(HANZI, min_size=1, max_size=4), st.sampled_from(["。", "！", "？"]))
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=4).map("".join)


@st.composite
def broken_story(draw):
    paragraphs = draw(st.lists(PARAGRAPH, min_size=1, max_size=5))
    paragraphs[0] = "本报讯 " + paragraphs[0]
    printed = []
    for p in paragraphs:
        cuts = sorted(draw(st.sets(st.integers(1, len(p) - 1), max_size=3)))
        # A cut right after a full stop looks exactly like a paragraph break: avoid it.
        cuts = [c for c in cuts if not ends_sentence(p[:c]) and p[c - 1] != " " and p[c] != " "]
        pieces = [p[a:b] for a, b in zip([0] + cuts, cuts + [len(p)])]
        gap = draw(st.sampled_from(["\n\n", "\n\n\n\n", "\n"]))
        printed.append(gap.join(pieces))
    return paragraphs, printed


BYLINES = ["记者 马燕 通讯员 李盼 文/图", "记者 景静"]


@settings(max_examples=200, deadline=None)
@given(broken_story(), st.sampled_from(["# ", "## ", ""]), st.sampled_from(BYLINES))
def test_random_column_breaks_are_repaired(story, marker, byline):
    paragraphs, printed = story
    page = f"{marker}某区召开工作会议\n\n" + "\n\n".join(printed) + f"\n\n{byline}\n"
    [s] = read_page(page, "page.txt")
    assert s.title == "某区召开工作会议"
    assert s.paragraph_texts() == paragraphs
    assert s.byline.lines == (byline,)
