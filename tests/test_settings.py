"""One configuration: every setting validated in one place, one precedence, one clear line on a bad value."""

import subprocess
import sys
from pathlib import Path

import pytest

from qa.settings import SettingError, Settings
from tests.conftest import ROOT


def _qa(*args, env=None, cwd=ROOT):
    import os

    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=cwd, capture_output=True, text=True, env=full)


@pytest.mark.parametrize("env, name", [
    ({"QA_FUSION": "foo"}, "QA_FUSION"),
    ({"QA_PORT": "abc"}, "QA_PORT"),
    ({"QA_PORT": "0"}, "QA_PORT"),
    ({"QA_CORPUS": "/no/such/folder"}, "QA_CORPUS"),
    ({"QA_PROMPTS": "/no/such/folder"}, "QA_PROMPTS"),
    ({"QA_READER": "/no/such/weights.safetensors"}, "QA_READER"),
    ({"QA_MIN_SCORE": "1.5"}, "QA_MIN_SCORE"),
    ({"QA_MIN_SCORE": "half"}, "QA_MIN_SCORE"),
    ({"QA_CROSS_READER": "sometimes"}, "QA_CROSS_READER"),
])
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(env, name):
    out = _qa("ask", "x", env=env)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "use " in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_the_app_refuses_a_bad_port_the_same_way():
    import os

    out = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "QA_PORT": "abc"}, timeout=60)
    assert out.returncode == 2 and "QA_PORT" in out.stderr and "Traceback" not in out.stderr


def test_precedence_option_over_environment_over_default(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_FUSION", "rrf")
    assert Settings().fusion == "rrf"
    assert Settings.resolve({"fusion": "weighted"}).fusion == "weighted"
    assert Settings.resolve({"fusion": None}).fusion == "rrf"  # an option not given does not count
    monkeypatch.delenv("QA_FUSION")
    assert Settings().fusion == "weighted"


def test_the_cross_reader_choices_are_words_or_a_weights_file(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_CROSS_READER", raising=False)
    assert Settings().cross_reader == "fallback"  # the head leads, the cross reader reads when it declines
    monkeypatch.setenv("QA_CROSS_READER", "off")
    assert Settings().cross_reader == "off" and Settings.resolve({"cross_reader": "on"}).cross_reader == "on"
    for choice in ("off", "fallback", "on"):
        assert Settings(cross_reader=choice).cross_reader == choice
    weights = tmp_path / "cross.safetensors"
    weights.write_bytes(b"")
    assert Settings(cross_reader=str(weights)).cross_reader == weights
    with pytest.raises(SettingError, match="off, fallback, on"):
        Settings(cross_reader="sometimes")


def test_each_cross_reader_choice_loads_the_readers_it_names(tmp_path, monkeypatch):
    """off: the head alone; fallback: the head leads; on or a weights file: the cross reader leads
    (with those weights)."""
    from types import SimpleNamespace

    from qa import pipeline

    made = []

    def fake_cross(weights, encoder_path, tokenizer, runtime):
        made.append(weights)
        return SimpleNamespace(threshold=1.0, calibration=(1.0, 0.0))

    monkeypatch.setattr("qa.reader.cross.CrossReader", fake_cross)
    embedder = SimpleNamespace(path="unused", tokenizer=None)
    weights = tmp_path / "mine.safetensors"
    weights.write_bytes(b"")
    for choice, lead, file in (("off", "head", None), ("fallback", "head", "cross.safetensors"),
                               ("on", "cross", "cross.safetensors"), (str(weights), "cross", "mine.safetensors")):
        made.clear()
        reader = pipeline.load_reader(Settings(cross_reader=choice), embedder)
        assert reader.lead == lead and (reader.cross is None) == (file is None), choice
        assert [w.name for w in made] == ([file] if file else []), choice


def test_paths_default_to_the_current_folder_not_the_package(monkeypatch, tmp_path):
    for var in ("QA_CORPUS", "QA_INDEX", "QA_PROMPTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.corpus == tmp_path / "corpus" and s.index == tmp_path / "index"
    assert (s.prompts / "zh.toml").is_file()  # no ./prompts here: the packaged phrasing
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "zh.toml").write_text((s.prompts / "zh.toml").read_text(encoding="utf-8"))
    assert Settings().prompts == tmp_path / "prompts"


def test_a_missing_corpus_is_refused_only_where_a_corpus_is_read(tmp_path):
    s = Settings(corpus=tmp_path / "missing")
    with pytest.raises(SettingError, match="QA_CORPUS"):
        s.require_corpus()


@pytest.mark.parametrize("command", ["stories", "build", "info", "ask", "eval", "train-reader", "eval-reader"])
def test_every_command_has_a_description_and_an_example(command):
    out = _qa(command, "--help")
    assert out.returncode == 0
    assert "example:" in out.stdout
    assert out.stdout.split("\n\n")[1].strip().endswith(".")  # the one-line description


def test_info_without_an_index_says_so(tmp_path):
    out = _qa("info", "--index", str(tmp_path / "none"))
    assert out.returncode == 2 and "qa build" in out.stderr


def test_a_busy_port_is_one_line_before_anything_else():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"error: port {port} is in use; pass --port (or set QA_PORT)"]


@pytest.mark.parametrize("command, config, fields", [
    ("train-reader", "qa.reader.train:TrainConfig",
     ["epochs", "members", "cross", "dim", "overlap", "joint", "joint_epochs", "keyword_share", "cut_share",
      "overlap_dropout", "hide_share", "encoder"]),
    ("train-cross-reader", "qa.reader.cross_train:CrossConfig", ["epochs", "trainable", "keyword_share", "ema"]),
])
def test_the_training_commands_default_to_their_configs_defaults(command, config, fields):
    """The CLI repeats the training configs' defaults (importing them would load torch at start-up);
    a default changed in one place only would make the command train something else than its card says."""
    import importlib

    from qa.cli import build_parser

    module, _, name = config.partition(":")
    defaults = getattr(importlib.import_module(module), name)()
    args = build_parser().parse_args([command])
    assert {f: getattr(args, f) for f in fields} == {f: getattr(defaults, f) for f in fields}


@pytest.mark.parametrize("command", ["train-reader", "train-cross-reader"])
def test_the_training_data_folder_comes_from_the_environment_when_not_given(command, monkeypatch, tmp_path):
    """One default for every command and bench script that reads the training sets
    (``qa.settings.train_data``), so a clone outside the usual layout needs one variable."""
    from qa.cli import build_parser

    monkeypatch.delenv("QA_TRAIN_DATA", raising=False)
    assert build_parser().parse_args([command]).data == Path("../shared/train")
    monkeypatch.setenv("QA_TRAIN_DATA", str(tmp_path))
    assert build_parser().parse_args([command]).data == tmp_path
    assert build_parser().parse_args([command, "--data", "elsewhere"]).data == Path("elsewhere")
