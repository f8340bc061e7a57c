"""exact_match and contains: tables of tricky cases, each with the reason it is tricky."""

from __future__ import annotations

import pytest

from eval_assets.scoring.results import ScoreResult
from eval_assets.scoring.scorers.match import contains, exact_match


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
