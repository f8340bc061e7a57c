"""outputs.json encoded in slices: the bytes of the whole document, whatever the slice size and the rows."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import orjson
import polars as pl
from hypothesis import given, settings, strategies as st

from eval_assets.files import json_document
from eval_assets.frames import column_rows
from eval_assets.reporting.model import RunSummary
from eval_assets.reporting.outputs import OUTPUTS_SCHEMA_VERSION, RESPONSE_FIELDS, OutputsDocument
from eval_assets_tests.reporting import factories as f

EXAMPLE_SCHEMA = {
    "dataset": pl.String,
    "example_id": pl.String,
    "line": pl.Int64,
    "input_json": pl.String,
    "reference": pl.List(pl.String),
    "tags": pl.List(pl.String),
}
RESPONSE_SCHEMA = {
    "dataset": pl.String,
    "example_id": pl.String,
    "output_text": pl.String,
    "model_version": pl.String,
    "finish_reason": pl.String,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cost_usd": pl.Float64,
    "latency_ms": pl.Float64,
    "cached": pl.Boolean,
    "error_type": pl.String,
    "error_message": pl.String,
    "request_hash": pl.String,
}
SCORE_SCHEMA = {
    "dataset": pl.String,
    "example_id": pl.String,
    "scorer": pl.String,
    "score": pl.Float64,
    "passed": pl.Boolean,
    "detail": pl.String,
}


def whole_document(
    summary: RunSummary, examples: pl.DataFrame, responses: pl.DataFrame, scores: pl.DataFrame
) -> dict[str, Any]:
    """The document as one dict, built row by row: how outputs.json was made before it was sliced."""
    by_key: dict[str, dict[str, Any]] = {}
    for dataset, example_id, line, input_json, reference, tags in column_rows(
        examples, "dataset", "example_id", "line", "input_json", "reference", "tags"
    ):
        by_key[f"{dataset}/{example_id}"] = {
            "dataset": dataset,
            "example_id": example_id,
            "line": line,
            "input": orjson.loads(input_json),
            "reference": reference,
            "tags": tags,
            "scores": {},
        }
    fields = tuple(RESPONSE_FIELDS)
    for dataset, example_id, *values in column_rows(responses, "dataset", "example_id", *RESPONSE_FIELDS.values()):
        entry = by_key.setdefault(f"{dataset}/{example_id}", {"scores": {}})
        entry.update(zip(fields, values, strict=True))
    for dataset, example_id, scorer, score, passed, detail in column_rows(
        scores, "dataset", "example_id", "scorer", "score", "passed", "detail"
    ):
        entry = by_key.setdefault(f"{dataset}/{example_id}", {"scores": {}})
        entry["scores"][scorer] = {"score": score, "passed": passed, "detail": detail}
    run = asdict(summary)
    run["cost"] = {"state": summary.cost.state, **asdict(summary.cost)}
    return {"schema_version": OUTPUTS_SCHEMA_VERSION, "run": run, "examples": by_key}


IDS = st.sampled_from(["q1", "q2", "q3", "q/4", 'q"5', "é6"])
DATASETS = st.sampled_from(["qa", "chat"])
TEXT = st.text(max_size=12)
INPUTS = st.one_of(TEXT, st.lists(st.fixed_dictionaries({"role": st.just("user"), "content": TEXT}), max_size=2))


@st.composite
def cells(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Examples, responses (repeats, orphans) and scores (several scorers, duplicates) of a few keys."""
    examples = [
        {
            "dataset": draw(DATASETS),
            "example_id": draw(IDS),
            "line": draw(st.integers(1, 10**12)),
            "input_json": json.dumps(draw(INPUTS)),
            "reference": draw(st.lists(TEXT, max_size=2)),
            "tags": draw(st.lists(TEXT, max_size=2)),
        }
        for _ in range(draw(st.integers(0, 6)))
    ]
    responses = [
        {
            "dataset": draw(DATASETS),
            "example_id": draw(IDS),
            "output_text": draw(st.none() | TEXT),
            "model_version": draw(st.none() | TEXT),
            "finish_reason": draw(st.sampled_from([None, "stop", "length"])),
            "input_tokens": draw(st.none() | st.integers(0, 10**6)),
            "output_tokens": draw(st.none() | st.integers(0, 10**6)),
            "cost_usd": draw(st.none() | st.floats(0, 10, allow_nan=False)),
            "latency_ms": draw(st.none() | st.floats(0, 1e5, allow_nan=False)),
            "cached": draw(st.booleans()),
            "error_type": draw(st.sampled_from([None, "timeout"])),
            "error_message": draw(st.none() | TEXT),
            "request_hash": draw(TEXT),
        }
        for _ in range(draw(st.integers(0, 6)))
    ]
    scores = [
        {
            "dataset": draw(DATASETS),
            "example_id": draw(IDS),
            "scorer": draw(st.sampled_from(["contains", "exact_match", "judge"])),
            "score": draw(st.none() | st.floats(0, 1, allow_nan=False)),
            "passed": draw(st.none() | st.booleans()),
            "detail": draw(st.none() | TEXT),
        }
        for _ in range(draw(st.integers(0, 8)))
    ]
    return (
        pl.DataFrame(examples, schema=EXAMPLE_SCHEMA),
        pl.DataFrame(responses, schema=RESPONSE_SCHEMA),
        pl.DataFrame(scores, schema=SCORE_SCHEMA),
    )


@settings(max_examples=120, deadline=None)
@given(cells(), st.integers(1, 4))
def test_sliced_encoding_is_the_whole_document(cell: tuple[pl.DataFrame, ...], slice_rows: int) -> None:
    summary = f.summary()
    examples, responses, scores = cell
    sliced = b"".join(OutputsDocument(summary, examples, responses, scores).encoded(slice_rows))
    assert sliced == json_document(whole_document(summary, examples, responses, scores))


def test_no_rows_gives_an_empty_examples_object() -> None:
    empty = [pl.DataFrame(schema=schema) for schema in (EXAMPLE_SCHEMA, RESPONSE_SCHEMA, SCORE_SCHEMA)]
    encoded = b"".join(OutputsDocument(f.summary(), *empty).encoded())
    assert orjson.loads(encoded)["examples"] == {}


def test_every_piece_holds_at_most_one_slice_of_entries() -> None:
    n = 25
    keys = {"dataset": ["qa"] * n, "example_id": [f"q{i:03d}" for i in range(n)]}
    examples = pl.DataFrame(
        {**keys, "line": range(1, n + 1), "input_json": ['"hi"'] * n, "reference": [[]] * n, "tags": [[]] * n},
        schema=EXAMPLE_SCHEMA,
    )
    empty_responses, empty_scores = pl.DataFrame(schema=RESPONSE_SCHEMA), pl.DataFrame(schema=SCORE_SCHEMA)
    pieces = list(OutputsDocument(f.summary(), examples, empty_responses, empty_scores).encoded(slice_rows=10))
    # head, three slices (10 + 10 + 5 entries), tail
    assert [piece.count(b'"example_id"') for piece in pieces] == [0, 10, 10, 5, 0]
    assert list(orjson.loads(b"".join(pieces))["examples"]) == [f"qa/q{i:03d}" for i in range(n)]
