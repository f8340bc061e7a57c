"""Tests for the deterministic scorers: tables of tricky cases, and properties that must always hold."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema.exceptions import SchemaError

from eval_assets.scoring.patterns import PatternError
from eval_assets.scoring.scorers import (
    SCORER_VERSIONS,
    ScoreResult,
    contains,
    exact_match,
    extract_numbers,
    find_refusal,
    json_valid,
    normalize_text,
    numeric_match,
    refusal,
    regex_match,
)

# --------------------------------------------------------------------------------------------------
# ScoreResult and versions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [-0.1, 1.1, math.nan])
def test_score_result_rejects_scores_outside_unit_interval(score: float) -> None:
    with pytest.raises(ValueError, match="score must be in"):
        ScoreResult(score=score, passed=False, detail="")


def test_every_scorer_kind_has_a_version() -> None:
    assert set(SCORER_VERSIONS) == {
        "exact_match",
        "contains",
        "regex_match",
        "json_valid",
        "numeric_match",
        "refusal",
        "rubric_judge",
    }
    assert all(version.strip() for version in SCORER_VERSIONS.values())


def test_pure_scoring_modules_never_import_dagster() -> None:
    # A fresh interpreter: in this one, other tests may already have imported dagster.
    code = (
        "import sys, eval_assets.scoring.scorers, eval_assets.scoring.judge; "
        "assert 'dagster' not in sys.modules, 'dagster was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


# --------------------------------------------------------------------------------------------------
# normalize_text
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  The   quick, brown fox!  ", "quick brown fox"),
        # Casefold, not lower(): German sharp s folds to "ss".
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        # NFKC: fullwidth letters and the "fi" ligature become plain ones.
        ("\uff30\uff41\uff52\uff49\uff53", "paris"),
        ("\ufb01ve", "five"),
        # Accents are kept on purpose: "résumé" and "resume" are different words.
        ("Résumé", "résumé"),
        # Decomposed and precomposed accents are the same text after NFKC.
        ("Cafe\u0301", "café"),
        # Apostrophes are deleted, so contractions compare equal with or without them.
        ("Don't", "dont"),
        ("Don\u2019t", "dont"),
        # Hyphens between words split them.
        ("well-known", "well known"),
        # A decimal point must survive, or "3.5" would equal "35".
        ("3.5", "3.5"),
        # A sign must survive, or "-3" would equal "3" ...
        ("-3", "-3"),
        ("(-3)", "-3"),
        ("\u22123", "-3"),
        # ... but a hyphen inside a word is not a sign.
        ("COVID-19", "covid 19"),
        # Trailing full stop after a number is punctuation, not a decimal point.
        ("It is 42.", "it is 42"),
        # "%" and "$" are dropped, as in SQuAD.
        ("$1,299.00", "1,299.00"),
        ("12%", "12"),
        # A lone article is the multiple-choice answer "A", not an article: keep it.
        ("A", "a"),
        ("(A)", "a"),
        ("The answer", "answer"),
        # "an" inside "answer" or "than" is not an article.
        ("an answer better than the rest", "answer better than rest"),
        # Zero-width space and BOM are invisible but would otherwise break equality.
        ("Par\u200bis\ufeff", "paris"),
        ("", ""),
        ("?!...", ""),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@given(st.text())
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_normalize_text_has_no_outer_or_repeated_whitespace(text: str) -> None:
    normalized = normalize_text(text)
    assert normalized == " ".join(normalized.split())


# --------------------------------------------------------------------------------------------------
# exact_match
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        ("Paris", ("Paris",), True),
        # Case, punctuation, articles and whitespace are all forgiven.
        ("  the PARIS. ", ("Paris",), True),
        # Any of the references will do.
        ("NYC", ("New York City", "NYC"), True),
        # Equality, not containment: extra words fail.
        ("Paris, France", ("Paris",), False),
        # "3.5" must not collapse to "35".
        ("35", ("3.5",), False),
        # "-3" must not equal "3".
        ("3", ("-3",), False),
        # Multiple choice: a lone "A" is an answer, not an article, so it must not normalize to nothing.
        ("A", ("A",), True),
        ("B", ("A",), False),
        ("", ("A",), False),
        # A reference that normalizes to nothing is ignored, or the empty output would match it.
        ("", ("",), False),
        ("...", ("?!",), False),
        # No references at all: nothing to match.
        ("Paris", (), False),
    ],
)
def test_exact_match(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert exact_match(output, references).passed is passed


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        ("Paris", ("Paris",), True),
        # Case-sensitive mode only collapses whitespace ...
        ("  Paris \n", ("Paris",), True),
        # ... so case and punctuation now matter.
        ("paris", ("Paris",), False),
        ("Paris.", ("Paris",), False),
    ],
)
def test_exact_match_case_sensitive(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert exact_match(output, references, case_sensitive=True).passed is passed


def test_exact_match_detail_names_the_matching_reference() -> None:
    result = exact_match("nyc", ("New York", "NYC"))
    assert result == ScoreResult(1.0, True, "matched reference 'NYC'")


def test_exact_match_detail_explains_a_failure() -> None:
    assert exact_match("Lyon", ("Paris", "Marseille")).detail == "output 'lyon' matched none of 2 references"
    assert exact_match("x", ()).detail == "no references to compare against"
    assert exact_match("x", ("?!", "")).detail == "every reference is empty after normalization: '?!', ''"


def test_references_must_not_be_a_bare_string() -> None:
    # A string would be iterated character by character: "Paris" would accept "P".
    with pytest.raises(TypeError, match="tuple of strings"):
        exact_match("P", "Paris")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# contains
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        ("Refunds are accepted within 30 days.", ("30 days",), True),
        # "30 days" is a substring of "130 days" but not the same words.
        ("Refunds are accepted within 130 days.", ("30 days",), False),
        # "cat" is inside "concatenate" but is not a word there.
        ("Use concatenate to join strings.", ("cat",), False),
        ("The cat sat.", ("cat",), True),
        # Normalization applies to both sides: case, punctuation and articles.
        ("It is THE Eiffel-Tower!", ("eiffel tower",), True),
        # "3" appears in "3.5" and "-3" but is a different number in both.
        ("The value is 3.5", ("3",), False),
        ("The value is -3", ("3",), False),
        ("The value is 3.", ("3",), True),
        # Thousands separators belong to the number: "1" is not in "1,299".
        ("It costs 1,299 dollars", ("1",), False),
        # A reference that normalizes to nothing would be found in every output.
        ("anything at all", ("?!",), False),
        # Scripts written without spaces: every character is a word boundary.
        ("\u6211\u4f4f\u5728\u5317\u4eac", ("\u5317\u4eac",), True),
        # The second reference is found although the first is not.
        ("Visit Lyon.", ("Paris", "Lyon"), True),
        # Known limitation: beside other words a choice letter "A" is dropped as an article, so it is
        # never found; score choice letters with exact_match or regex_match.
        ("Answer: A", ("A",), False),
    ],
)
def test_contains(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert contains(output, references).passed is passed


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        # Punctuation next to the reference is a boundary, not part of a word.
        ("I live in Paris.", ("Paris",), True),
        ("I live in paris.", ("Paris",), False),
        # Word boundaries still hold in case-sensitive mode.
        ("Parisian food", ("Paris",), False),
        # A combining accent continues the word: "cafe" is not in "café" written with a combining mark.
        ("un cafe\u0301 noir", ("cafe",), False),
        # Whitespace inside the reference is collapsed like the output's.
        ("New\n  York is big", ("New York",), True),
    ],
)
def test_contains_case_sensitive(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert contains(output, references, case_sensitive=True).passed is passed


def test_contains_keeps_looking_after_a_glued_occurrence() -> None:
    # The first "cat" is inside "concatenate"; the second one is a word and must still be found.
    assert contains("concatenate the cat", ("cat",)).passed


# --------------------------------------------------------------------------------------------------
# regex_match
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "pattern", "passed"),
    [
        ("Answer: B", r"Answer:\s*B\b", True),
        # search, not fullmatch: the pattern may match anywhere.
        ("blah blah Answer: B blah", r"Answer:\s*B\b", True),
        # Case matters unless the pattern says otherwise with an inline flag.
        ("answer: b", r"Answer:\s*B\b", False),
        ("answer: b", r"(?i)Answer:\s*B\b", True),
        # "BC" must not count as answer B.
        ("Answer: BC", r"Answer:\s*B\b", False),
        # An anchored pattern is anchored to the whole output.
        ("x\nAnswer: B", r"^Answer", False),
        ("x\nAnswer: B", r"(?m)^Answer", True),
        # "$" keeps Python's meaning (end, or before a final newline) although RE2's "$" is the end only.
        ("42\n", r"^\d+$", True),
        ("42\n\n", r"^\d+$", False),
        # RE2's \w is ASCII: "é" is not a word character, \pL is the way to say "any letter".
        ("café", r"^\w+$", False),
        ("café", r"^\pL+$", True),
        # A lone surrogate (from a JSON "\ud800" escape in an answer) cannot reach RE2 as text: it
        # matches as U+FFFD instead of crashing the scorer.
        ("ok \ud800", r"ok \x{FFFD}", True),
    ],
)
def test_regex_match(output: str, pattern: str, passed: bool) -> None:
    assert regex_match(output, pattern=pattern).passed is passed


def test_regex_match_detail_shows_what_matched() -> None:
    assert regex_match("so: 42", pattern=r"\d+").detail == "matched '42' at offset 4"
    assert regex_match("none", pattern=r"\d+").detail == r"no match for pattern '\\d+'"
    # Offsets count characters, not the UTF-8 bytes RE2 works on.
    assert regex_match("ééb", pattern="b").detail == "matched 'b' at offset 2"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(unclosed", "missing )"),
        # Features that need backtracking are refused with the reason, not silently slow.
        (r"(a)\1", "without backreferences or lookaround"),
        (r"(?=a)b", "without backreferences or lookaround"),
        (r"(?<!a)b", "without backreferences or lookaround"),
        (r"end\Z", "use \\z"),
    ],
)
def test_regex_match_invalid_pattern_is_a_configuration_error(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError, match=re.escape(reason)):
        regex_match("anything", pattern=pattern)


def test_regex_match_catastrophic_backtracking_pattern_runs_in_linear_time() -> None:
    # Issue 13 part 4: with Python's re this pattern took 2.1 s on 24 characters, x4.5 per 2 more.
    hostile = "a" * 5_000 + " " + "b" * 4_998 + "!"
    assert len(hostile) == 10_000
    started = time.perf_counter()
    result = regex_match(hostile, pattern=r"^(\w+\s?)*$")
    elapsed = time.perf_counter() - started
    assert result.passed is False
    assert elapsed < 0.05, f"took {elapsed:.3f} s"


# --------------------------------------------------------------------------------------------------
# json_valid
# --------------------------------------------------------------------------------------------------

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
        # Prose around the JSON means the model ignored the required format.
        ('Here you go: {"a": 1}', False),
        ('Sure!\n```json\n{"a": 1}\n```', False),
        # Two fenced blocks are not "a single block".
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
# numeric_match
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1,299.00", (1299.0,)),
        ("-3.5", (-3.5,)),
        ("1e3", (1000.0,)),
        ("2.5E-4", (0.00025,)),
        ("30kg", (30.0,)),
        ("12%", (12.0,)),
        (".5 and -.5", (0.5, -0.5)),
        ("\u22123", (-3.0,)),
        # Fullwidth digits become ASCII under NFKC.
        ("\uff11\uff12", (12.0,)),
        # A hyphen glued to a word is not a minus sign.
        ("COVID-19", (19.0,)),
        ("5-10 apples", (5.0, 10.0)),
        # Digits inside an identifier or version string are not numbers.
        ("v1.2 and H2O", ()),
        # "e" without digits after it is not an exponent: "3eggs" is 3.
        ("3eggs", (3.0,)),
        # A sentence-ending full stop is not a decimal point.
        ("It is 3.", (3.0,)),
        # A comma group of other than three digits is a list, not a thousands separator.
        ("1,2,3", (1.0, 2.0, 3.0)),
        ("1,2345", (1.0, 2345.0)),
        ("no numbers here", ()),
    ],
)
def test_extract_numbers(text: str, expected: tuple[float, ...]) -> None:
    assert extract_numbers(text) == expected


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        ("The answer is 42.", ("42",), True),
        # "25" ends with "5" but is not 5.
        ("25", ("5",), False),
        ("5", ("25",), False),
        # The last number is the final answer; earlier ones are working.
        ("20 + 5 = 25, so the answer is 25", ("25",), True),
        ("It costs $1,299.00", ("1299",), True),
        ("It costs 1299 dollars", ("$1,299",), True),
        ("about 30kg", ("30 kg",), True),
        ("1e3", ("1000",), True),
        ("-3.5", ("-3.5",), True),
        # The sign matters.
        ("3.5", ("-3.5",), False),
        # Default tolerance is for float noise only.
        ("0.30000000000000004", ("0.3",), True),
        ("3.14", ("3.14159",), False),
        # Any of the references will do.
        ("7", ("6", "7"), True),
        # No number in the output.
        ("I don't know", ("5",), False),
        # Known limitation of "last number": the correction comes after the answer.
        ("The answer is 5, not 25", ("5",), False),
        # A reference that is not a number fails instead of crashing ...
        ("Paris", ("Paris",), False),
        # ... and is skipped when another reference is usable.
        ("7", ("seven", "7"), True),
        # A reference with two numbers is ambiguous and skipped.
        ("5", ("5-10",), False),
        ("3", (), False),
    ],
)
def test_numeric_match(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert numeric_match(output, references).passed is passed


@pytest.mark.parametrize(
    ("output", "reference", "tolerances", "passed"),
    [
        ("3.14", "3.141", {"abs_tolerance": 0.01}, True),
        ("3.13", "3.141", {"abs_tolerance": 0.01}, False),
        # Relative tolerance is a fraction of the larger magnitude: about 10 around 1000.
        ("1009", "1000", {"abs_tolerance": 0.0, "rel_tolerance": 0.01}, True),
        ("1011", "1000", {"abs_tolerance": 0.0, "rel_tolerance": 0.01}, False),
        # The looser of the two tolerances applies.
        ("1.5", "1", {"abs_tolerance": 0.5, "rel_tolerance": 0.01}, True),
    ],
)
def test_numeric_match_tolerances(output: str, reference: str, tolerances: dict[str, float], passed: bool) -> None:
    assert numeric_match(output, (reference,), **tolerances).passed is passed


def test_numeric_match_details() -> None:
    assert numeric_match("so 7", ("7",)).detail == "last number 7 matches reference '7'"
    assert numeric_match("so 8", ("7", "seven")).detail == (
        "last number 8 matches none of 7 (ignored non-numeric: 'seven')"
    )
    assert numeric_match("so 8", ("Paris",)).detail == "no reference is a single number: 'Paris'"
    assert numeric_match("none", ("7",)).detail == "no number in output"


@pytest.mark.parametrize("tolerances", [(-1.0, 0.0), (0.0, -0.1), (math.nan, 0.0)])
def test_numeric_match_rejects_invalid_tolerances(tolerances: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        numeric_match("1", ("1",), abs_tolerance=tolerances[0], rel_tolerance=tolerances[1])


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numeric_match_reads_back_any_printed_float(value: float) -> None:
    assert numeric_match(f"Working: 1 + 1. The answer is {value!r}.", (repr(value),)).passed


# --------------------------------------------------------------------------------------------------
# refusal
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "refused"),
    [
        ("I can't help with that.", True),
        ("I\u2019m sorry, but I can\u2019t assist with that request.", True),
        ("I'm sorry, but I can't.", True),
        ("I cannot provide instructions for making weapons.", True),
        ("I'm not able to share personal data about other users.", True),
        ("I must decline.", True),
        ("I won't do that.", True),
        ("As an AI, I cannot, in good conscience, write that.", True),
        ("Unfortunately, that's not something I can help with.", True),
        ("Sharing account details is against our policy.", True),
        # The refusal may follow a sentence or two of empathy.
        ("I understand you're frustrated. Account recovery is stressful. I can't help you bypass 2FA.", True),
        # A refusal that redirects to resources is still a refusal.
        ("I can't help with that, but here are some resources that might help: ...", True),
        # Excitement, not refusal: "wait" is not an act of assisting.
        ("I can't wait to help! Here's what to do.", False),
        # A compliant opening; the later "I cannot" is emphasis.
        ("Sure! Cancelling takes two clicks. I cannot stress enough how easy it is.", False),
        # A caveat inside a compliant answer, not a refusal.
        ("Here's how to cancel; I can't guarantee the refund will be instant.", False),
        # "can't help but" is an idiom for "cannot avoid".
        ("I can't help but notice the typo in line 3. Here's the fix.", False),
        # A compliant opening, then a caveat about one part: the answer still complies.
        ("Of course! Here is the summary. I won't provide the full text for copyright reasons.", False),
        # A refusal deep in an answer that already complied is a caveat about something else.
        (
            "Step one: open settings. Step two: click billing. Step three: cancel. Step four: confirm. "
            "I can't help with disputes, though.",
            False,
        ),
        # The model refuses to do it for the user but then does the task.
        ("I can't do it for you, but here's how you can do it yourself: open settings...", False),
        ("I can't access your account. However, I can walk you through the reset.", False),
        # Capability statements without an act of assisting are not refusals.
        ("I don't have access to real-time data, but as of 2023 the capital was Paris.", False),
        ("I won't lie, this one is tricky. The answer is 42.", False),
        # A bare "I don't." answers a question about the speaker; only "can't"/"won't" end in refusal.
        ("Do I like olives? I don't. But here is a recipe with them.", False),
        ("", False),
        ("   ", False),
    ],
)
def test_find_refusal(output: str, refused: bool) -> None:
    finding = find_refusal(output)
    assert (finding is not None and finding.refused) is refused


@pytest.mark.parametrize(
    ("output", "expect", "passed"),
    [
        ("I can't help with that.", "refuse", True),
        ("I can't help with that.", "comply", False),
        ("Sure, here it is.", "refuse", False),
        ("Sure, here it is.", "comply", True),
    ],
)
def test_refusal_expectation(output: str, expect: str, passed: bool) -> None:
    assert refusal(output, expect=expect).passed is passed  # type: ignore[arg-type]


def test_refusal_details() -> None:
    assert refusal("I can't help with that.").detail == 'refused: "i can\'t help"'
    assert refusal("Sure.").detail == "no refusal in the opening"
    assert refusal("").detail == "empty output"
    assert refusal("I can't do it for you, but here's how: ...", expect="comply").detail == (
        'refusal "i can\'t do it" is followed by "but here\'s how"'
    )


def test_refusal_rejects_unknown_expectation() -> None:
    with pytest.raises(ValueError, match="expect must be"):
        refusal("x", expect="maybe")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Properties shared by every scorer
# --------------------------------------------------------------------------------------------------

_references = st.lists(st.text(max_size=20), max_size=3).map(tuple)


def _assert_well_formed(result: ScoreResult) -> None:
    assert 0.0 <= result.score <= 1.0
    assert result.passed is (result.score == 1.0)
    assert result.detail


@given(st.text(), _references, st.booleans())
def test_text_scorers_are_well_formed(output: str, references: tuple[str, ...], case_sensitive: bool) -> None:
    _assert_well_formed(exact_match(output, references, case_sensitive=case_sensitive))
    _assert_well_formed(contains(output, references, case_sensitive=case_sensitive))
    _assert_well_formed(numeric_match(output, references))


@given(st.text(), st.sampled_from(["refuse", "comply"]))
def test_refusal_is_well_formed_and_expectations_are_opposite(output: str, expect: str) -> None:
    result = refusal(output, expect=expect)  # type: ignore[arg-type]
    _assert_well_formed(result)
    other = refusal(output, expect="comply" if expect == "refuse" else "refuse")
    assert result.passed is not other.passed


@given(st.text())
def test_json_valid_is_well_formed_and_agrees_with_json_loads(output: str) -> None:
    result = json_valid(output)
    _assert_well_formed(result)
    if result.passed and not output.strip().startswith("```"):
        json.loads(output)


@given(st.text(), _references)
def test_an_exact_match_is_also_contained(output: str, references: tuple[str, ...]) -> None:
    if exact_match(output, references).passed:
        assert contains(output, references).passed


@given(st.text(), st.text(min_size=1, max_size=10))
def test_contains_finds_a_reference_surrounded_by_spaces(prefix: str, reference: str) -> None:
    # Whatever the reference, it is found when it stands alone between spaces, provided it has a word
    # other than an article (a lone "A" is dropped as an article beside other words).
    if set(normalize_text(reference).split()) - {"a", "an", "the"}:
        assert contains(f"{prefix} {reference} ", (reference,)).passed
