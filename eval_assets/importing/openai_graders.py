"""OpenAI / Azure AI Foundry Evals API: ``data_source_config`` + ``testing_criteria``, and ``{"item": ...}`` lines.

The eval JSON is what ``POST /evals`` takes (``name``, ``data_source_config``, ``testing_criteria``); a
run's ``data_source`` may sit beside them, carrying the prompt template (``input_messages``) and the items
inline (``source.type: file_content``). Otherwise the items come from ``--items`` (one ``{"item": {...}}``
a line) and each item's ``input`` field is the prompt. Templates name ``{{ item.<field> }}`` and
``{{ sample.output_text }}`` (the answer of the model under test).
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval_assets.importing import rubric_text
from eval_assets.importing.model import Case, Grader, NotImportableError, Parsed, Prompt, source_error
from eval_assets.importing.sources import clean_id, read_jsonl, read_yaml, text_of, to_prompt, to_references
from eval_assets.scoring.scorers.text_similarity import SimilarityMetric

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
_OUTPUT = "sample.output_text"
_NEGATION = "no scorer passes on the opposite verdict yet (negated graders are not importable)"
#: A grader for one item, or the reason it cannot grade that item.
_Mapper = Callable[[Mapping[str, Any]], Grader | str]

#: The Evals API text_similarity metrics this project's text_similarity scorer has (cosine is embedding_similarity).
_SIMILARITY_METRICS = frozenset(typing.get_args(SimilarityMetric))


def parse(source: Path, *, items: Path | None) -> Parsed:
    """Read an Evals API eval definition and its items.

    Raises:
        InvalidInputError: for an unreadable source, or items that cannot be found.
    """
    spec = read_yaml(source)  # JSON is YAML; the error names the line either way
    if not isinstance(spec, dict) or "testing_criteria" not in spec:
        raise source_error(source, "expected an eval object with data_source_config and testing_criteria")
    parsed = Parsed(description=str(spec.get("name") or ""))
    found = spec.get("data_source")
    data_source: dict[str, Any] = found if isinstance(found, dict) else {}
    template = _input_template(data_source, source)
    records = _items(source, items, data_source)
    input_fields = {name for message in template or [] for name in _fields(message["content"])}
    criteria = spec.get("testing_criteria")
    if not isinstance(criteria, list) or not criteria:
        raise source_error(source, "testing_criteria must be a non-empty list", field_name="testing_criteria")
    mappers = []
    reference_fields: set[str] = set()
    for index, criterion in enumerate(criteria):
        where = f"testing_criteria[{index}]"
        mapper = _criterion(criterion, where, input_fields, parsed) if isinstance(criterion, dict) else None
        if mapper is not None and isinstance(criterion, dict):
            reference_fields.update(_fields(json.dumps(criterion.get("reference", ""))))
            reference_fields.update(_fields(json.dumps(criterion.get("input", ""))))
        if mapper is not None:
            mappers.append(mapper)
    if data_source.get("model"):
        parsed.skip(f"data_source.model {data_source['model']}", source.name, "the model under test is --model")
    seen: set[str] = set()
    for where, item in records:
        if not isinstance(item, dict):
            parsed.skip("item", where, 'each line is {"item": {...}}')
            continue
        try:
            prompt = _render_input(template, item) if template else to_prompt(item.get("input"))
        except NotImportableError as exc:
            parsed.skip("item", where, str(exc))
            continue
        graders = []
        for mapper in mappers:
            outcome = mapper(item)
            if isinstance(outcome, str):
                parsed.skip("grader", where, outcome)
            else:
                graders.append(outcome)
        # Fields that became the input or a reference are not repeated in metadata.
        used = input_fields | reference_fields | ({"input"} if not template else set())
        metadata = {key: value for key, value in item.items() if key not in used}
        case_id, renamed = clean_id(item.get("id"), f"item-{len(seen) + 1}", seen)
        if renamed:
            parsed.skip("item.id", where, renamed + f"; imported as {case_id!r}")
        parsed.cases.append(Case(case_id, prompt, where, metadata=metadata, graders=tuple(graders)))
    if metadata_keys := sorted({key for case in parsed.cases for key in case.metadata}):
        parsed.kept.append(f"item fields {', '.join(metadata_keys)} -> metadata")
    return parsed


def _input_template(data_source: Mapping[str, Any], source: Path) -> list[dict[str, str]] | None:
    messages = data_source.get("input_messages")
    if not isinstance(messages, dict):
        return None
    if messages.get("type") != "template" or not isinstance(messages.get("template"), list):
        raise source_error(source, "data_source.input_messages: only type 'template' is importable")
    template = []
    for message in messages["template"]:
        try:
            content = text_of(message.get("content"))
        except NotImportableError as exc:
            raise source_error(source, f"data_source.input_messages: {exc}") from None
        template.append({"role": str(message.get("role", "user")), "content": content})
    return template


def _items(source: Path, items: Path | None, data_source: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found = data_source.get("source")
    inline: dict[str, Any] = found if isinstance(found, dict) else {}
    if items is not None:
        return [(f"{items.name}:{line}", _unwrap(record)) for line, record in read_jsonl(items)]
    if inline.get("type") == "file_content" and isinstance(inline.get("content"), list):
        return [(f"data_source.source.content[{i}]", _unwrap(r)) for i, r in enumerate(inline["content"])]
    raise source_error(source, 'no items: pass --items FILE (JSONL of {"item": {...}} lines)')


def _unwrap(record: Any) -> Any:
    return record.get("item") if isinstance(record, dict) and "item" in record else record


def _fields(text: str) -> list[str]:
    return [name.removeprefix("item.") for name in _PLACEHOLDER.findall(text) if name.startswith("item.")]


def _value(item: Mapping[str, Any], field: str) -> Any:
    value: Any = item
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise NotImportableError(f"the item has no field {field!r}")
        value = value[part]
    return value


def _render(text: str, item: Mapping[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith("item."):
            raise NotImportableError(f"the prompt template uses {{{{{name}}}}}, which only the model's answer fills")
        value = _value(item, name.removeprefix("item."))
        if isinstance(value, str):
            return value
        references = to_references(value)
        return references[0] if references else ""

    return _PLACEHOLDER.sub(fill, text)


def _render_input(template: list[dict[str, str]], item: Mapping[str, Any]) -> Prompt:
    return to_prompt([{"role": m["role"], "content": _render(m["content"], item)} for m in template])


def _criterion(criterion: dict[str, Any], where: str, input_fields: set[str], parsed: Parsed) -> _Mapper | None:
    kind = str(criterion.get("type"))
    name = str(criterion.get("name") or kind)
    label = f"{kind} {name!r}" if criterion.get("name") else kind
    if kind == "string_check":
        return _string_check(criterion, where, label, name, parsed)
    if kind == "text_similarity":
        metric = str(criterion.get("evaluation_metric", "fuzzy_match"))
        if metric != "cosine" and metric not in _SIMILARITY_METRICS:
            known = ", ".join(sorted(_SIMILARITY_METRICS))
            parsed.skip(f"{label} ({metric})", where, f"no {metric} metric here (text_similarity has {known})")
            return None
        similarity: tuple[str, dict[str, Any]] = (
            ("embedding_similarity", {}) if metric == "cosine" else ("text_similarity", {"metric": metric})
        )
        threshold = criterion.get("pass_threshold")
        return _reference_grader(criterion, where, label, name, parsed, *similarity, pass_score=threshold)
    if kind == "score_model":
        return _score_model(criterion, where, label, name, input_fields, parsed)
    if kind == "label_model":
        return _label_model(criterion, where, label, name, input_fields, parsed)
    if kind == "python":
        parsed.skip(label, where, "runs Python code from the eval, which is not importable; port it to a scorer module")
        return None
    parsed.skip(label, where, f"no equivalent scorer for {kind} graders")
    return None


def _string_check(criterion: dict[str, Any], where: str, label: str, name: str, parsed: Parsed) -> _Mapper | None:
    operation = criterion.get("operation")
    if operation == "ne":
        parsed.skip(label + " (ne)", where, _NEGATION)
        return None
    choices = {
        "eq": ("exact_match", {"case_sensitive": True}, "exact_match collapses runs of whitespace"),
        "like": ("contains", {"case_sensitive": True}, "contains matches whole words (like: any substring)"),
        "ilike": ("contains", {}, "contains matches whole words and ignores punctuation (ilike: any substring)"),
    }
    if operation not in choices:
        parsed.skip(label, where, f"unknown string_check operation {operation!r}")
        return None
    scorer, options, note = choices[str(operation)]
    return _reference_grader(criterion, where, f"{label} ({operation})", name, parsed, scorer, options, note=note)


def _reference_grader(
    criterion: dict[str, Any],
    where: str,
    label: str,
    name: str,
    parsed: Parsed,
    scorer: str,
    options: dict[str, Any],
    *,
    pass_score: Any = None,
    note: str = "",
) -> _Mapper | None:
    """A grader comparing ``{{sample.output_text}}`` with a reference: an item field or literal text."""
    if _PLACEHOLDER.fullmatch(str(criterion.get("input", "")).strip()) is None or _OUTPUT not in str(
        criterion.get("input")
    ):
        parsed.skip(label, where, "its input is not {{sample.output_text}} (only the model's answer is scored here)")
        return None
    reference = str(criterion.get("reference", ""))
    placeholder = _PLACEHOLDER.fullmatch(reference.strip())
    if placeholder is not None and not placeholder.group(1).startswith("item."):
        parsed.skip(label, where, f"its reference {reference!r} is not an item field")
        return None
    if not reference.strip():
        parsed.skip(label, where, "no reference to compare with")
        return None
    if _PLACEHOLDER.search(reference) and placeholder is None:
        parsed.skip(label, where, f"its reference {reference!r} mixes text and fields")
        return None

    def grade(item: Mapping[str, Any]) -> Grader | str:
        try:
            value = _value(item, placeholder.group(1).removeprefix("item.")) if placeholder else reference
        except NotImportableError as exc:
            return f"{label}: {exc}"
        references = to_references(value)
        if references is None:
            return f"{label}: the item's reference is empty"
        return Grader(
            label=label,
            where=where,
            scorer=scorer,
            options=options,
            pass_score=float(pass_score) if isinstance(pass_score, int | float) else None,
            reference=references,
            name_hint=name,
            note=note,
        )

    return grade


@dataclass(frozen=True)
class _GraderPrompt:
    """A model grader's prompt as a rubric template: its text, the slots it uses, its reference field."""

    text: str
    used: set[str]
    reference_field: str | None


def _grader_prompt(
    criterion: dict[str, Any], where: str, label: str, input_fields: set[str], parsed: Parsed
) -> _GraderPrompt | None:
    """The prompt of a ``score_model`` or ``label_model`` grader with its placeholders as rubric slots."""
    messages = criterion.get("input")
    if not isinstance(messages, list) or not messages:
        parsed.skip(label, where, "no input messages")
        return None
    try:
        prompt = "\n\n".join(text_of(m.get("content")) for m in messages if isinstance(m, dict))
    except NotImportableError as exc:
        parsed.skip(label, where, str(exc))
        return None
    reference_fields = [f for f in dict.fromkeys(_fields(prompt)) if f not in input_fields]
    if len(reference_fields) > 1:
        shown = ", ".join(reference_fields)
        parsed.skip(label, where, f"its prompt shows the fields {shown}; a rubric shows one reference")
        return None

    def slot_of(placeholder: str) -> str | None:
        if placeholder == _OUTPUT:
            return "output"
        field = placeholder.removeprefix("item.")
        if placeholder.startswith("item.") and field in input_fields:
            return "input"
        if placeholder.startswith("item.") and field in reference_fields:
            return "reference"
        return None

    text, unknown, used = rubric_text.convert(prompt, _PLACEHOLDER, slot_of)
    if unknown:
        parsed.skip(label, where, f"its prompt uses {', '.join(unknown)}, which no slot holds")
        return None
    for key in ("model", "sampling_params"):
        if key in criterion:
            parsed.skip(f"{label} {key}", where, "the judge model and its settings are chosen with --judge")
    return _GraderPrompt(text, used, reference_fields[0] if reference_fields else None)


def _judge_grader(prompt: _GraderPrompt, grader: Grader) -> _Mapper:
    """A mapper giving each item ``grader`` with the item's references (or why they cannot be read)."""

    def grade(item: Mapping[str, Any]) -> Grader | str:
        references = _item_references(item, prompt, grader.label)
        return references if isinstance(references, str) else dataclasses.replace(grader, reference=references)

    return grade


def _item_references(item: Mapping[str, Any], prompt: _GraderPrompt, label: str) -> tuple[str, ...] | str | None:
    """The item's value of the prompt's reference field (None without one; a string says what is wrong)."""
    if prompt.reference_field is None:
        return None
    try:
        references = to_references(_value(item, prompt.reference_field))
    except NotImportableError as exc:
        return f"{label}: {exc}"
    return references if references is not None else f"{label}: the item's {prompt.reference_field!r} is empty"


def _label_model(
    criterion: dict[str, Any], where: str, label: str, name: str, input_fields: set[str], parsed: Parsed
) -> _Mapper | None:
    labels, passing = criterion.get("labels"), criterion.get("passing_labels")
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
        parsed.skip(label, where, "no labels (a list of strings)")
        return None
    if not (isinstance(passing, list) and passing and all(isinstance(x, str) and x in labels for x in passing)):
        parsed.skip(label, where, f"passing_labels {passing!r} are not some of labels {labels!r}")
        return None
    prompt = _grader_prompt(criterion, where, label, input_fields, parsed)
    if prompt is None:
        return None
    # No answer format here: label_model sends the labels and the answer format after the rubric itself.
    rubric = rubric_text.draft(prompt.text, prompt.used, (0.0, 1.0), f"Evals API grader {name!r}")
    options = {"labels": list(labels), "passing_labels": list(passing)}
    return _judge_grader(
        prompt,
        Grader(
            label=label,
            where=where,
            scorer="label_model",
            options=options,
            rubric=rubric,
            name_hint=name,
            note="passes when the judge picks one of passing_labels",
        ),
    )


def _score_model(
    criterion: dict[str, Any], where: str, label: str, name: str, input_fields: set[str], parsed: Parsed
) -> _Mapper | None:
    prompt = _grader_prompt(criterion, where, label, input_fields, parsed)
    if prompt is None:
        return None
    text, used = prompt.text, prompt.used
    low, high = (criterion.get("range") or [0, 1])[:2]
    if not (isinstance(low, int | float) and isinstance(high, int | float) and low < high):
        parsed.skip(label, where, f"range {criterion.get('range')!r} is not [low, high]")
        return None
    threshold = criterion.get("pass_threshold")
    pass_score = round((threshold - low) / (high - low), 4) if isinstance(threshold, int | float) else None
    if pass_score is not None and not 0 <= pass_score <= 1:
        parsed.skip(label, where, f"pass_threshold {threshold} is outside range [{low}, {high}]")
        return None
    rubric = rubric_text.draft(
        text + rubric_text.answer_format(low, high), used, (float(low), float(high)), f"Evals API grader {name!r}"
    )
    return _judge_grader(
        prompt,
        Grader(
            label=label,
            where=where,
            scorer="rubric_judge",
            pass_score=pass_score,
            rubric=rubric,
            name_hint=name,
            note=f"range [{low:g}, {high:g}] normalized to 0..1",
        ),
    )
