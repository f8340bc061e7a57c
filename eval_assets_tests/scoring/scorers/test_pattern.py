"""regex_match: RE2 patterns from the config, and references as literal text or as patterns."""

from __future__ import annotations

import re
import time

import pytest
from pydantic import ValidationError

from eval_assets.scoring.patterns import PatternError
from eval_assets.scoring.registry import ScorerSpec, scorer_named
from eval_assets.scoring.results import ScoreResult
from eval_assets.scoring.scorers.pattern import regex_match


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
# Without `pattern`: the example's references, as literal text unless reference_is_pattern
# --------------------------------------------------------------------------------------------------


def configured(**options: object) -> ScorerSpec:
    return scorer_named("regex_match").spec_model.model_validate({"scorer": "regex_match", **options})


def score(output: str, references: tuple[str, ...], **options: object) -> ScoreResult:
    spec = configured(**options)
    entry = scorer_named("regex_match")
    assert entry.score is not None
    return entry.score(output, references, spec)


@pytest.mark.parametrize(
    ("output", "references", "passed", "detail"),
    [
        # Issue 8 item 21: "$4.99" is a price, not "end of line, 4, any character, 99".
        ("Basic costs $4.99 a month.", ("$4.99",), True, "found literal '$4.99' at offset 12"),
        # As a regex it would also have matched "4x99"; as literal text it does not.
        ("Basic costs 4x99.", ("$4.99",), False, "none of 1 reference occurs literally in the output"),
        # Other regex syntax in a reference is just characters too.
        ("Use (a|b) here", ("(a|b)",), True, "found literal '(a|b)' at offset 4"),
        ("Use a here", ("(a|b)",), False, "none of 1 reference occurs literally in the output"),
        # Literal means exact: case and spacing matter (use contains for lenient matching).
        ("basic costs $4.99", ("Basic",), False, "none of 1 reference occurs literally in the output"),
        # Any reference will do; an empty one would occur in every output and is ignored.
        ("PCL123", ("PCR", "PCL"), True, "found literal 'PCL' at offset 0"),
        ("anything", ("",), False, "no non-empty reference to look for"),
    ],
)
def test_references_are_literal_text_by_default(
    output: str, references: tuple[str, ...], passed: bool, detail: str
) -> None:
    result = score(output, references)
    assert (result.passed, result.detail) == (passed, detail)


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        # reference_is_pattern: true opts in to per-example patterns.
        ("Order PCL-2041 shipped", (r"PCL-\d{4}",), True),
        ("Order PCL-20 shipped", (r"PCL-\d{4}",), False),
        ("Basic costs 4x99.", ("4.99",), True),
        # Each reference is tried in turn.
        ("yes", ("^no$", "^yes$"), True),
    ],
)
def test_references_as_patterns_when_the_config_says_so(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert score(output, references, reference_is_pattern=True).passed is passed


def test_pattern_from_the_config_ignores_the_references() -> None:
    assert score("Answer: B", ("A",), pattern=r"Answer:\s*B\b").passed
    # Without a pattern the scorer needs references; with one it does not.
    entry = scorer_named("regex_match")
    assert entry.requires_reference(configured()) and not entry.requires_reference(configured(pattern="x"))


def test_reference_is_pattern_beside_pattern_is_refused() -> None:
    with pytest.raises(ValidationError, match="only applies without 'pattern'"):
        configured(pattern="x", reference_is_pattern=True)


def test_reference_patterns_re2_cannot_compile_are_dataset_problems() -> None:
    entry = scorer_named("regex_match")
    bad = entry.reference_problems(configured(reference_is_pattern=True), ("ok", "(?<!a)b"))
    assert [position for position, _ in bad] == [1] and "lookaround" in bad[0][1]
    # As literal text nothing is compiled, so nothing can be wrong with it.
    assert entry.reference_problems(configured(), ("(?<!a)b",)) == []
