"""``starts_with``: the answer opens with a reference ("Yes, ...", "B) ...", "Refunds take 5-7 days").

For answers whose verdict comes first: yes/no questions, multiple choice, classification labels. Both
sides are folded like ``exact_match`` (case, punctuation, whitespace) but articles are kept, so the
choice "A" is found at the start of "A) Paris". The reference must end on a word boundary: "yes" does
not start "Yesterday", "3" does not start "3.5". Leading markup and punctuation ("**Yes**", "- B") are
skipped, because folding turns them into nothing.
"""

from __future__ import annotations

from pydantic import Field

from eval_assets.scoring.registry import ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult
from eval_assets.scoring.text import collapse_whitespace, compare_with_references, continues_word, fold_text


class StartsWithOptions(ScorerOptions):
    """Options of ``starts_with``."""

    case_sensitive: bool = Field(
        default=False,
        description="Compare with only whitespace collapsed, so case and punctuation matter "
        "(default: case, punctuation and whitespace are folded; articles are kept).",
    )


def _starts_as_words(candidate: str, reference: str) -> bool:
    return candidate.startswith(reference) and not continues_word(candidate, len(reference), reference[-1], left=False)


def starts_with(output: str, references: References, *, case_sensitive: bool = False) -> ScoreResult:
    """Pass when the output, stripped, starts with any reference as whole words.

    Args:
        output: The model's text.
        references: Acceptable openings; any one suffices.
        case_sensitive: Compare with only whitespace collapsed instead of :func:`fold_text`.

    Returns:
        Score 1.0 naming the reference found, else 0.0. References that are empty after folding are
        ignored (every output would start with them); with none left the output fails.
    """
    canonical = collapse_whitespace if case_sensitive else fold_text
    return compare_with_references(
        output, references, canonical=canonical, accepts=_starts_as_words, relation="starts with"
    )


@register_scorer(name="starts_with", version="1", options=StartsWithOptions, needs_reference=True)
def _starts_with(output: str, references: References, options: StartsWithOptions) -> ScoreResult:
    """The answer, stripped, starts with a reference as whole words ("yes" does not start "Yesterday")."""
    return starts_with(output, references, case_sensitive=options.case_sensitive)
