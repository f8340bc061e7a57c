"""openai/evals registry: samples JSONL and the YAML eval specs that name their class and samples.

A sample is ``{"input": <string or chat messages>, "ideal": <string or list of strings>}``; few-shot
turns are system messages named ``example_user`` / ``example_assistant``. An eval spec
(``registry/evals/<name>.yaml``) maps a name to a versioned entry with ``class`` and ``args``
(``samples_jsonl`` relative to ``registry/data/``; model-graded evals name a ``modelgraded_spec`` in
``registry/modelgraded/``). Sample ids follow openai/evals' own: ``<eval name>.<index>``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval_assets.importing import rubric_text
from eval_assets.importing.model import Case, Grader, NotImportableError, Parsed, source_error
from eval_assets.importing.sources import read_jsonl, read_yaml, to_prompt, to_references

_BASIC = "evals.elsuite.basic."
_CLASSIFY = "evals.elsuite.modelgraded.classify:ModelBasedClassify"
#: Eval args every class takes that need no mapping (they say where things are, or are the default here).
_QUIET_ARGS = frozenset({"samples_jsonl", "modelgraded_spec", "eval_type", "modelgraded_spec_args", "ignore_case"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse(source: Path, *, eval_name: str | None = None) -> Parsed:
    """Read samples (``.jsonl``) or an eval spec (``.yaml``) of the openai/evals registry.

    Raises:
        InvalidInputError: for an unreadable source, a Git LFS pointer, or an eval that cannot be found.
    """
    if source.suffix.lower() == ".jsonl":
        parsed = Parsed()
        graders = [_match_grader("samples")]
        parsed.kept.append("samples without an eval spec: scored as openai/evals' Match (the default basic eval)")
        _read_samples(source, source.stem, graders, parsed)
        return parsed
    return _parse_spec(source, eval_name)


def _parse_spec(source: Path, eval_name: str | None) -> Parsed:
    spec = read_yaml(source)
    if not isinstance(spec, dict):
        raise source_error(source, "an eval spec is a YAML mapping of eval names to their entries")
    bases = {name: entry for name, entry in spec.items() if isinstance(entry, dict) and "id" in entry}
    if eval_name is None:
        if len(bases) != 1:
            names = ", ".join(bases) or "none"
            raise source_error(source, f"choose one eval with --eval NAME (evals in this file: {names})")
        eval_name = next(iter(bases))
    base = bases.get(eval_name) or next((e for e in bases.values() if e.get("id") == eval_name), None)
    if base is None:
        raise source_error(source, f"no eval {eval_name!r} here (evals: {', '.join(bases) or 'none'})")
    versioned = spec.get(base["id"])
    if not isinstance(versioned, dict) or "class" not in versioned:
        raise source_error(source, f"eval {eval_name!r} points to {base['id']!r}, which has no 'class' here")
    args = versioned.get("args") or {}
    registry = source.resolve().parent.parent  # registry/evals/<file>.yaml -> registry/
    parsed = Parsed(description=str(base.get("description") or ""))
    for key in sorted(set(base) - {"id", "description", "metrics", "disclaimer"}):
        parsed.skip(f"{eval_name}.{key}", str(source), "not used by this project")
    for key in sorted(set(args) - _QUIET_ARGS):
        parsed.skip(f"args.{key}", base["id"], "not used by this project (e.g. max_tokens: set model.max_tokens)")
    samples = args.get("samples_jsonl")
    if not isinstance(samples, str):
        raise source_error(source, f"eval {base['id']!r} has no args.samples_jsonl")
    samples_path = registry / "data" / samples
    if not samples_path.exists():
        samples_path = source.parent / samples  # a spec kept beside its samples
    graders = _graders(str(versioned["class"]), args, base["id"], registry, source, parsed)
    _read_samples(samples_path, eval_name, graders, parsed)
    return parsed


def _graders(kind: str, args: dict[str, Any], where: str, registry: Path, source: Path, parsed: Parsed) -> list[Grader]:
    if kind == _BASIC + "match:Match":
        return [_match_grader(where)]
    if kind == _BASIC + "includes:Includes":
        ignore_case = bool(args.get("ignore_case", False))
        return [
            Grader(
                label="Includes",
                where=where,
                scorer="contains",
                options={} if ignore_case else {"case_sensitive": True},
                reference=(),
                name_hint="includes",
                note="contains matches whole words (Includes: any substring)",
            )
        ]
    if kind == _BASIC + "fuzzy_match:FuzzyMatch":
        return [
            Grader(
                label="FuzzyMatch",
                where=where,
                scorer="contains",
                reference=(),
                name_hint="fuzzy_match",
                note="normalized like FuzzyMatch (case, punctuation, articles); an answer that is only part of "
                "the ideal passes FuzzyMatch but not contains",
            )
        ]
    if kind == _BASIC + "json_match:JsonMatch":
        parsed.skip("JsonMatch (comparison with ideal)", where, "no scorer compares the answer's JSON with the ideal's")
        return [
            Grader(
                label="JsonMatch",
                where=where,
                scorer="json_valid",
                name_hint="json_match",
                note="checks only that the answer is JSON",
            )
        ]
    if kind == _CLASSIFY:
        grader = _classify(args, where, registry, source, parsed)
        return [grader] if grader else []
    parsed.skip(f"class {kind}", where, "no equivalent scorer; the samples are imported without it")
    return []


def _match_grader(where: str) -> Grader:
    return Grader(
        label="Match",
        where=where,
        scorer="starts_with",
        options={"case_sensitive": True},
        reference=(),
        name_hint="match",
        note="starts_with also needs a word boundary after the ideal",
    )


def _classify(args: dict[str, Any], where: str, registry: Path, source: Path, parsed: Parsed) -> Grader | None:
    name = args.get("modelgraded_spec")
    if not isinstance(name, str):
        parsed.skip("ModelBasedClassify", where, "no modelgraded_spec named")
        return None
    spec = _modelgraded_spec(name, registry, source)
    eval_type = str(args.get("eval_type") or spec.get("eval_type") or "cot_classify")
    scores = spec.get("choice_scores")
    choices = [str(c) for c in (spec.get("choice_strings") or [])]
    if scores == "from_strings":
        try:
            scores = {choice: float(choice) for choice in choices}
        except ValueError:
            scores = None
    if not isinstance(scores, dict) or not scores:
        parsed.skip(
            f"ModelBasedClassify {name}", where, "no choice_scores: a label classifier needs the label_model judge"
        )
        return None
    choice_scores = {str(k): float(v) for k, v in scores.items()}
    prompt = spec.get("prompt")
    if isinstance(prompt, list):
        prompt = "\n\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in prompt if isinstance(m, dict))
    if not isinstance(prompt, str):
        parsed.skip(f"ModelBasedClassify {name}", where, "the modelgraded spec has no prompt text")
        return None
    extra = args.get("modelgraded_spec_args") or {}
    for key, value in extra.items():
        if isinstance(value, str):
            prompt = prompt.replace("{" + key + "}", value)
    outputs = spec.get("input_outputs") or {"input": "completion"}
    roles = {"ideal": "reference", **{str(k): "input" for k in outputs}, **{str(v): "output" for v in outputs.values()}}
    text, unknown, used = rubric_text.convert(prompt, _PLACEHOLDER, roles.get)
    if unknown:
        parsed.skip(f"ModelBasedClassify {name}", where, f"its prompt uses {', '.join(unknown)}, which no slot holds")
        return None
    low, high = min(choice_scores.values()), max(choice_scores.values())
    if low == high:
        parsed.skip(f"ModelBasedClassify {name}", where, "every choice has the same score")
        return None
    text += rubric_text.answer_format(low, high, choices=choice_scores)
    return Grader(
        label=f"ModelBasedClassify {name} ({eval_type})",
        where=where,
        scorer="rubric_judge",
        reference=() if "reference" in used else None,
        rubric=rubric_text.draft(text, used, (low, high), f"openai/evals modelgraded spec {name!r}"),
        name_hint=name,
        note="the judge reports its choice as the choice's score (choice_scores), normalized to 0..1",
    )


def _modelgraded_spec(name: str, registry: Path, source: Path) -> dict[str, Any]:
    folder = registry / "modelgraded"
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        specs = read_yaml(path)
        if isinstance(specs, dict) and isinstance(specs.get(name), dict):
            return dict(specs[name])
    raise source_error(source, f"modelgraded spec {name!r} not found in {folder} (registry/modelgraded/*.yaml)")


def _read_samples(path: Path, eval_name: str, graders: list[Grader], parsed: Parsed) -> None:
    """Each sample as a case; the ideal is every grader's reference."""
    index = -1
    for line, sample in read_jsonl(path):
        index += 1
        where = f"{path.name}:{line}"
        if not isinstance(sample, dict):
            parsed.skip("sample", where, "not a JSON object")
            continue
        try:
            prompt = to_prompt(sample.get("input"))
        except NotImportableError as exc:
            parsed.skip("sample", where, str(exc))
            continue
        ideal = to_references(sample.get("ideal"))
        wanted = [g for g in graders if g.reference is not None]
        if ideal is None and wanted:
            parsed.skip("sample", where, "no ideal, which its eval compares with")
            continue
        extra = {key: value for key, value in sample.items() if key not in ("input", "ideal")}
        case_graders = tuple(
            replace(g, where=where, reference=ideal if g.reference is not None else None) for g in graders
        )
        _note_names(sample.get("input"), where, parsed)
        parsed.cases.append(
            Case(
                id=f"{eval_name}.{index}",
                input=prompt,
                where=where,
                reference=ideal,
                metadata=extra,
                graders=case_graders,
            )
        )
        for key in extra:
            note = f"sample field {key!r} -> metadata"
            if note not in parsed.kept:
                parsed.kept.append(note)
    if index < 0:
        raise source_error(path, "no samples")


def _note_names(messages: Any, where: str, parsed: Parsed) -> None:
    """Say what happened to the ``name`` of chat messages (few-shot turns become user/assistant turns)."""
    if not isinstance(messages, list):
        return
    for index, message in enumerate(messages):
        name = message.get("name") if isinstance(message, dict) else None
        if name in ("example_user", "example_assistant") and message.get("role") == "system":
            note = "few-shot system messages named example_user / example_assistant -> user / assistant turns"
            if note not in parsed.kept:
                parsed.kept.append(note)
        elif name is not None:
            parsed.skip(f"input[{index}].name", where, "chat messages here carry only role and content")
