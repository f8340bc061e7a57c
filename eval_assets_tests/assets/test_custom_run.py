"""``scorer: custom`` (issue 12 item 4) through ``eval-assets validate`` and ``eval-assets run``.

A real module in a temporary directory on sys.path; editing it re-versions and re-scores the night, and
a function that raises fails the scoring step and writes no score.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from eval_assets.cli import main

pytestmark = pytest.mark.slow

DATE = "2026-11-07"
MODULE = "team_checks_cli"
FIRST = '''
def mentions_a_duration(output, references, *, units=("day", "days", "month", "months")):
    """Pass when the answer gives a duration."""
    words = output.lower().replace(".", " ").replace(",", " ").split()
    return any(unit in words for unit in units)
'''


def set_custom(data_dir: Path, entry: dict[str, Any]) -> None:
    path = data_dir / "configs" / "nightly.yaml"
    config = yaml.safe_load(path.read_text())
    config["datasets"] = [{"path": "datasets/faq.jsonl", "limit": 6}]
    config["scorers"] = [{"scorer": "custom", "name": "duration", **entry}]
    config["thresholds"] = []
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def scores(warehouse: Path) -> list[tuple[str, str, bool]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(
            "SELECT example_id, scorer_version, passed FROM scores WHERE scorer = 'duration' ORDER BY example_id"
        ).fetchall()


def test_custom_scorer_validate_run_edit_and_rerun(
    data_dir: Path, eval_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "team"
    package.mkdir()
    source = package / f"{MODULE}.py"
    source.write_text(FIRST)
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setenv("PYTHONPATH", str(package))

    # Validation imports the function and checks its options before any model call.
    set_custom(data_dir, {"function": f"{MODULE}:mentions_a_duration", "options": {"unit": ["day"]}})
    assert main(["validate", "--config", "nightly"]) == 2
    err = capsys.readouterr().err
    assert "nightly.yaml" in err and "scorers[0].options.unit: the function takes no keyword 'unit'" in err
    set_custom(data_dir, {"function": f"{MODULE}:mentions_a_duration"})
    assert main(["validate", "--config", "nightly"]) == 0, capsys.readouterr().err

    warehouse = eval_env / "warehouse.duckdb"
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 0, capsys.readouterr().out
    first = scores(warehouse)
    version = "1+src." + hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    assert len(first) == 6 and {row[1] for row in first} == {version}
    assert any(passed for *_, passed in first) and not all(passed for *_, passed in first)

    # The team edits the function: the same night, run again, is scored by the new code, with its version.
    source.write_text(FIRST.replace("return any(", "return not any("))
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 0, capsys.readouterr().out
    second = scores(warehouse)
    new_version = "1+src." + hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    assert new_version != version and {row[1] for row in second} == {new_version}
    assert [passed for *_, passed in second] == [not passed for *_, passed in first]

    # A function that raises is a bug in the scorer: the step fails naming it and writes no score. (The
    # rerun's replay rewrote the night's responses, which clears the scores derived from the old ones, so
    # the night shows no scores rather than the previous code's scores looking current.)
    source.write_text(FIRST.replace('    """Pass when', '    1 / 0\n    """Pass when'))
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 1
    captured = capsys.readouterr()
    assert f"custom scorer {MODULE}:mentions_a_duration raised ZeroDivisionError" in captured.out + captured.err
    assert scores(warehouse) == []
