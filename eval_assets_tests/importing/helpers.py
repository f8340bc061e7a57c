"""Running ``eval-assets import`` on the fixtures, and reading back what it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from eval_assets.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def run_import(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str | Path) -> tuple[int, str, str]:
    """``eval-assets --data-dir DATA import ARGS``: (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = main(["--data-dir", str(data_dir), "import", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def records(data_dir: Path, dataset: str) -> list[dict[str, Any]]:
    """The lines of ``datasets/<dataset>.jsonl``."""
    text = (data_dir / "datasets" / f"{dataset}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def config(data_dir: Path, name: str) -> dict[str, Any]:
    """``configs/<name>.yaml`` as data."""
    value = yaml.safe_load((data_dir / "configs" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


def validates(capsys: pytest.CaptureFixture[str], data_dir: Path, name: str) -> None:
    """``eval-assets validate --config NAME`` accepts what the import wrote."""
    capsys.readouterr()
    code = main(["--data-dir", str(data_dir), "validate", "--config", name])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"ok  {name}:" in out
