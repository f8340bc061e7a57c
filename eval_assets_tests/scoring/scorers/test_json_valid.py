"""json_valid: what counts as the output's JSON, schemas, and schema patterns on RE2."""

from __future__ import annotations

import json
import time
from types import MappingProxyType

import pytest
from jsonschema.exceptions import SchemaError

from eval_assets.scoring.scorers.json_valid import json_valid, schema_regex_problem

PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("output", "passed"),
    [
        ('{"a": 1}', True),
        ("  \n[1, 2, 3]\n  ", True),
        # Scalars are JSON documents too.
        ("42", True),
        ('"text"', True),
        ('```json\n{"a": 1}\n```', True),
        # A bare fence (no language) and an upper-case language tag are common too.
        ('```\n{"a": 1}\n```', True),
        ('```JSON\n{"a": 1}\n```', True),
        ('  ```json\n{"a": 1}\n```  \n', True),
        # JSON inside prose without a fence: where it starts and ends would be a guess.
        ('Here you go: {"a": 1}', False),
        # Issue 8 item 21: one fenced block with a lead-in is what models write when asked for JSON
        # (this was refused, and still is with strict: true, below).
        ('Sure!\n```json\n{"a": 1}\n```', True),
        # Two fenced blocks are not "a single block": which one is the answer is ambiguous.
        ('```json\n{"a": 1}\n```\n```json\n{"b": 2}\n```', False),
        # Python literals, single quotes and trailing commas are not JSON.
        ("{'a': 1}", False),
        ('{"a": 1,}', False),
        ('{"a": True}', False),
        # Python's json module accepts NaN and Infinity, but they are not JSON.
        ('{"a": NaN}', False),
        ("[Infinity]", False),
        ("", False),
        # Nesting deeper than the parser can follow is invalid, not a crash.
        ("[" * 100_000 + "]" * 100_000, False),
        # An integer longer than Python's conversion limit is invalid, not a crash.
        ("1" * 5_000, False),
    ],
)
def test_json_valid(output: str, passed: bool) -> None:
    assert json_valid(output).passed is passed


@pytest.mark.parametrize(
    ("output", "passed", "detail"),
    [
        # Issue 8 item 21: the case found by hand. The detail says where the JSON was found.
        (
            'Here is the JSON:\n```json\n{"a": 1}\n```',
            True,
            "valid JSON (object) in the fenced block",
        ),
        # Prose after the block is as harmless as prose before it.
        (
            "Here it is:\n```json\n[1, 2]\n```\nLet me know if you need more.",
            True,
            "valid JSON (array) in the fenced block",
        ),
        # A block tagged json wins over an untagged one (often a shell command or an example).
        (
            'Run:\n```\ncurl -s x\n```\nYou get:\n```json\n{"ok": true}\n```',
            True,
            "valid JSON (object) in the fenced block",
        ),
        # Two untagged blocks and no tagged one: ambiguous.
        ("```\n1\n```\nor\n```\n2\n```", False, "2 fenced JSON blocks: which one is the answer is ambiguous"),
        # A block in another language is not JSON, even if it would parse.
        ('Code:\n```python\n{"a": 1}\n```', False, "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        # The block's own content must be JSON; the error is the block's.
        (
            "Here:\n```json\n{'a': 1}\n```",
            False,
            "not valid JSON in the fenced block: Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        # An answer cut off at max_tokens leaves the fence open: that is not a block.
        ('Here:\n```json\n{"a": 1}', False, "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        # One-line fences happen too.
        ('```json {"a": 1}```', True, "valid JSON (object)"),
        # A fence opens at the start of a line (as in Markdown); mid-line backticks are not a block.
        ('Result: ```{"a": 1}```', False, "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        # Fences indented inside a list item still count; their body keeps its own indentation.
        ('1. The payload:\n   ```json\n   {"a": 1}\n   ```', True, "valid JSON (object) in the fenced block"),
        # Bare JSON that parses wins before any fence logic: a string holding ``` is still just JSON.
        ('"```"', True, "valid JSON (string)"),
    ],
)
def test_json_valid_finds_the_one_fenced_block_amid_prose(output: str, passed: bool, detail: str) -> None:
    result = json_valid(output)
    assert (result.passed, result.detail) == (passed, detail)


@pytest.mark.parametrize(
    ("output", "passed"),
    [
        # strict keeps the old rule: the whole output is JSON, or the whole output is one fenced block.
        ('{"a": 1}', True),
        ('  ```json\n{"a": 1}\n```  \n', True),
        ('```\n{"a": 1}\n```', True),
        ('Sure!\n```json\n{"a": 1}\n```', False),
        ('```json\n{"a": 1}\n```\nDone.', False),
        ('```python\n{"a": 1}\n```', False),
        ('```json\n{"a": 1}\n```\n```json\n{"b": 2}\n```', False),
    ],
)
def test_json_valid_strict(output: str, passed: bool) -> None:
    assert json_valid(output, strict=True).passed is passed


@pytest.mark.parametrize(
    ("output", "passed", "detail"),
    [
        ('{"name": "Ada", "age": 36}', True, "valid JSON matching the schema"),
        ('{"name": "Ada", "age": "36"}', False, "schema violation at $.age: '36' is not of type 'integer'"),
        ('{"name": "Ada", "age": -1}', False, "schema violation at $.age: -1 is less than the minimum of 0"),
        # The path reaches into arrays.
        (
            '{"name": "Ada", "age": 1, "tags": ["x", 2]}',
            False,
            "schema violation at $.tags[1]: 2 is not of type 'string'",
        ),
        # A missing property is reported at the object that should hold it.
        ('{"name": "Ada"}', False, "schema violation at $: 'age' is a required property"),
        # Valid JSON of the wrong shape is still a schema failure, not a parse failure.
        ("[]", False, "schema violation at $: [] is not of type 'object'"),
    ],
)
def test_json_valid_with_schema(output: str, passed: bool, detail: str) -> None:
    result = json_valid(output, schema=PERSON_SCHEMA)
    assert (result.passed, result.detail) == (passed, detail)


def test_json_valid_detail_names_the_json_type() -> None:
    assert json_valid("[1]").detail == "valid JSON (array)"
    assert json_valid("null").detail == "valid JSON (null)"


def test_json_valid_accepts_any_mapping_as_schema() -> None:
    # Config layers may hand over read-only mappings; json.dumps alone only serializes dicts.
    schema = MappingProxyType({"type": "object", "properties": MappingProxyType({"a": {"type": "integer"}})})
    assert json_valid('{"a": 1}', schema=schema).passed
    assert not json_valid('{"a": "1"}', schema=schema).passed


def test_json_valid_detail_explains_parse_errors() -> None:
    assert json_valid('{"a": }').detail.startswith("not valid JSON: Expecting value: line 1 column 7")
    assert json_valid('{"a": NaN}').detail == "not valid JSON: NaN is not valid JSON"


def test_json_valid_does_not_check_formats() -> None:
    # "format" is an annotation by default in Draft 2020-12; checking it would make scores depend on
    # which optional format-checking packages happen to be installed.
    assert json_valid('"not an email"', schema={"type": "string", "format": "email"}).passed


def test_json_valid_invalid_schema_is_a_configuration_error() -> None:
    with pytest.raises(SchemaError):
        json_valid("{}", schema={"type": "no-such-type"})


# --------------------------------------------------------------------------------------------------
# Schema patterns run on RE2 (the open ReDoS hole of issue 8 item 22)
# --------------------------------------------------------------------------------------------------

# With Python's re, "^(a+)+$" takes about 2 s on 24 characters and doubles with each one more (so a
# regression fails in seconds here instead of hanging); RE2 answers in linear time.
CATASTROPHIC = "^(a+)+$"
HOSTILE = "a" * 25 + "!"


@pytest.mark.parametrize(
    ("schema", "document", "passed"),
    [
        ({"type": "string", "pattern": CATASTROPHIC}, HOSTILE, False),
        # The hostile key matches no pattern, so no subschema applies: valid, but decided quickly.
        ({"type": "object", "patternProperties": {CATASTROPHIC: {"type": "integer"}}}, {HOSTILE: "x"}, True),
        # additionalProperties consults the patternProperties too (jsonschema uses re.search there).
        (
            {"type": "object", "patternProperties": {CATASTROPHIC: {}}, "additionalProperties": False},
            {HOSTILE: 1},
            False,
        ),
        # propertyNames applies "pattern" to every key.
        ({"type": "object", "propertyNames": {"pattern": CATASTROPHIC}}, {HOSTILE: 1}, False),
    ],
)
def test_a_catastrophic_schema_pattern_scores_in_milliseconds(
    schema: dict[str, object], document: object, passed: bool
) -> None:
    json_valid("0", schema=schema)  # compile the validator outside the timed call
    started = time.perf_counter()
    result = json_valid(json.dumps(document), schema=schema)
    elapsed = time.perf_counter() - started
    assert result.passed is passed
    assert elapsed < 0.05, f"took {elapsed:.3f} s"


@pytest.mark.parametrize(
    ("document", "passed", "detail"),
    [
        ({"sku": "AB-12"}, True, "valid JSON matching the schema"),
        ({"sku": "ab-12"}, False, "schema violation at $.sku: 'ab-12' does not match '^[A-Z]{2}-\\\\d+$'"),
        # A key matching a patternProperties pattern is validated by its schema ...
        ({"sku": "AB-1", "x-count": "3"}, False, "schema violation at $['x-count']: '3' is not of type 'integer'"),
        ({"sku": "AB-1", "x-count": 3}, True, "valid JSON matching the schema"),
        # ... and any other key is an additional property, refused.
        (
            {"sku": "AB-1", "color": "red"},
            False,
            "schema violation at $: 'color' does not match any of the regexes: '^x-'",
        ),
    ],
)
def test_re2_schema_keywords_keep_jsonschema_semantics(document: object, passed: bool, detail: str) -> None:
    schema = {
        "type": "object",
        "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{2}-\\d+$"}},
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
    }
    result = json_valid(json.dumps(document), schema=schema)
    assert (result.passed, result.detail) == (passed, detail)


@pytest.mark.parametrize(
    ("schema", "where", "reason"),
    [
        ({"type": "string", "pattern": "(a)\\1"}, ("pattern",), "not a valid RE2 regular expression"),
        ({"properties": {"a": {"pattern": "(?=x)"}}}, ("properties", "a", "pattern"), "(?="),
        ({"patternProperties": {"(?<!x)y": {}}}, ("patternProperties",), "(?<!"),
        # unevaluatedProperties matches patternProperties deep inside jsonschema, with Python's re.
        (
            {"patternProperties": {"^a": {}}, "unevaluatedProperties": False},
            ("unevaluatedProperties",),
            "not supported",
        ),
        (
            {"allOf": [{"patternProperties": {"^a": {}}}], "properties": {"b": {"unevaluatedProperties": False}}},
            ("properties", "b", "unevaluatedProperties"),
            "not supported",
        ),
    ],
)
def test_schema_patterns_re2_cannot_run_are_configuration_errors(
    schema: dict[str, object], where: tuple[str, ...], reason: str
) -> None:
    found = schema_regex_problem(schema)
    assert found is not None and found[0] == where and reason in found[1], found
    with pytest.raises(SchemaError):
        json_valid("{}", schema=schema)


def test_a_property_named_like_a_keyword_is_not_a_keyword() -> None:
    # "properties" maps names to schemas: a property called "unevaluatedProperties" is just a name.
    schema = {"patternProperties": {"^a": {}}, "properties": {"unevaluatedProperties": {"type": "string"}}}
    assert schema_regex_problem(schema) is None
    assert json_valid('{"unevaluatedProperties": "x"}', schema=schema).passed
