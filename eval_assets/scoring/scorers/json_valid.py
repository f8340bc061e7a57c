"""``json_valid``: the output is JSON, optionally valid against a JSON Schema (Draft 2020-12).

What counts as "the JSON" of an output (the rule is documented in the README):

* the whole output, surrounding whitespace aside; else
* the one fenced block (```` ```json ```` preferred, else a bare ```` ``` ````), whatever prose is around
  it ("Here is the JSON:" before, "Let me know ..." after). Two such blocks are ambiguous and fail; JSON
  inside prose without a fence fails (where it starts and ends would be a guess).

``strict: true`` keeps the narrow rule: the whole output is JSON, or the whole output is one fenced block.

Schema keywords that match regular expressions (``pattern``, ``patternProperties``, and the
``additionalProperties`` that depends on them) run on RE2 in linear time, like ``regex_match``:
jsonschema's own implementation uses Python's backtracking ``re``, and a schema pattern such as
``^(a+)+$`` would let one hostile output stall scoring for minutes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from pydantic import Field

from eval_assets.config_checks import json_schema_problem
from eval_assets.scoring import patterns
from eval_assets.scoring.patterns import PatternError, compile_pattern
from eval_assets.scoring.registry import OptionPath, OptionProblem, ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult, verdict

_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_JSON_LANGUAGES = ("json", "")  # preferred first: a block tagged json, else an untagged one


class JsonValidOptions(ScorerOptions):
    """Options of ``json_valid``."""

    json_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema (Draft 2020-12) the output must satisfy; only local $refs."
    )
    strict: bool = Field(
        default=False,
        description="Require the whole output to be the JSON (or one fenced block and nothing else); by "
        "default prose around one fenced block is accepted.",
    )


# --------------------------------------------------------------------------------------------------
# Finding the JSON
# --------------------------------------------------------------------------------------------------


def _split_language(inner: str) -> tuple[str, str]:
    """``json {"a": 1}`` of a one-line block -> (``json``, ``{"a": 1}``)."""
    if inner[:4].lower() == "json":
        return "json", inner[4:]
    return "", inner


def fenced_blocks(text: str) -> tuple[list[tuple[str, str]], str]:
    """The closed ```` ``` ```` blocks of a text, as (language, body), and the text outside them.

    Line by line, so the work is linear in the text whatever it holds. The language is the first word
    after the opening fence, lowercased. An unclosed fence (an answer cut off at ``max_tokens``) is not
    a block: its lines count as outside text.
    """
    blocks: list[tuple[str, str]] = []
    outside: list[str] = []
    body: list[str] | None = None
    language = ""
    opening = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if body is None:
            if not stripped.startswith("```"):
                outside.append(line)
                continue
            rest = stripped[3:]
            if len(rest) >= 3 and rest.endswith("```"):
                blocks.append(_split_language(rest[:-3]))
                continue
            body, opening = [], line
            words = rest.split()
            language = words[0].lower() if words else ""
        elif stripped == "```":
            blocks.append((language, "\n".join(body)))
            body = None
        else:
            body.append(line)
    if body is not None:
        outside.extend([opening, *body])
    return blocks, "\n".join(outside)


def _candidates(output: str, *, strict: bool) -> tuple[str, str, list[str]]:
    """(whole stripped output, where the fallback came from, the fenced JSON bodies to fall back on)."""
    text = output.strip()
    blocks, outside = fenced_blocks(text)
    if strict:
        whole_block = text.startswith("```") and len(blocks) == 1 and not outside.strip()
        usable = [body for language, body in blocks if language in _JSON_LANGUAGES] if whole_block else []
        return text, "", usable
    for language in _JSON_LANGUAGES:
        bodies = [body for tag, body in blocks if tag == language]
        if bodies:
            where = (
                "" if text.startswith("```") and len(blocks) == 1 and not outside.strip() else " in the fenced block"
            )
            return text, where, bodies
    return text, "", []


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, but they are not JSON and other parsers reject them.
    raise ValueError(f"{name} is not valid JSON")


def _parse(text: str) -> tuple[Any, str | None]:
    """(document, None) or (None, why it is not JSON)."""
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except RecursionError:
        return None, "nested too deeply to parse"
    except ValueError as exc:
        # JSONDecodeError is a ValueError, and so are over-long integers and the NaN/Infinity rejection.
        return None, str(exc)


# --------------------------------------------------------------------------------------------------
# Schemas on RE2
# --------------------------------------------------------------------------------------------------


def _matches(pattern: str, text: str) -> bool:
    return patterns.search(pattern, text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in properties.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    # jsonschema's version finds the extra keys with re.search over the patternProperties.
    if not validator.is_type(instance, "object"):
        return
    named = schema.get("properties", {})
    pattern_keys = list(schema.get("patternProperties", {}))
    extras = [key for key in instance if key not in named and not any(_matches(p, key) for p in pattern_keys)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        listed = ", ".join(repr(extra) for extra in sorted(extras, key=str))
        if pattern_keys:
            verb = "does" if len(extras) == 1 else "do"
            regexes = ", ".join(repr(p) for p in sorted(pattern_keys))
            yield ValidationError(f"{listed} {verb} not match any of the regexes: {regexes}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


# jsonschema's extend() is untyped; it returns a validator class with these keywords replaced.
_Re2Validator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)

_RE2_REGEX_FORMAT = FormatChecker(formats=())


@_RE2_REGEX_FORMAT.checks("regex", raises=PatternError)
def _compiles_in_re2(instance: object) -> bool:
    if isinstance(instance, str):
        compile_pattern(instance)
    return True


# Keywords whose value maps names to schemas (so their keys are names, not keywords) or holds data.
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_DATA = frozenset({"enum", "const", "examples", "default"})


def _keywords(schema: Any) -> Iterator[tuple[OptionPath, str]]:
    stack: list[tuple[OptionPath, Any]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, list):
            stack.extend(((*path, index), item) for index, item in enumerate(node))
        elif isinstance(node, dict):
            for key, value in node.items():
                yield (*path, key), key
                if key in _NAME_MAPS and isinstance(value, dict):
                    stack.extend(((*path, key, name), sub) for name, sub in value.items())
                elif key not in _DATA:
                    stack.append(((*path, key), value))


def schema_regex_problem(schema: Mapping[str, Any]) -> tuple[OptionPath, str] | None:
    """Why the regular expressions of a (valid) schema cannot run on RE2, with where; or None."""
    checker = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=_RE2_REGEX_FORMAT)
    for error in checker.iter_errors(schema):
        if error.validator == "format" and error.validator_value == "regex":
            where = tuple(part for part in error.path if isinstance(part, str | int))
            return where, f"pattern {error.instance!r}: {error.cause}"
    used = list(_keywords(schema))
    if any(keyword == "patternProperties" for _, keyword in used):
        for path, keyword in used:
            if keyword == "unevaluatedProperties":
                return path, (
                    "unevaluatedProperties together with patternProperties is not supported: its pattern "
                    "matching would run on a backtracking engine (use additionalProperties instead)"
                )
    return None


@lru_cache(maxsize=64)
def _schema_validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    _Re2Validator.check_schema(schema)
    problem = schema_regex_problem(schema)
    if problem is not None:
        raise SchemaError(problem[1])
    # No format checker: which formats get checked depends on optional packages, and a score must not
    # depend on what happens to be installed. "format" stays an annotation, as the spec's default.
    return _Re2Validator(schema)


# --------------------------------------------------------------------------------------------------
# The scorer
# --------------------------------------------------------------------------------------------------


def json_valid(output: str, *, schema: Mapping[str, Any] | None = None, strict: bool = False) -> ScoreResult:
    """Pass when the output holds JSON and, if a schema is given, the JSON is valid against it.

    See the module docstring for what counts as the output's JSON. ``NaN`` and ``Infinity`` fail.

    Args:
        output: The model's text.
        schema: A JSON Schema (Draft 2020-12); ``None`` checks only that the output parses.
        strict: Accept only a whole output that is JSON, or that is one fenced block.

    Returns:
        Score 1.0 if valid, else 0.0 with the parse error or the path of the (most relevant) schema error,
        e.g. ``$.items[0].price``.

    Raises:
        jsonschema.exceptions.SchemaError: If the schema itself is invalid, or its patterns cannot run on
            RE2 (a configuration error, refused when the config is validated).
    """
    text, where, bodies = _candidates(output, strict=strict)
    document, error = _parse(text)
    if error is not None:
        if len(bodies) > 1:
            return verdict(False, f"{len(bodies)} fenced JSON blocks: which one is the answer is ambiguous")
        if not bodies:
            return verdict(False, f"not valid JSON: {error}")
        document, error = _parse(bodies[0])
        if error is not None:
            return verdict(False, f"not valid JSON{where}: {error}")
    else:
        where = ""
    if schema is None:
        return verdict(True, f"valid JSON ({_JSON_TYPE_NAMES[type(document)]}){where}")
    # Keyed by canonical JSON text: the schema itself is unhashable and the caller may mutate it later.
    validator = _schema_validator(json.dumps(schema, sort_keys=True, default=dict))
    found = best_match(validator.iter_errors(document))
    if found is None:
        return verdict(True, f"valid JSON matching the schema{where}")
    message = found.message if len(found.message) <= 160 else found.message[:160] + "..."
    return verdict(False, f"schema violation at {found.json_path}{where}: {message}")


def _schema_problems(options: JsonValidOptions) -> Iterator[OptionProblem]:
    # Checked before any model call: a broken schema would otherwise fail only when the first paid
    # answer is scored.
    if options.json_schema is None:
        return
    found = json_schema_problem(options.json_schema) or schema_regex_problem(options.json_schema)
    if found is not None:
        where, message = found
        yield ("json_schema", *where), message


@register_scorer(
    name="json_valid",
    # 2: one fenced block with prose around it is accepted (strict: true keeps the old rule); schema
    # patterns run on RE2.
    version="2",
    options=JsonValidOptions,
    needs_reference=False,
    check_options=_schema_problems,
)
def _json_valid(output: str, references: References, options: JsonValidOptions) -> ScoreResult:
    """The output holds JSON (optionally matching json_schema); one fenced block amid prose is accepted."""
    return json_valid(output, schema=options.json_schema, strict=options.strict)
