"""Issue 8, item 19: the constraints file pins every dependency, so installs never backtrack."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def names(requirements: list[str]) -> set[str]:
    return {Requirement(requirement).name.lower().replace("_", "-") for requirement in requirements}


def test_constraints_pin_every_declared_dependency_exactly() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = names(project["dependencies"]) | names(
        [r for extra in project["optional-dependencies"].values() for r in extra]
    )
    pinned: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pinned[name.lower().replace("_", "-")] = version
    assert declared - set(pinned) == set(), "regenerate constraints.txt (see its header)"
    for requirement in map(Requirement, project["dependencies"]):
        version = pinned[requirement.name.lower().replace("_", "-")]
        assert requirement.specifier.contains(version), f"constraints.txt pins {requirement.name}=={version}"
