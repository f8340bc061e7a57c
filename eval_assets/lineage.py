"""Facts recorded with every row so a score can be traced back: git commit and request hashes."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

UNKNOWN_SHA = "unknown"


def git_sha(directory: Path) -> str:
    """The commit checked out in ``directory``, suffixed ``-dirty`` when the tree has local changes.

    Returns ``"unknown"`` outside a git checkout, so the lineage column is never null.
    """
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_SHA
    return f"{sha}-dirty" if status else sha or UNKNOWN_SHA


def stable_hash(value: Any, *, length: int = 32) -> str:
    """Hash of a JSON-serializable value that does not depend on key order."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]
