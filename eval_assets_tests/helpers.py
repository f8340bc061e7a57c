"""Small helpers shared by tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def edit_config(data_dir: Path, name: str, **changes: Any) -> None:
    """Rewrite a config with top-level keys replaced (comments are lost; fine for a test copy)."""
    path = data_dir / "configs" / f"{name}.yaml"
    config = yaml.safe_load(path.read_text())
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def limit_datasets(data_dir: Path, name: str, limit: int) -> None:
    """Keep the first ``limit`` examples of each dataset, so graph tests stay fast."""
    path = data_dir / "configs" / f"{name}.yaml"
    config = yaml.safe_load(path.read_text())
    for ref in config["datasets"]:
        ref["limit"] = limit
    path.write_text(yaml.safe_dump(config, sort_keys=False))
