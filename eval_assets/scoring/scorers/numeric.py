"""``numeric_match``: the last number in the output against the reference's number, within tolerance.

How numbers are read (:func:`extract_numbers`), including the judgement calls:

* Thousands separators join digit groups when every group after the first has exactly three digits and
  the first has one to three (no leading zero): ``1,299`` ``1 000 000`` (a space, no-break space, thin
  or narrow no-break space), ``1'000'000`` (apostrophe, also U+2019), ``1.000.000`` (two or more dot
  groups), and Indian grouping ``12,34,567``. The separator is the same throughout one number.
  Consequence: ``100 200 300`` reads as one number (write lists with ", ").
* Decimal point ``3.5``; decimal comma ``3,5`` and ``12,50`` (one or two digits after the comma),
  ``0,125`` (a zero before the comma), and after dot or space groups: ``1.234,56`` ``1 234,56``.
  A single comma before exactly three digits is a thousands separator (``1,125`` is 1125), and a single
  dot before three digits is a decimal point (``1.000`` is 1.0): the English reading.
* A comma between numbers that do not fit those shapes is a list: ``1,2,3`` and ``1,2345``.
* Signs (also U+2212), exponents (``1e3``) and units or symbols glued on (``30kg``, ``12%``, ``$5``);
  a hyphen inside a word is not a sign (``COVID-19`` is 19, ``5-10`` is 5 and 10). Fractions (``1/2``)
  and number words ("seven") are not understood.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator

from pydantic import Field

from eval_assets.scoring.registry import ReferenceProblem, ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult, check_references, preview, verdict


class NumericMatchOptions(ScorerOptions):
    """Options of ``numeric_match``."""

    abs_tolerance: float = Field(default=1e-9, ge=0, description="Largest accepted absolute difference.")
    rel_tolerance: float = Field(
        default=0.0, ge=0, le=1.0, description="Largest accepted difference relative to the larger magnitude."
    )


# Grouped integers (the same separator throughout), each with the decimal separators it allows. A group
# never starts right after "<digit><separator>": that is the middle of a longer grouped number.
_GROUPED = {
    "comma": (r"[1-9][0-9]{0,2}(?:,[0-9]{3})+", r"\."),
    "lakh": (r"[1-9][0-9]?(?:,[0-9]{2})+,[0-9]{3}", r"\."),
    "dots": (r"[1-9][0-9]{0,2}(?:\.[0-9]{3}){2,}", ","),
    "dot": (r"[1-9][0-9]{0,2}\.[0-9]{3}(?=,[0-9])", ","),  # 1.234,56: one dot group needs a decimal comma
    "space": (r"[1-9][0-9]{0,2}(?:\ [0-9]{3})+", "[.,]"),
    "apostrophe": (r"[1-9][0-9]{0,2}(?:'[0-9]{3})+", "[.,]"),
}
_ALTERNATIVES = [
    rf"(?<![0-9][,.'\ ])(?P<{name}_int>{integer})(?![0-9])(?:{decimal}(?P<{name}_frac>[0-9]+))?"
    for name, (integer, decimal) in _GROUPED.items()
] + [
    # Decimal commas without groups: "3,5" and "12,50", or "0,125"; never inside a list ("1,2,3").
    r"(?<![0-9],)(?P<dcomma_int>[0-9]+),(?P<dcomma_frac>[0-9]{1,2})(?![0-9]|,[0-9])",
    r"(?<![0-9],)(?P<zero_int>0),(?P<zero_frac>[0-9]+)(?![0-9]|,[0-9])",
    r"(?P<plain_int>[0-9]+)(?:\.(?P<plain_frac>[0-9]+))?",
    r"\.(?P<point_frac>[0-9]+)",
]
_NUMBER = re.compile(
    r"(?<![\w.])"  # not the middle of a word ("v2") or of a decimal
    r"(?P<sign>[-+](?=\.?[0-9]))?"  # a sign directly before the digits
    r"(?:" + "|".join(_ALTERNATIVES) + r")"
    r"(?P<exponent>[eE][-+]?[0-9]+)?"  # 1e3, 2.5E-4
)
_FORMS = [*_GROUPED, "dcomma", "zero", "plain", "point"]
# Separators NFKC leaves alone that mean the same as their plain forms here.
_SEPARATOR_FORMS = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2212": "-"})


def extract_numbers(text: str) -> tuple[float, ...]:
    """Find the numbers in text, in order of appearance (the reading rules are in the module docstring).

    Args:
        text: Any text; NFKC-normalized first, so fullwidth digits count and no-break and thin spaces
            become plain spaces.

    Returns:
        The values as floats; magnitudes beyond float range become ``inf``.
    """
    text = unicodedata.normalize("NFKC", text).translate(_SEPARATOR_FORMS)
    values = []
    for match in _NUMBER.finditer(text):
        form = next(name for name in _FORMS if match[f"{name}_frac" if name == "point" else f"{name}_int"] is not None)
        integer = "" if form == "point" else re.sub("[^0-9]", "", match[f"{form}_int"])
        fraction = match[f"{form}_frac"] or ""
        literal = f"{match['sign'] or ''}{integer or '0'}{'.' + fraction if fraction else ''}{match['exponent'] or ''}"
        values.append(float(literal))
    return tuple(values)


def numeric_match(
    output: str,
    references: References,
    *,
    abs_tolerance: float = 1e-9,
    rel_tolerance: float = 0.0,
) -> ScoreResult:
    """Pass when the last number in the output equals a reference number within tolerance.

    The *last* number is compared because models show their working and state the final answer last
    ("20 + 5 = 25, so the answer is 25"). Values are compared, not strings, so "25" never matches "5"
    and "1,299.00" matches "1299". The price is that "5, not 25" is read as 25.

    Args:
        output: The model's text.
        references: Acceptable answers, each holding exactly one number ("42", "$1,299", "30 kg").
        abs_tolerance: Largest accepted absolute difference.
        rel_tolerance: Largest accepted difference relative to the larger magnitude (``math.isclose``).

    Returns:
        Score 1.0 naming the matching reference, else 0.0. References that do not hold exactly one
        number are ignored and named in the detail; with none left the output fails (the dataset
        validation reports such examples before any model is called).

    Raises:
        ValueError: If a tolerance is negative or NaN.
    """
    check_references(references)
    if not (abs_tolerance >= 0.0 and rel_tolerance >= 0.0):
        raise ValueError(f"tolerances must be non-negative, got abs={abs_tolerance!r} rel={rel_tolerance!r}")
    if not references:
        return verdict(False, "no references to compare against")
    expected, unusable = _reference_numbers(references)
    if not expected:
        return verdict(False, f"no reference is a single number: {', '.join(map(preview, unusable))}")
    found = extract_numbers(output)
    if not found:
        return verdict(False, "no number in output")
    answer = found[-1]
    for reference, value in expected:
        if math.isclose(answer, value, rel_tol=rel_tolerance, abs_tol=abs_tolerance):
            return verdict(True, f"last number {answer:g} matches reference {preview(reference)}")
    detail = f"last number {answer:g} matches none of {', '.join(f'{value:g}' for _, value in expected)}"
    if unusable:
        detail += f" (ignored non-numeric: {', '.join(map(preview, unusable))})"
    return verdict(False, detail)


def _reference_numbers(references: References) -> tuple[list[tuple[str, float]], list[str]]:
    expected: list[tuple[str, float]] = []
    unusable: list[str] = []
    for reference in references:
        values = extract_numbers(reference)
        if len(values) == 1:
            expected.append((reference, values[0]))
        else:
            unusable.append(reference)
    return expected, unusable


def _an_example_numeric_match_can_pass(
    options: NumericMatchOptions, references: References
) -> Iterator[ReferenceProblem]:
    # Judgement call: one usable reference is enough (the others may serve another scorer, e.g. "seven"
    # for contains); with none, every answer scores 0 and the dataset, not the model, is at fault.
    expected, unusable = _reference_numbers(references)
    if references and not expected:
        yield (
            None,
            (
                f"needs a reference holding exactly one number, but {', '.join(map(preview, unusable))} "
                f"{'does' if len(unusable) == 1 else 'do'} not (every answer would score 0)"
            ),
        )


@register_scorer(
    name="numeric_match",
    # 2: thousands separators (spaces, apostrophes, dots, Indian grouping) and decimal commas.
    version="2",
    options=NumericMatchOptions,
    needs_reference=True,
    check_references=_an_example_numeric_match_can_pass,
)
def _numeric_match(output: str, references: References, options: NumericMatchOptions) -> ScoreResult:
    """The last number in the output equals a reference's number, within tolerance."""
    return numeric_match(output, references, abs_tolerance=options.abs_tolerance, rel_tolerance=options.rel_tolerance)
