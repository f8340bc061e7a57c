"""custom scorers from an entry point (issue 12 item 4): a real tiny distribution, installed on sys.path.

The distribution is what pip leaves in site-packages: a package directory and a ``*.dist-info`` folder
with ``METADATA`` and ``entry_points.txt``. ``importlib.metadata`` finds it on ``sys.path`` (in-process
tests) or on ``PYTHONPATH`` (the subprocess test, which is the claim as a user meets it).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eval_assets.config import load_config
from eval_assets.datasets import Example
from eval_assets.errors import InvalidInputError
from eval_assets.scoring.apply import score_output
from eval_assets.scoring.registry import scorer_version
from eval_assets.scoring.scorers.custom import ENTRY_POINT_GROUP

CHECKS = '''
def mentions_a_duration(output, references, *, units=("day", "days")):
    """Pass when the answer gives a duration."""
    words = output.lower().replace(".", " ").split()
    return any(unit in words for unit in units)
'''
_counter = itertools.count()
EXAMPLE = Example(dataset="faq", id="a", input="q", references=("five days",), tags=(), line=1)


def install_distribution(site: Path, *, dist: str, module: str, entry_points: dict[str, str]) -> Path:
    """Write a package and its dist-info into ``site`` as pip would; returns the module's source file."""
    (site / module).mkdir(parents=True)
    source = site / module / "__init__.py"
    source.write_text(CHECKS)
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    return source


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A fresh distribution per test (its own module and entry-point names: no import cache is shared)."""
    n = next(_counter)
    name = f"team_checks_ep{n}_{tmp_path.name.replace('-', '_')}"
    source = install_distribution(
        tmp_path / "site",
        dist=f"team-checks-ep{n}",
        module=name,
        entry_points={f"duration_{n}": f"{name}:mentions_a_duration", f"broken_{n}": f"{name}:no_such_function"},
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return f"{n}", source


def _config(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(
        "model: {id: offline/assistant-v1}\n"
        "datasets: [{path: datasets/faq.jsonl}]\n"
        "scorers:\n"
        "  - scorer: custom\n"
        "    name: duration\n" + entry
    )
    return path


def test_an_entry_point_scores_and_is_versioned_by_its_source(tmp_path: Path, module: tuple[str, Path]) -> None:
    n, source = module
    spec = load_config(_config(tmp_path, f"    entry_point: duration_{n}\n")).config.scorers[0]
    assert score_output(spec, "It takes five days.", EXAMPLE).passed
    assert not score_output(spec, "It takes a while.", EXAMPLE).passed
    # The same version rule as a function named directly: the hash of the module's source file.
    assert scorer_version(spec) == "1+src." + hashlib.sha256(source.read_bytes()).hexdigest()[:12]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        # A typo must not become "no scorer": validation names the group and what is declared there.
        ("    entry_point: duraton\n", "no installed distribution declares entry point 'duraton'"),
        # The entry point exists but its target does not: the same check as a function named directly.
        ("    entry_point: broken_{n}\n", "has no attribute 'no_such_function'"),
        ("    entry_point: duration_{n}\n    function: os:getcwd\n", "exactly one of 'function'"),
        ("    entry_point: 'has space'\n", "entry_point"),
    ],
)
def test_bad_entry_points_fail_validation_with_line_and_field(
    tmp_path: Path, module: tuple[str, Path], entry: str, message: str
) -> None:
    path = _config(tmp_path, entry.format(n=module[0]))
    with pytest.raises(InvalidInputError) as caught:
        load_config(path)
    problem = caught.value.problems[0]
    assert message in str(caught.value)
    assert problem.path == path and problem.line is not None and problem.line >= 4
    if "exactly one" not in message:
        assert problem.field == "scorers[0].entry_point"


def test_two_distributions_declaring_one_name_differently_are_refused(
    tmp_path: Path, module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    n = module[0]
    install_distribution(
        tmp_path / "other", dist=f"other-checks-{n}", module=f"other_{n}", entry_points={f"duration_{n}": "os:getcwd"}
    )
    monkeypatch.syspath_prepend(str(tmp_path / "other"))
    with pytest.raises(InvalidInputError, match="declared by several distributions"):
        load_config(_config(tmp_path, f"    entry_point: duration_{n}\n"))


@pytest.mark.slow  # three fresh processes
def test_eval_assets_validate_finds_an_entry_point_on_pythonpath(data_dir: Path, tmp_path: Path) -> None:
    # A real process, as a user runs it: the distribution is found on PYTHONPATH, nowhere else.
    entry_points = {"duration": "team_checks_cli_ep:mentions_a_duration"}
    install_distribution(
        tmp_path / "site", dist="team-checks-cli", module="team_checks_cli_ep", entry_points=entry_points
    )
    config = data_dir / "configs" / "nightly.yaml"

    def use_entry_point(name: str) -> None:
        data = yaml.safe_load(config.read_text())
        data["scorers"] = [{"scorer": "custom", "name": "duration", "entry_point": name}]
        data["thresholds"] = []
        data.pop("review", None)  # it names the bundled scorers
        data.pop("regression", None)
        config.write_text(yaml.safe_dump(data, sort_keys=False))

    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "EVAL_ASSETS_DATA_DIR": str(data_dir)}
    cli = [sys.executable, "-m", "eval_assets.cli", "validate", "--config", "nightly"]

    def validate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)

    use_entry_point("duration")
    done = validate()
    assert done.returncode == 0, done.stdout + done.stderr
    use_entry_point("duratoin")
    done = validate()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nightly.yaml" in done.stderr and "scorers[0].entry_point" in done.stderr
    assert "no installed distribution declares entry point 'duratoin'" in done.stderr
    # Without the distribution on the path the right name fails too: it was found there, not by luck.
    use_entry_point("duration")
    env.pop("PYTHONPATH")
    done = validate()
    assert done.returncode == 2 and "entry point 'duration'" in done.stderr
