"""Facts recorded with every row so a score can be traced back: commits of the data and code, and hashes."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

UNKNOWN_SHA = "unknown"
_CODE_DIR = Path(__file__).resolve().parent


def _git(directory: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=directory, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


def git_sha(directory: Path, *, paths: Sequence[Path] | None = None) -> str:
    """The commit of the repository holding ``directory``, ``-dirty`` when its inputs differ from it.

    Dirty means a tracked file under ``paths`` (default: ``directory``) has local changes, or an input there
    is not tracked at all: a new dataset that was never committed cannot be found again from the commit.
    Files git ignores (the warehouse, the runs folder) do not count.

    Returns:
        The commit, ``<commit>-dirty``, or ``"unknown"`` outside a git checkout (the column is never null).
    """
    scope = [str(p) for p in (paths if paths is not None else [directory])]
    try:
        sha = _git(directory, "rev-parse", "HEAD")
        status = _git(directory, "status", "--porcelain", "--untracked-files=all", "--", *scope)
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_SHA
    if not sha:
        return UNKNOWN_SHA
    return f"{sha}-dirty" if status else sha


@functools.cache
def code_sha() -> str:
    """The commit of the eval_assets code running, ``-dirty`` with local changes to it.

    Installed from a package (no git checkout around the code), it is ``eval_assets <version>``.
    """
    sha = git_sha(_CODE_DIR)
    if sha != UNKNOWN_SHA:
        return sha
    try:
        return f"eval_assets {metadata.version('eval_assets')}"
    except metadata.PackageNotFoundError:
        return UNKNOWN_SHA


#: What ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)`` builds
#: on every call, built once: hashes are cache keys, computed for every call of a night.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stable_hash(value: Any, *, length: int = 32) -> str:
    """Hash of a JSON-serializable value that does not depend on key order."""
    return hashlib.sha256(_CANONICAL.encode(value).encode()).hexdigest()[:length]
