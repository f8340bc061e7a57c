"""numeric_match: reading numbers out of text (separators, signs, decimal commas) and comparing them."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, strategies as st

from eval_assets.scoring.scorers.numeric import extract_numbers, numeric_match


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
    ("text", "expected"),
    [
        # Issue 8 item 21: SI-style spaces between groups of three are one number (it was read as 1, 0, 0).
        ("Population: 1 000 000", (1_000_000.0,)),
        # No-break, thin and narrow no-break spaces (typeset French, SI) are spaces after NFKC.
        ("1\u00a0000\u00a0000", (1_000_000.0,)),
        ("1\u2009000\u2009000", (1_000_000.0,)),
        ("1\u202f234\u202f567", (1_234_567.0,)),
        # Swiss apostrophes, straight or typographic.
        ("CHF 1'000'000", (1_000_000.0,)),
        ("1\u2019250", (1250.0,)),
        # Indian grouping: lakh and crore.
        ("\u20b912,34,567", (1_234_567.0,)),
        # Dots as thousands separators: two dot groups, or one followed by a decimal comma.
        ("1.000.000", (1_000_000.0,)),
        ("1.234,56 \u20ac", (1234.56,)),
        ("1 234,56", (1234.56,)),
        ("1 234.5", (1234.5,)),
        # Decimal commas: one or two digits after the comma, or a zero before it.
        ("3,5 kg", (3.5,)),
        ("12,50 \u20ac", (12.5,)),
        ("0,125", (0.125,)),
        # Judgement call, the English reading: one comma before exactly three digits groups thousands ...
        ("1,125", (1125.0,)),
        # ... and one dot before exactly three digits is a decimal point.
        ("1.000", (1.0,)),
        # A group of four digits after a space is another number: years, not thousands.
        ("2024 100", (2024.0, 100.0)),
        # Groups of two after a space are not thousands either.
        ("5 10 15", (5.0, 10.0, 15.0)),
        # Known price of the space rule: space-separated groups of three read as one number.
        ("100 200 300", (100_200_300.0,)),
        # A comma list with spaces stays a list, and the sign applies to the grouped whole.
        ("5, 10, 15", (5.0, 10.0, 15.0)),
        ("-1 000", (-1000.0,)),
        ("\u22121 000,5", (-1000.5,)),
        # A leading zero is not a thousands group ("0 123" is two numbers).
        ("0 123", (0.0, 123.0)),
        # Mixed separators in one number are not grouping: "1,000 000" is 1000 and 0.
        ("1,000 000", (1000.0, 0.0)),
        # Units glued on after groups still work.
        ("1 000kg", (1000.0,)),
    ],
)
def test_extract_numbers_thousands_separators_and_decimal_commas(text: str, expected: tuple[float, ...]) -> None:
    assert extract_numbers(text) == expected


def test_extract_numbers_stays_fast_on_a_long_run_of_groups() -> None:
    # A grouped number is never started inside another one's groups, so a long run is not re-read from
    # every group (quadratic): it stays fast on a hostile output.
    text = "1" + ",000" * 5_000 + "5"
    started = time.perf_counter()
    extract_numbers(text)
    assert time.perf_counter() - started < 0.5


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
        # Issue 8 item 21: the population was read as its last group, 0.
        ("Population: 1 000 000", ("1000000",), True),
        ("Population: 1 000 000", ("1,000,000",), True),
        # A European price against an English reference.
        ("Der Preis betr\u00e4gt 4,99 \u20ac.", ("$4.99",), True),
        # Space-grouped prices, European style.
        ("It costs 1 299 \u20ac", ("1299",), True),
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
