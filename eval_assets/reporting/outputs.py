"""The raw-outputs document (``outputs.json``), encoded in slices so no run holds all of it (pure).

A 100,000-example document built as one dict took ~220 MB of Python objects and its encoding another
~80 MB, on top of the frames it came from. :class:`OutputsDocument` instead joins the three frames in Polars
(columnar, no object per value) and encodes ``SLICE_ROWS`` entries at a time, so at most one slice of
entries exists as Python objects. The bytes are those of ``json_document`` over the whole dict: the same
layout, indentation and order as before.

An entry is keyed ``<dataset>/<example id>`` (the keys report links name). Where a key occurs more than
once in a frame, it keeps the place of its first row and the values of its last, as the dict built row by
row did; a key with responses or scores but no example gets only what those give.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import polars as pl

from eval_assets.files import json_document
from eval_assets.frames import column_rows
from eval_assets.reporting.model import RunSummary

#: Version of the outputs.json layout: 2 stores each input as JSON (a string or chat messages), not as a
#: JSON string of it, and adds ``schema_version``.
OUTPUTS_SCHEMA_VERSION = 2
#: Entries encoded at a time: large enough that Polars and orjson work in bulk, small enough to hold.
SLICE_ROWS = 2_000
#: Document field -> responses column.
RESPONSE_FIELDS = {
    "output": "output_text",
    "model_version": "model_version",
    "finish_reason": "finish_reason",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cost_usd": "cost_usd",
    "latency_ms": "latency_ms",
    "cached": "cached",
    "error_type": "error_type",
    "error_message": "error_message",
    "request_hash": "request_hash",
}
_EXAMPLE_COLUMNS = ("dataset", "example_id", "line", "input_json", "reference", "tags")
_SCORE_COLUMNS = ("score", "passed", "detail")
_KEY = "_key"
_HAS_EXAMPLE, _HAS_RESPONSE = "_has_example", "_has_response"
_EMPTY_EXAMPLES = b"{}\n}"  # how the document without entries ends: `"examples": {}` and the closing brace
_ENTRY_INDENT = b"\n    "  # an entry sits two levels deep


@dataclass(frozen=True)
class OutputsDocument:
    """A run's raw outputs: its summary and, per example, the input, the answer and every score."""

    summary: RunSummary
    examples: pl.DataFrame
    responses: pl.DataFrame
    scores: pl.DataFrame

    def encoded(self, slice_rows: int = SLICE_ROWS) -> Iterator[bytes]:
        """The document as indented JSON, in pieces whose concatenation is the whole file."""
        run = asdict(self.summary)
        run["cost"] = {"state": self.summary.cost.state, **asdict(self.summary.cost)}
        head = json_document({"schema_version": OUTPUTS_SCHEMA_VERSION, "run": run, "examples": {}})
        entries = self._entries_frame()
        if entries.is_empty():
            yield head
            return
        yield head.removesuffix(_EMPTY_EXAMPLES) + b"{\n"
        separator = b""
        for part in entries.iter_slices(slice_rows):
            pieces = [
                b"    " + orjson.dumps(key) + b": " + json_document(entry).replace(b"\n", _ENTRY_INDENT)
                for key, entry in _entries(part)
            ]
            yield separator + b",\n".join(pieces)
            separator = b",\n"
        yield b"\n  }\n}"

    def _entries_frame(self) -> pl.DataFrame:
        """One row per key, in document order, with the example's, the response's and the scores' columns."""
        examples = (
            _keyed(self.examples.select(_EXAMPLE_COLUMNS))
            .group_by(_KEY, maintain_order=True)
            .agg(pl.all().last())
            .with_columns(pl.lit(True).alias(_HAS_EXAMPLE))
        )
        responses = (
            _keyed(self.responses.select("dataset", "example_id", *RESPONSE_FIELDS.values()))
            .drop("dataset", "example_id")
            .group_by(_KEY, maintain_order=True)
            .agg(pl.all().last())
            .with_columns(pl.lit(True).alias(_HAS_RESPONSE))
        )
        scores = (
            _keyed(self.scores.select("dataset", "example_id", "scorer", *_SCORE_COLUMNS))
            .group_by(_KEY, "scorer", maintain_order=True)
            .agg(pl.col(_SCORE_COLUMNS).last())
            .group_by(_KEY, maintain_order=True)
            .agg(pl.col("scorer", *_SCORE_COLUMNS))
        )
        order = pl.concat([frame.select(_KEY) for frame in (examples, responses, scores)]).unique(maintain_order=True)
        return (
            order.join(examples, on=_KEY, how="left", maintain_order="left")
            .join(responses, on=_KEY, how="left", maintain_order="left")
            .join(scores, on=_KEY, how="left", maintain_order="left")
        )


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    key = pl.format("{}/{}", pl.col("dataset").cast(pl.String), pl.col("example_id").cast(pl.String))
    return frame.with_columns(key.alias(_KEY))


def _entries(part: pl.DataFrame) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each key of a slice of the entries frame with its document entry."""
    columns = (_KEY, _HAS_EXAMPLE, _HAS_RESPONSE, *_EXAMPLE_COLUMNS, "scorer", *_SCORE_COLUMNS)
    fields = tuple(RESPONSE_FIELDS)
    answers = column_rows(part, *RESPONSE_FIELDS.values())
    for row, answer in zip(column_rows(part, *columns), answers, strict=True):
        key, has_example, has_response, dataset, example_id, line, input_json, reference, tags, *scored = row
        entry: dict[str, Any] = {}
        if has_example:
            entry = {
                "dataset": dataset,
                "example_id": example_id,
                "line": line,
                "input": orjson.loads(input_json),  # a string or chat messages of strings, as the dataset wrote it
                "reference": reference,
                "tags": tags,
            }
        scorers, *values = scored  # lists, or None when the key has no score
        entry["scores"] = {
            scorer: {"score": score, "passed": passed, "detail": detail}
            for scorer, score, passed, detail in zip(scorers or (), *(v or () for v in values), strict=True)
        }
        if has_response:
            entry.update(zip(fields, answer, strict=True))
        yield key, entry
