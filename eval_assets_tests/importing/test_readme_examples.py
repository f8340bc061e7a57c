"""The README's "Coming from another tool" examples are true: each source is imported and gives the files shown.

Each example is a `### ` subsection: source files (a backticked path, then its block), one
``eval-assets import`` command in a bash block, and the files it writes (paths under ``data/``), compared
byte for byte.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from eval_assets.cli import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
_FILE_BLOCK = re.compile(r"`([\w./-]+)`[^\n]*:\n\n```\w*\n(.*?)^```$", re.M | re.S)
_COMMAND = re.compile(r"^```bash\n(eval-assets import [^\n]*)\n```$", re.M)


def examples() -> dict[str, str]:
    """Subsection title -> its text."""
    section = README.split("## Coming from another tool\n", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### (.+)$", section, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_format_has_a_worked_example() -> None:
    commands = [_COMMAND.search(text) for text in examples().values()]
    formats = {shlex.split(match.group(1))[2] for match in commands if match}
    assert formats == {"openai-evals", "openai-graders", "promptfoo", "inspect", "langsmith", "langfuse"}


@pytest.mark.parametrize("title", list(examples()))
def test_the_example_gives_the_files_shown(
    title: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = examples()[title]
    monkeypatch.chdir(data_dir.parent)
    expected = {}
    for path, body in _FILE_BLOCK.findall(text):
        if path.startswith("data/"):
            expected[path] = body
        else:
            (data_dir.parent / path).parent.mkdir(parents=True, exist_ok=True)
            (data_dir.parent / path).write_text(body, encoding="utf-8")
    assert expected, f"{title}: no file under data/ is shown"
    command = _COMMAND.search(text)
    assert command is not None, f"{title}: no eval-assets import command"
    argv = shlex.split(command.group(1))[1:]
    assert main(["--data-dir", str(data_dir), *argv]) == 0, capsys.readouterr().err
    for path, body in expected.items():
        assert (data_dir.parent / path).read_text(encoding="utf-8") == body, path
    assert main(["--data-dir", str(data_dir), "validate"]) == 0, capsys.readouterr().err
