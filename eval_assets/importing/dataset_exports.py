"""LangSmith and Langfuse dataset exports: examples with ``inputs`` / ``outputs`` or ``input`` / ``expectedOutput``.

LangSmith examples hold ``inputs`` and ``outputs`` objects (``{"question": ...}``, ``{"answer": ...}``)
and ``metadata`` (whose ``dataset_split`` becomes tags); Langfuse dataset items hold ``input`` and
``expectedOutput`` (a string, chat messages or an object), ``metadata`` and ``status``. When an object has
several keys the input is the one named ``--input-key`` (else ``input``, ``question``, ``query``,
``messages``, ``prompt``, ``text``), the answer ``--reference-key`` (else ``output``, ``answer``,
``expected``, ``reference``, ``response``); the other keys are kept in ``metadata``. Neither export carries
graders (evaluators live in code), so the import's ``--scorer`` scores them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval_assets.importing.model import Case, NotImportableError, Parsed, source_error
from eval_assets.importing.sources import clean_id, clean_tags, pick_key, read_records, to_prompt, to_references

_INPUT_KEYS = ("input", "question", "query", "messages", "prompt", "text")
_REFERENCE_KEYS = ("output", "answer", "expected", "reference", "response", "expected_output")
_LANGSMITH_FIELDS = frozenset({"id", "inputs", "outputs", "metadata", "split"})
_LANGSMITH_BOOKKEEPING = frozenset(
    {"dataset_id", "created_at", "modified_at", "source_run_id", "attachment_urls", "runs"}
)
_LANGFUSE_BOOKKEEPING = frozenset(
    {"datasetId", "datasetName", "createdAt", "updatedAt", "sourceTraceId", "sourceObservationId", "projectId"}
)


def parse_langsmith(source: Path, *, input_key: str | None = None, reference_key: str | None = None) -> Parsed:
    """Read a LangSmith dataset export (JSON Lines or a JSON array of examples)."""
    parsed = Parsed(has_graders=False)
    seen: set[str] = set()
    bookkeeping: set[str] = set()
    count = 0
    for where, example in read_records(source):
        count += 1
        if not isinstance(example, dict) or not isinstance(example.get("inputs"), dict):
            parsed.skip("example", where, "not an example with an 'inputs' object")
            continue
        outputs = example.get("outputs") if isinstance(example.get("outputs"), dict) else {}
        metadata = dict(example.get("metadata") or {})
        tags, refused = clean_tags(metadata.pop("dataset_split", []))
        if "split" in example:
            more, refused_more = clean_tags(example["split"])
            tags, refused = tuple(dict.fromkeys(tags + more)), refused + refused_more
        for value in refused:
            parsed.skip(f"split {value}", where, "not a usable tag")
        if tags:
            _note(parsed, "metadata.dataset_split -> tags")
        for key in sorted(set(example) - _LANGSMITH_FIELDS - _LANGSMITH_BOOKKEEPING):
            metadata[key] = example[key]
            _note(parsed, f"field {key!r} -> metadata")
        _add(
            parsed,
            seen,
            where,
            example.get("id"),
            f"example-{count}",
            example["inputs"],
            outputs,
            metadata,
            tags,
            input_key,
            reference_key,
        )
        bookkeeping.update(_LANGSMITH_BOOKKEEPING & set(example))
    if count == 0:
        raise source_error(source, "no examples")
    _bookkeeping(parsed, bookkeeping)
    return parsed


def parse_langfuse(source: Path, *, input_key: str | None = None, reference_key: str | None = None) -> Parsed:
    """Read Langfuse dataset items (JSON Lines or a JSON array, e.g. from the items API)."""
    parsed = Parsed(has_graders=False)
    seen: set[str] = set()
    bookkeeping: set[str] = set()
    count = 0
    for where, item in read_records(source):
        count += 1
        if not isinstance(item, dict) or "input" not in item:
            parsed.skip("item", where, "not a dataset item with an 'input'")
            continue
        if item.get("status") == "ARCHIVED":
            parsed.skip("item", where, "archived (status ARCHIVED): Langfuse leaves it out of experiments too")
            continue
        metadata = dict(item.get("metadata") or {}) if isinstance(item.get("metadata"), dict) else {}
        if item.get("metadata") is not None and not isinstance(item.get("metadata"), dict):
            metadata["metadata"] = item["metadata"]
        known = {"id", "input", "expectedOutput", "metadata", "status"}
        for key in sorted(set(item) - known - _LANGFUSE_BOOKKEEPING):
            metadata[key] = item[key]
            _note(parsed, f"field {key!r} -> metadata")
        bookkeeping.update(_LANGFUSE_BOOKKEEPING & set(item))
        _add(
            parsed,
            seen,
            where,
            item.get("id"),
            f"item-{count}",
            item["input"],
            item.get("expectedOutput"),
            metadata,
            (),
            input_key,
            reference_key,
        )
    if count == 0:
        raise source_error(source, "no items")
    _bookkeeping(parsed, bookkeeping)
    return parsed


def _add(
    parsed: Parsed,
    seen: set[str],
    where: str,
    source_id: Any,
    fallback: str,
    inputs: Any,
    outputs: Any,
    metadata: dict[str, Any],
    tags: tuple[str, ...],
    input_key: str | None,
    reference_key: str | None,
) -> None:
    try:
        prompt_value, other_inputs = _chosen(inputs, input_key, _INPUT_KEYS, "input")
        prompt = to_prompt(prompt_value)
        answer, other_outputs = _chosen(outputs, reference_key, _REFERENCE_KEYS, "reference")
    except NotImportableError as exc:
        parsed.skip("example", where, str(exc))
        return
    if other_inputs:
        metadata["inputs"] = other_inputs
        _note(parsed, "other input keys -> metadata.inputs")
    if other_outputs:
        metadata["outputs"] = other_outputs
        _note(parsed, "other output keys -> metadata.outputs")
    case_id, renamed = clean_id(source_id, fallback, seen)
    if renamed:
        parsed.skip("id", where, renamed + f"; imported as {case_id!r}")
    parsed.cases.append(Case(case_id, prompt, where, reference=to_references(answer), tags=tags, metadata=metadata))


def _chosen(value: Any, chosen: str | None, preferred: tuple[str, ...], what: str) -> tuple[Any, dict[str, Any]]:
    """The input (or answer) inside an object, and the object's other keys."""
    if not isinstance(value, dict):
        return value, {}
    key = pick_key(value, preferred, chosen, what=what)
    if key is None:
        return None, {}
    return value[key], {k: v for k, v in value.items() if k != key}


def _note(parsed: Parsed, note: str) -> None:
    if note not in parsed.kept:
        parsed.kept.append(note)


def _bookkeeping(parsed: Parsed, keys: set[str]) -> None:
    """One line for the export's own fields (ids of the dataset, timestamps, trace links)."""
    if keys:
        parsed.skip(", ".join(sorted(keys)), "", "export bookkeeping, not part of an example")
