"""Issue 8, item 11: the data's commit is dirty when an input is untracked, and the code's commit is recorded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from eval_assets.lineage import UNKNOWN_SHA, code_sha, git_sha


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / ".gitignore").write_text("data/runs/\n*.duckdb\n")
    (tmp_path / "data" / "datasets").mkdir(parents=True)
    (tmp_path / "data" / "datasets" / "faq.jsonl").write_text('{"id": "a", "input": "x"}\n')
    (tmp_path / "code.py").write_text("print(1)\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "init")
    return tmp_path


def test_a_clean_data_directory_gives_the_commit(repo: Path) -> None:
    assert git_sha(repo / "data") == git(repo, "rev-parse", "HEAD")


def test_an_untracked_dataset_makes_it_dirty(repo: Path) -> None:
    # A new dataset that was never committed cannot be found again from the commit alone.
    (repo / "data" / "datasets" / "new.jsonl").write_text('{"id": "b", "input": "y"}\n')
    assert git_sha(repo / "data").endswith("-dirty")


def test_a_modified_dataset_makes_it_dirty(repo: Path) -> None:
    (repo / "data" / "datasets" / "faq.jsonl").write_text('{"id": "a", "input": "changed"}\n')
    assert git_sha(repo / "data").endswith("-dirty")


def test_ignored_outputs_and_changes_outside_the_data_directory_do_not_count(repo: Path) -> None:
    (repo / "data" / "runs").mkdir()
    (repo / "data" / "runs" / "report.md").write_text("generated")
    (repo / "data" / "warehouse.duckdb").write_text("generated")
    (repo / "code.py").write_text("print(2)\n")  # the code's own commit says this; the data's does not
    assert not git_sha(repo / "data").endswith("-dirty")


def test_outside_git_the_sha_is_unknown(tmp_path: Path) -> None:
    assert git_sha(tmp_path) == UNKNOWN_SHA


def test_the_code_commit_is_this_checkout_or_the_package_version() -> None:
    sha = code_sha()
    root = Path(__file__).resolve().parent.parent
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    assert sha.removesuffix("-dirty") == head if head else sha.startswith("eval_assets ")
