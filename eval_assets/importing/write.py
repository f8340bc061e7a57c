"""Writing an import: refuse to overwrite, validate exactly as ``eval-assets validate`` does, then move in.

The files are first written to a staging data directory beside the real one and validated there with
:func:`eval_assets.project.load_plan` (the config with its datasets and rubrics). Only a plan that passes
is moved into place, file by file with ``os.replace`` (each file appears whole), the config last, so a
failed import leaves the data directory as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from eval_assets.errors import InvalidInputError
from eval_assets.importing.build import ImportPlan
from eval_assets.outcome import UsageError
from eval_assets.project import CONFIGS_DIR, DATASETS_DIR, PROMPTS_DIR, load_plan


def existing_files(plan: ImportPlan, data_dir: Path) -> list[Path]:
    """The files of the plan that already exist in the data directory."""
    return [data_dir / relative for relative in plan.files if (data_dir / relative).exists()]


def validate_plan(plan: ImportPlan, data_dir: Path) -> None:
    """Validate the plan's files as a data directory of their own, without touching ``data_dir``.

    Raises:
        InvalidInputError: with every problem, naming the staged file (the same name it would get).
    """
    with tempfile.TemporaryDirectory(prefix=".import-", dir=data_dir) as staging:
        _stage(plan, Path(staging))
        load_plan(Path(staging), plan.name)


def write_plan(plan: ImportPlan, data_dir: Path, *, force: bool) -> list[Path]:
    """Validate the plan, then write its files into ``data_dir``; returns the paths written.

    Raises:
        UsageError: when a file exists and ``force`` is false (nothing is written).
        InvalidInputError: when the import does not validate (nothing is written).
    """
    clashes = existing_files(plan, data_dir)
    if clashes and not force:
        names = ", ".join(str(path) for path in clashes)
        raise UsageError(f"{names} already exist{'s' if len(clashes) == 1 else ''}: choose another --name, or --force")
    for folder in (CONFIGS_DIR, DATASETS_DIR, PROMPTS_DIR):
        (data_dir / folder).mkdir(parents=True, exist_ok=True)
    # Staged inside the data directory so that the final renames stay on one filesystem (atomic).
    with tempfile.TemporaryDirectory(prefix=".import-", dir=data_dir) as staging:
        root = Path(staging)
        _stage(plan, root)
        try:
            load_plan(root, plan.name)
        except InvalidInputError as exc:
            raise _renamed(exc, root, data_dir) from None
        written = []
        for relative in sorted(plan.files, key=lambda path: path.startswith(CONFIGS_DIR)):  # the config last
            target = data_dir / relative
            os.replace(root / relative, target)
            written.append(target)
    return written


def _stage(plan: ImportPlan, root: Path) -> None:
    for folder in (CONFIGS_DIR, DATASETS_DIR, PROMPTS_DIR):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for relative, text in plan.files.items():
        (root / relative).write_text(text, encoding="utf-8", newline="\n")


def _renamed(exc: InvalidInputError, staging: Path, data_dir: Path) -> InvalidInputError:
    """The problems named after the files they would have been, not the staging copies."""
    problems = []
    for problem in exc.problems:
        try:
            path = data_dir / problem.path.relative_to(staging)
        except ValueError:
            path = problem.path
        problems.append(type(problem)(path, problem.line, problem.field, problem.message))
    return InvalidInputError(problems)
