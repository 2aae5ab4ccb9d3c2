"""CI proves the README: .ci/run runs the README's own install and test commands."""

import re

from tests.conftest import ROOT


def _block_after(text: str, heading: str) -> str:
    m = re.search(rf"{heading}:?\s*\n+```bash\n(.+?)\n```", text, re.S)
    assert m, f"no command block after {heading!r}"
    return m.group(1).strip()


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for heading in ("Install", "Test"):
        command = _block_after(readme, heading)
        assert command in ci, f"{command!r} from the README is not a line of .ci/run"
    assert _block_after(readme, "Run the app on the default corpus \\(`corpus/`\\)") == "python app.py"
