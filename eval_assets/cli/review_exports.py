"""``eval-assets review export-fixes|export-calibration``: people's decisions back into the data directory.

- ``export-fixes``: reference corrections and removals as edits of ``datasets/*.jsonl`` (a pull request's
  worth of reviewed changes; the dataset hash changes with them);
- ``export-calibration``: the overrides of judges appended to ``prompts/<rubric>.examples.jsonl``, the
  few-shot examples every judge prompt of that rubric includes (its prompt hash changes: judges re-run).

Files are replaced in one step (written beside, then renamed): a reader never sees half a file.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from typing import Any

from eval_assets import warehouse as wh
from eval_assets.errors import InvalidInputError
from eval_assets.files import write_atomically
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings


def add_parsers(actions: Any) -> None:
    """Register the two export actions under ``review``."""
    fixes = actions.add_parser(
        "export-fixes", help="write accepted reference corrections and removals into data/datasets/*.jsonl"
    )
    fixes.add_argument("--config", help="only decisions on this config's tasks")
    fixes.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    fixes.set_defaults(needs="warehouse", handler=cmd_export_fixes)
    calibration = actions.add_parser(
        "export-calibration", help="append judges' overrides to data/prompts/<rubric>.examples.jsonl (few-shot)"
    )
    calibration.add_argument("--config", help="only decisions on this config's tasks")
    calibration.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    calibration.set_defaults(needs="warehouse", handler=cmd_export_calibration)


def _decisions_of(settings: Settings, config_name: str | None) -> list[dict[str, Any]]:
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    with wh.open_for_decisions(settings.warehouse_path) as conn:
        return wh.decisions(conn, config_name=config_name).to_dicts()


def cmd_export_fixes(args: argparse.Namespace, settings: Settings) -> int:
    """Edit each dataset with its examples' latest corrections and removals; print what changed."""
    from eval_assets.project import DATASETS_DIR
    from eval_assets.review.fixes import apply_fixes, latest_fixes

    by_dataset = defaultdict(list)
    for fix in latest_fixes(_decisions_of(settings, args.config)):
        by_dataset[fix.dataset].append(fix)
    if not by_dataset:
        print("no reference corrections or removals decided", file=sys.stderr)
        return EXIT_OK
    for dataset, fixes in sorted(by_dataset.items()):
        path = settings.data_dir / DATASETS_DIR / f"{dataset}.jsonl"
        if not path.is_file():
            print(terminal_text(f"{dataset}: no file {path}, {len(fixes)} fix(es) left out"), file=sys.stderr)
            continue
        edited = apply_fixes(path.read_text(encoding="utf-8"), fixes)
        if edited.changed and not args.dry_run:
            write_atomically(path, edited.text)
        print(
            terminal_text(
                f"{dataset}: {len(edited.corrected)} reference(s) corrected, {len(edited.removed)} example(s) "
                f"removed, {len(edited.already)} already applied"
                + (f", not in the file: {', '.join(edited.missing)}" if edited.missing else "")
                + (" (dry run: nothing written)" if args.dry_run and edited.changed else "")
            )
        )
        for example_id in [*edited.corrected, *edited.removed]:
            print(terminal_text(f"    {example_id}"))
    return EXIT_OK


def cmd_export_calibration(args: argparse.Namespace, settings: Settings) -> int:
    """Append each judge override, once, to its rubric's calibration examples; print how many per rubric."""
    from eval_assets.project import PROMPTS_DIR, load_named_config
    from eval_assets.review.agreement import to_category
    from eval_assets.rubric_examples import EXAMPLES_SUFFIX, LabelledExample, append_examples
    from eval_assets.rubrics import load_rubric
    from eval_assets.scoring.registry import judge_options

    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    with wh.open_for_decisions(settings.warehouse_path) as conn:
        overrides = wh.decided_overrides(conn, config_name=args.config).to_dicts()
    rubric_of: dict[tuple[str, str], str | None] = {}
    new: dict[str, list[LabelledExample]] = defaultdict(list)
    for row in overrides:
        key = (row["config_name"], row["scorer"])
        if key not in rubric_of:
            try:
                config = load_named_config(settings.data_dir, row["config_name"]).config
            except InvalidInputError:
                config = None
            spec = next((s for s in config.scorers if s.key == row["scorer"]), None) if config else None
            panel = judge_options(spec) if spec is not None else None
            rubric_of[key] = panel.rubric if panel is not None else None
        rubric_name = rubric_of[key]
        if rubric_name is None:
            continue  # a deterministic scorer, or a scorer no longer configured: nothing to teach a judge
        rubric = load_rubric(settings.data_dir / PROMPTS_DIR / f"{rubric_name}.md")
        raw = row["raw_score"]
        score = (
            raw
            if raw is not None
            else to_category(row["score"], scale_min=rubric.scale_min, scale_max=rubric.scale_max)
        )
        new[rubric_name].append(
            LabelledExample(
                input=row["input_text"],
                output=row["output_text"],
                score=float(score),
                reference="\n".join(row["reference"] or []),
                rationale=row["note"],
                id=row["task_id"],
                metadata={
                    "reviewer": row["reviewer"],
                    "task_id": row["task_id"],
                    "decided_at": str(row["decided_at"]),
                    "dataset": row["dataset"],
                    "example_id": row["example_id"],
                },
            )
        )
    if not new:
        print("no overrides of a judge decided", file=sys.stderr)
        return EXIT_OK
    for rubric_name, examples in sorted(new.items()):
        path = settings.data_dir / PROMPTS_DIR / f"{rubric_name}{EXAMPLES_SUFFIX}"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        updated, added = append_examples(text, examples)
        if added and not args.dry_run:
            write_atomically(path, updated)
        print(
            terminal_text(
                f"{rubric_name}: {len(added)} calibration example(s) added, {len(examples) - len(added)} already "
                f"there" + (" (dry run: nothing written)" if args.dry_run and added else "")
            )
        )
    return EXIT_OK
