"""Shared fixtures: a private copy of data/, a temporary warehouse and runs folder, never the repo's own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from eval_assets_tests.postgres import PostgresServer, postgres_bin_dir

# Tests never write to the working directory: no example database (runs stay reproducible from the seed).
settings.register_profile("eval_assets", database=None, deadline=None)
settings.load_profile("eval_assets")

# litellm fetches a price map from the internet on import unless told not to; tests must never need a network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO_ROOT = Path(__file__).resolve().parent.parent
REPO_DATA = REPO_ROOT / "data"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the bundled configs, datasets and prompts that a test may break at will."""
    target = tmp_path / "data"
    for folder in ("configs", "datasets", "prompts"):
        shutil.copytree(REPO_DATA / folder, target / folder)
    return target


@pytest.fixture
def eval_env(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the CLI and definitions at the temporary data dir, warehouse and runs folder."""
    monkeypatch.setenv("EVAL_ASSETS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("EVAL_ASSETS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # Links are local paths unless a test publishes the runs folder itself.
    monkeypatch.delenv("EVAL_ASSETS_REPORT_BASE_URL", raising=False)
    monkeypatch.delenv("EVAL_ASSETS_DAGSTER_URL", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (CI installs it; locally the test is skipped without it)."""
    if postgres_bin_dir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI: .ci/run installs it with apt-get")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    with PostgresServer() as server:
        yield server
