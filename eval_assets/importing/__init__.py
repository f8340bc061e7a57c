"""Importing other tools' evals: openai/evals, the OpenAI Evals API, promptfoo, inspect_ai, LangSmith, Langfuse.

Pure parsing and mapping (no Dagster): a format module reads the source into
:class:`~eval_assets.importing.model.Parsed`, :func:`~eval_assets.importing.build.build_plan` turns it into
the files of a dataset, a config and judge prompts, and :mod:`eval_assets.importing.write` validates them
as ``eval-assets validate`` does before anything lands in the data directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval_assets.importing.model import Parsed


@dataclass(frozen=True)
class SourceOptions:
    """Format-specific choices of an import (each format uses the ones it names in ``FORMAT_OPTIONS``).

    Attributes:
        eval_name: openai-evals: which eval of a spec file holding several.
        items: openai-graders: the ``{"item": ...}`` JSONL file.
        input_key: inspect, langsmith, langfuse: the key holding the input when it is an object.
        reference_key: inspect, langsmith, langfuse: the key holding the answer when it is an object.
    """

    eval_name: str | None = None
    items: Path | None = None
    input_key: str | None = None
    reference_key: str | None = None


def _openai_evals(source: Path, options: SourceOptions) -> Parsed:
    from eval_assets.importing import openai_evals

    return openai_evals.parse(source, eval_name=options.eval_name)


def _openai_graders(source: Path, options: SourceOptions) -> Parsed:
    from eval_assets.importing import openai_graders

    return openai_graders.parse(source, items=options.items)


def _promptfoo(source: Path, options: SourceOptions) -> Parsed:
    from eval_assets.importing import promptfoo

    return promptfoo.parse(source)


def _inspect(source: Path, options: SourceOptions) -> Parsed:
    from eval_assets.importing import inspect_samples

    return inspect_samples.parse(source, input_key=options.input_key, reference_key=options.reference_key)


def _langsmith(source: Path, options: SourceOptions) -> Parsed:
    from eval_assets.importing import dataset_exports

    return dataset_exports.parse_langsmith(source, input_key=options.input_key, reference_key=options.reference_key)


def _langfuse(source: Path, options: SourceOptions) -> Parsed:
    from eval_assets.importing import dataset_exports

    return dataset_exports.parse_langfuse(source, input_key=options.input_key, reference_key=options.reference_key)


#: Format name -> reader. Readers import their module lazily: one import never loads every format.
FORMATS: dict[str, Callable[[Path, SourceOptions], Parsed]] = {
    "openai-evals": _openai_evals,
    "openai-graders": _openai_graders,
    "promptfoo": _promptfoo,
    "inspect": _inspect,
    "langsmith": _langsmith,
    "langfuse": _langfuse,
}
#: Which ``SourceOptions`` field each format reads (anything else given is a usage error).
FORMAT_OPTIONS: dict[str, frozenset[str]] = {
    "openai-evals": frozenset({"eval_name"}),
    "openai-graders": frozenset({"items"}),
    "promptfoo": frozenset(),
    "inspect": frozenset({"input_key", "reference_key"}),
    "langsmith": frozenset({"input_key", "reference_key"}),
    "langfuse": frozenset({"input_key", "reference_key"}),
}
#: Formats whose sources carry graders (the others are scored with ``--scorer``).
GRADED_FORMATS = frozenset({"openai-evals", "openai-graders", "promptfoo"})


def read_source(format_name: str, source: Path, options: SourceOptions) -> Parsed:
    """Read a source of one of :data:`FORMATS`."""
    return FORMATS[format_name](source, options)
