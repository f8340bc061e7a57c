"""The inputs of a cell's later stages: the config and rubrics from their files, the examples as stored.

The first stage (``eval_examples``) reads and validates the datasets once and stores the selected examples
with their lineage. Every later stage rebuilds its plan from those rows instead of reading and validating
the dataset files again: it costs nothing at 100,000 examples, and an edited dataset file cannot slip into
the middle of a night. The config is small and read again, but it must be the one the examples were stored
under (same content hash), or scores would follow other scorers and thresholds than the night started with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from eval_assets.datasets import Dataset, Example
from eval_assets.errors import InputProblem, InvalidInputError
from eval_assets.project import EvalPlan, load_named_config, load_rubrics


class StoredInputsChangedError(ValueError):
    """The config on disk is not the one the cell's examples were stored under."""


#: The columns of an ``examples`` row that :meth:`StoredExamples.from_rows` reads (``input_text``, as long as
#: the inputs, is only for people's queries).
STORED_COLUMNS = (
    "dataset", "dataset_hash", "example_id", "line", "input_json", "reference", "tags", "metadata_json",
    "config_hash", "git_sha",
)  # fmt: skip


@dataclass(frozen=True)
class StoredExamples:
    """A cell's ``examples`` rows decoded once: what every later stage's plan is rebuilt from."""

    config_hashes: frozenset[str]
    examples: tuple[Example, ...]  # in the rows' order
    dataset_hashes: dict[str, str]  # each dataset's hash as its first stored row has it
    git_sha: str | None  # the data's commit the first stage saw (every row names the same)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> StoredExamples:
        """Decode the rows as ``eval_examples`` stored them."""
        rows = list(rows)
        dataset_hashes: dict[str, str] = {}
        for row in rows:
            dataset_hashes.setdefault(row["dataset"], str(row["dataset_hash"]))
        return cls(
            config_hashes=frozenset(str(row["config_hash"]) for row in rows),
            examples=tuple(map(example_from_row, rows)),
            dataset_hashes=dataset_hashes,
            git_sha=str(rows[0]["git_sha"]) if rows else None,
        )


def plan_from_stored(data_dir: Path, config_name: str, stored: StoredExamples) -> EvalPlan:
    """The cell's plan: config and rubrics read and checked now, examples rebuilt from the ``stored`` rows.

    Args:
        data_dir: The data directory.
        config_name: The cell's config.
        stored: The cell's ``examples`` rows, as ``eval_examples`` stored them, decoded.

    Raises:
        InvalidInputError: the config or a rubric file is invalid (file, line and field named).
        StoredInputsChangedError: the config changed since the examples were stored.
    """
    loaded = load_named_config(data_dir, config_name)
    problems: list[InputProblem] = []
    rubrics = load_rubrics(data_dir, loaded, problems)
    if problems:
        raise InvalidInputError(problems)
    if stored.config_hashes != {loaded.content_hash}:
        raise StoredInputsChangedError(
            f"the config {loaded.path} changed since eval_examples stored this partition's examples "
            f"(config hash {', '.join(sorted(stored.config_hashes)) or 'none'} then, {loaded.content_hash} now)"
        )
    refs = loaded.config.datasets
    names = [ref.name for ref in refs]  # a property deriving it from the path: once per dataset, not per row
    position = {name: index for index, name in enumerate(names)}
    unlisted = len(position)
    examples = tuple(sorted(stored.examples, key=lambda e: (position.get(e.dataset, unlisted), e.line)))
    by_dataset: dict[str, list[Example]] = {}
    for example in examples:
        by_dataset.setdefault(example.dataset, []).append(example)
    datasets = {
        name: Dataset(
            name=name,
            path=data_dir / ref.path,
            content_hash=stored.dataset_hashes[name],
            examples=tuple(by_dataset.get(name, ())),
        )
        for ref, name in zip(refs, names, strict=True)
        if name in stored.dataset_hashes
    }
    return EvalPlan(config=loaded, datasets=datasets, examples=examples, rubrics=rubrics)


def example_from_row(row: Mapping[str, Any]) -> Example:
    """An example as ``eval_examples`` stored it (the inverse of its row)."""
    value = orjson.loads(row["input_json"])  # a string or chat messages of strings (metadata may hold big ints)
    prompt: str | tuple[dict[str, str], ...] = value if isinstance(value, str) else tuple(dict(m) for m in value)
    return Example(
        dataset=str(row["dataset"]),
        id=str(row["example_id"]),
        input=prompt,
        references=tuple(row["reference"] or ()),
        tags=tuple(row["tags"] or ()),
        line=int(row["line"]),
        metadata=json.loads(row["metadata_json"]) if row["metadata_json"] else {},
    )
