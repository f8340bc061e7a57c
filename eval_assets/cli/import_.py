"""``eval-assets import``: another tool's evals as a dataset and a config under data/, validated first."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from eval_assets.cli.options import command_parser
from eval_assets.config import CONFIG_NAME_PATTERN
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings

#: What each format reads, for ``--help``.
_FORMATS_HELP = """formats:
  openai-evals    openai/evals registry: samples .jsonl, or an eval spec .yaml (registry/evals/)
  openai-graders  OpenAI / Azure Evals API: eval JSON (data_source_config + testing_criteria), --items JSONL
  promptfoo       promptfooconfig.yaml (tests: with vars and assert), a tests .yaml, or a tests .csv
  inspect         inspect_ai samples: .jsonl, .json or .csv (input, target, id, metadata)
  langsmith       LangSmith dataset export: .jsonl or .json (inputs, outputs, metadata)
  langfuse        Langfuse dataset items: .jsonl or .json (input, expectedOutput, metadata)
"""
_FLAG_OF = {
    "eval_name": "--eval",
    "items": "--items",
    "input_key": "--input-key",
    "reference_key": "--reference-key",
}


def add_parser(commands: Any) -> None:
    """Register ``import``."""
    from eval_assets.importing import FORMATS

    parser = command_parser(
        commands,
        "import",
        help="turn another tool's evals into a dataset and a config under data/",
        examples="  eval-assets import promptfoo promptfooconfig.yaml --name capitals\n"
        "  eval-assets import openai-evals evals/registry/evals/test-basic.yaml --name test-match\n"
        "  eval-assets import openai-graders eval.json --items items.jsonl --name support-graders\n"
        "  eval-assets import inspect samples.jsonl --name arithmetic --scorer exact_match\n\n" + _FORMATS_HELP,
    )
    parser.add_argument("format", choices=sorted(FORMATS), metavar="FORMAT", help="one of: " + ", ".join(FORMATS))
    parser.add_argument("source", type=Path, metavar="SOURCE", help="the file to import")
    parser.add_argument("--name", required=True, help="name of the config and dataset written (file stems)")
    parser.add_argument("--force", action="store_true", help="overwrite files of an earlier import of that name")
    parser.add_argument("--dry-run", action="store_true", help="validate and print the summary; write nothing")
    parser.add_argument("--model", help="model under test in the config (default: offline/assistant-v1)")
    parser.add_argument("--judge", help="judge model of model-graded graders (default: offline/judge)")
    parser.add_argument(
        "--scorer",
        action="append",
        default=None,
        help="scorer of sources without graders (inspect, langsmith, langfuse; default contains; repeatable)",
    )
    parser.add_argument("--eval", dest="eval_name", help="openai-evals: the eval of a spec file holding several")
    parser.add_argument("--items", type=Path, help='openai-graders: the JSONL of {"item": ...} lines')
    parser.add_argument("--input-key", help="inspect, langsmith, langfuse: the key of an object input to use")
    parser.add_argument("--reference-key", help="inspect, langsmith, langfuse: the key of an object answer to use")
    parser.set_defaults(handler=cmd_import)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Read the source, map it, validate the result, write it (unless ``--dry-run``) and say what mapped."""
    from eval_assets.importing import FORMAT_OPTIONS, GRADED_FORMATS, SourceOptions, read_source
    from eval_assets.importing.build import DEFAULT_JUDGE, DEFAULT_MODEL, ImportOptions, build_plan
    from eval_assets.importing.write import existing_files, validate_plan, write_plan

    if not CONFIG_NAME_PATTERN.match(args.name) or args.name.endswith((".yaml", ".jsonl")):
        raise UsageError(f"--name {args.name!r}: letters, digits, '-', '_' and '.' (at most 63), without an extension")
    for key, flag in _FLAG_OF.items():
        if getattr(args, key) is not None and key not in FORMAT_OPTIONS[args.format]:
            raise UsageError(f"{flag} does not apply to {args.format}")
    if args.scorer and args.format in GRADED_FORMATS:
        raise UsageError(f"--scorer is for sources without graders; {args.format} sources carry their own")
    source_options = SourceOptions(
        eval_name=args.eval_name, items=args.items, input_key=args.input_key, reference_key=args.reference_key
    )
    parsed = read_source(args.format, args.source, source_options)
    options = ImportOptions(
        name=args.name,
        model=args.model or DEFAULT_MODEL,
        judge=args.judge or DEFAULT_JUDGE,
        scorers=tuple(args.scorer or ()),
        origin=f"{args.format} {args.source.name}",
    )
    plan = build_plan(parsed, options)
    data_dir = settings.data_dir
    if args.dry_run:
        validate_plan(plan, data_dir)
        written = [data_dir / relative for relative in plan.files]
        clashes = existing_files(plan, data_dir)
        verb = "would write"
    else:
        written = write_plan(plan, data_dir, force=args.force)
        clashes = []
        verb = "wrote"
    count = f"{plan.examples} example{'s' if plan.examples != 1 else ''}"
    lines = [f"{args.format} {args.source} -> {plan.name}: {count}"]
    lines += [f"  {verb} {path}" + (" (exists: needs --force)" if path in clashes else "") for path in written]
    lines.append("mapped:")
    lines += [f"  {line}" for line in plan.mapped]
    unmapped = plan.unmapped_lines()
    lines.append(f"not mapped ({len(unmapped)}):" if unmapped else "not mapped: nothing")
    lines += [f"  {line}" for line in unmapped]
    if not args.dry_run:
        lines.append(f"next: eval-assets run --config {plan.name}")
    for line in lines:
        # Source text (ids, grader values) is quoted in these lines: nothing in it may drive the terminal.
        print(terminal_text(re.sub(r"\s+$", "", line)))
    return EXIT_OK
