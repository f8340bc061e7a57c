"""``exact_match`` and ``contains``: the output against the example's references, as text."""

from __future__ import annotations

from pydantic import Field

from eval_assets.scoring.registry import ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult
from eval_assets.scoring.text import collapse_whitespace, compare_with_references, normalize_text, occurs_as_words


class TextMatchOptions(ScorerOptions):
    """Options of the text-comparing scorers."""

    case_sensitive: bool = Field(
        default=False,
        description="Compare with only whitespace collapsed, so case and punctuation matter "
        "(default: lenient normalization of case, punctuation, articles and whitespace).",
    )


def exact_match(output: str, references: References, *, case_sensitive: bool = False) -> ScoreResult:
    """Pass when the output equals any reference.

    Args:
        output: The model's text.
        references: Acceptable answers; any one suffices.
        case_sensitive: Compare with only whitespace collapsed instead of :func:`normalize_text`.

    Returns:
        Score 1.0 naming the matching reference, else 0.0. References that are empty after
        normalization are ignored; with none left the output fails.
    """
    canonical = collapse_whitespace if case_sensitive else normalize_text
    return compare_with_references(output, references, canonical=canonical, accepts=str.__eq__, relation="matched")


def contains(output: str, references: References, *, case_sensitive: bool = False) -> ScoreResult:
    """Pass when any reference appears in the output as whole words.

    "30 days" is not found in "130 days", "cat" is not in "concatenate" and "3" is not in "3.5".
    In scripts written without spaces (Chinese, Japanese, Thai) every character counts as a boundary.
    Normalization drops articles, so a choice letter "A" is not found in "Answer: A"; score choice
    letters with ``exact_match``, ``starts_with`` or ``regex_match``.

    Args:
        output: The model's text.
        references: Acceptable answers; any one suffices.
        case_sensitive: Compare with only whitespace collapsed instead of :func:`normalize_text`.

    Returns:
        Score 1.0 naming the reference found, else 0.0. References that are empty after normalization
        are ignored (they would be found everywhere); with none left the output fails.
    """
    canonical = collapse_whitespace if case_sensitive else normalize_text
    return compare_with_references(
        output,
        references,
        canonical=canonical,
        accepts=lambda candidate, reference: occurs_as_words(reference, candidate),
        relation="contains",
    )


@register_scorer(name="exact_match", version="1", options=TextMatchOptions, needs_reference=True)
def _exact_match(output: str, references: References, options: TextMatchOptions) -> ScoreResult:
    """The output equals a reference (normalized: case, punctuation, articles, whitespace)."""
    return exact_match(output, references, case_sensitive=options.case_sensitive)


@register_scorer(name="contains", version="1", options=TextMatchOptions, needs_reference=True)
def _contains(output: str, references: References, options: TextMatchOptions) -> ScoreResult:
    """A reference appears in the output as whole words ("30 days" is not in "130 days")."""
    return contains(output, references, case_sensitive=options.case_sensitive)
