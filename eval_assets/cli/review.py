"""``eval-assets review list|decide|export``: the review queue for people who live in the terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from eval_assets import warehouse as wh
from eval_assets.cli import review_exports, review_serve
from eval_assets.cli.options import command_parser, parse_date, positive
from eval_assets.cli.sql import render_frame
from eval_assets.errors import InvalidInputError
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import json_terminal_text, terminal_text
from eval_assets.review.decisions import DecisionError, ProposedDecision, check_decision
from eval_assets.review.policy import REASONS
from eval_assets.review.scales import scorer_scale
from eval_assets.settings import Settings

#: Decisions as typed on the command line -> as stored.
ACTIONS = {
    "agree": "agree",
    "override": "override",
    "reference-wrong": "reference_wrong",
    "ambiguous": "ambiguous",
    "remove": "remove",
    "skip": "skip",
}
REVIEWER_VARIABLE = "EVAL_ASSETS_REVIEWER"
LIST_COLUMNS = ("task_id", "eval_date", "config_name", "priority", "reason", "dataset", "example_id", "scorer",
                "score", "status", "detail")  # fmt: skip


def add_parser(commands: Any) -> None:
    """Register ``review``."""
    parser = command_parser(
        commands,
        "review",
        help="list review tasks, decide them, export the decisions",
        examples="  eval-assets review list --status open --reason regression_flip\n"
        "  eval-assets review decide 3f2a9c01b7de agree --reviewer ana\n"
        '  eval-assets review decide 3f2a9c01b7de override --score 2 --note "misses the refund window"\n'
        '  eval-assets review decide 3f2a9c01b7de reference-wrong --reference "$9.99 a month"\n'
        "  eval-assets review export --output decisions.jsonl\n"
        "  eval-assets review serve --reviewer ana\n"
        "  eval-assets review export-fixes\n"
        "  eval-assets review export-calibration",
    )
    actions = parser.add_subparsers(dest="review_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="tasks, newest night first, most urgent first")
    listing.add_argument("--config", help="only this config's tasks")
    listing.add_argument("--date", help="only this night's tasks (YYYY-MM-DD)")
    listing.add_argument("--reason", choices=REASONS, help="only tasks selected for this reason")
    listing.add_argument("--scorer", help="only tasks on this scorer")
    listing.add_argument("--status", choices=wh.review.STATUSES, help="open, skipped or decided")
    listing.add_argument("--limit", type=positive(int), default=50, metavar="N", help="most tasks shown (default 50)")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(needs="warehouse", handler=cmd_list)
    decide = actions.add_parser("decide", help="record a decision on one task (a changed mind keeps the old one)")
    decide.add_argument("task", help="the task id, as `review list` shows it")
    decide.add_argument("decision", choices=ACTIONS, help="what the person decided")
    decide.add_argument(
        "--score", type=float, help="override: the right score, on the rubric's scale (pass/fail: 0 or 1)"
    )
    decide.add_argument("--reference", help="reference-wrong: the corrected reference")
    decide.add_argument("--note", default="", help="why (required for an override)")
    decide.add_argument("--reviewer", help=f"who decides (default: ${REVIEWER_VARIABLE})")
    decide.set_defaults(needs="warehouse", handler=cmd_decide)
    export = actions.add_parser("export", help="every decision as JSON lines, oldest first")
    export.add_argument("--config", help="only decisions on this config's tasks")
    export.add_argument("--output", help="write to this file instead of standard output")
    export.set_defaults(needs="warehouse", handler=cmd_export)
    for action in (listing, decide, export):
        action.add_argument(
            "--wait",
            type=positive(float),
            default=30.0,
            metavar="SECONDS",
            help="how long to wait for a run holding a plain .duckdb warehouse (default 30)",
        )
    review_serve.add_parser(actions)
    review_exports.add_parsers(actions)


def _require_warehouse(settings: Settings) -> None:
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")


@contextmanager
def _open(settings: Settings, args: argparse.Namespace) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse for reading and deciding; a plain file locked past ``--wait`` is one clear error line."""
    _require_warehouse(settings)
    try:
        with wh.open_for_decisions(settings.warehouse_path, wait_s=args.wait) as conn:
            yield conn
    except wh.WarehouseBusyError as exc:
        raise UsageError(str(exc)) from None


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the tasks matching the filters."""
    with _open(settings, args) as conn:
        tasks = wh.review_queue(
            conn,
            config_name=args.config,
            eval_date=parse_date(args.date, "--date") if args.date else None,
            reason=args.reason,
            scorer=args.scorer,
            status=args.status,
            limit=args.limit,
        )
    if tasks.is_empty():
        print("no review tasks match", file=sys.stderr)
        return EXIT_OK
    shown = tasks.select(LIST_COLUMNS).with_columns(pl.col("score").round(2))
    print(render_frame(shown, args.format), end="")
    return EXIT_OK


def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    """Record one decision; the previous one on the same example and output stays, named by the new one."""
    reviewer = args.reviewer or os.environ.get(REVIEWER_VARIABLE, "")
    if not reviewer.strip():
        raise UsageError(f"say who decides: --reviewer NAME (or set ${REVIEWER_VARIABLE})")
    decision = ACTIONS[args.decision]
    with _open(settings, args) as conn:
        task = wh.task_by_id(conn, args.task)
        if task is None:
            raise UsageError(f"no review task {args.task!r}: `eval-assets review list` shows the ids")
        score = None
        if args.score is not None:
            if decision != "override":
                raise UsageError(f"--score goes with override, not {args.decision}")
            score = _normalized(settings.data_dir, task, args.score)
        elif decision == "agree":
            score = task["score"]
        try:
            proposed = check_decision(
                ProposedDecision(
                    decision,  # type: ignore[arg-type]  # one of ACTIONS' values
                    reviewer,
                    score=score,
                    raw_score=args.score,
                    proposed_reference=args.reference,
                    note=args.note,
                )
            )
        except DecisionError as exc:
            raise UsageError(str(exc)) from None
        row = wh.record_decision(
            conn,
            task,
            wh.NewDecision(
                proposed.decision,
                proposed.reviewer,
                proposed.score,
                proposed.raw_score,
                proposed.proposed_reference,
                proposed.note,
            ),
        )
    replaced = (
        f" (replaces {row['previous_decision']} {row['previous_decision_id']})" if row["previous_decision_id"] else ""
    )
    print(terminal_text(f"{args.task}: {args.decision} by {reviewer}{replaced}"))
    return EXIT_OK


def _normalized(data_dir: Path, task: dict[str, Any], raw: float) -> float:
    """An override's score on the rubric's scale (pass/fail scorers: 0 or 1), normalized to [0, 1]."""
    try:
        scale = scorer_scale(data_dir, task["config_name"], task["scorer"])
    except InvalidInputError as exc:
        raise UsageError(f"cannot read the task's config to find the scorer's scale: {exc}") from None
    if scale is None:
        raise UsageError(f"the config {task['config_name']} no longer has the scorer {task['scorer']}")
    try:
        return scale.normalized(raw)
    except DecisionError as exc:
        raise UsageError(str(exc)) from None


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every decision as one JSON object a line."""
    with _open(settings, args) as conn:
        rows = wh.decisions(conn, config_name=args.config).to_dicts()
    lines = [json.dumps(row, default=str, ensure_ascii=False, sort_keys=True) for row in rows]
    text = "".join(line + "\n" for line in lines)
    if args.output:
        target = Path(args.output)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)  # a reader never sees half an export
        print(f"wrote {len(rows)} decision(s) to {target}", file=sys.stderr)
    else:
        print(json_terminal_text(text), end="")
    return EXIT_OK
