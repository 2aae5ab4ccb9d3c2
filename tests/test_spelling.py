"""qa.spelling: a misspelt name is read as the corpus name it sounds like, and nothing else is."""

import pytest

from qa.spelling import NameSounds

# toneless readings of the characters used below (CC-CEDICT's, as qa.gloss loads them)
READINGS = {"华": {"hua"}, "化": {"hua"}, "马": {"ma"}, "樊": {"fan"}, "范": {"fan"}, "惠": {"hui"},
            "慧": {"hui"}, "瑞": {"rui"}, "牛": {"niu"}, "交": {"jiao"}, "胶": {"jiao"}, "坤": {"kun"},
            "昆": {"kun"}, "期": {"qi"}, "七": {"qi"}}


def _sounds(names=("牛瑞华", "樊惠林", "中交投资", "胡坤", "二七")):
    return NameSounds(names, lambda: {k: frozenset(v) for k, v in READINGS.items()})


@pytest.mark.parametrize("asked, read", [
    ("牛瑞化是什么职务?", "牛瑞华是什么职务?"),          # one character, same sound
    ("范惠林带队去了哪里?", "樊惠林带队去了哪里?"),        # the surname too
    ("跟中胶投资签了什么?", "跟中交投资签了什么?"),
])
def test_a_misspelt_name_is_read_as_the_name_it_sounds_like(asked, read):
    assert _sounds().respell(asked) == read


@pytest.mark.parametrize("asked", [
    "牛瑞华是什么职务?",      # printed right
    "牛马华是什么职务?",      # 马 does not sound like 瑞
    "胡昆去了哪里?",          # a two-character name is too short to guess
    "二期工程什么时候完工?",  # nor is a two-character word
    "什么时候开会?",
])
def test_anything_else_is_left_as_asked(asked):
    assert _sounds().respell(asked) == asked


def test_two_names_it_could_be_are_left_alone():
    sounds = NameSounds(["牛瑞华", "牛慧华"], lambda: {"瑞": frozenset({"rui"}), "慧": frozenset({"hui"}),
                                                      "惠": frozenset({"hui", "rui"})})
    assert sounds.respell("牛惠华是谁?") == "牛惠华是谁?"


def test_the_readings_are_not_loaded_for_a_question_near_no_name():
    def readings():
        raise AssertionError("loaded")

    assert NameSounds(["牛瑞华"], readings).respell("7月18日的会议谁参加了?") == "7月18日的会议谁参加了?"
