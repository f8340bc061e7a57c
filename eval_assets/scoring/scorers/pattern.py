"""``regex_match``: a regular expression (RE2, linear time) found in the output.

Where the expression comes from is a rule users must be able to predict:

* ``pattern:`` in the config: that pattern, for every example;
* without ``pattern``: each of the example's references, as **literal text** (case-sensitive), so a
  reference ``$4.99`` means the characters ``$4.99`` and not "end of line, then 4, any character, 99";
* without ``pattern`` and with ``reference_is_pattern: true``: each reference is an RE2 pattern (checked
  when the datasets are validated).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, ValidationInfo, field_validator

from eval_assets.scoring import patterns
from eval_assets.scoring.patterns import PatternError, compile_pattern
from eval_assets.scoring.registry import ReferenceProblem, ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult, check_references, preview, verdict


class RegexMatchOptions(ScorerOptions):
    """Options of ``regex_match``."""

    pattern: str | None = Field(
        default=None,
        max_length=10_000,
        description="An RE2 pattern searched in every output (default: the example's references, as literal "
        "text unless reference_is_pattern is true).",
    )
    reference_is_pattern: bool = Field(
        default=False,
        description="Without 'pattern': treat each reference as an RE2 pattern instead of literal text "
        "(so '$4.99' would mean end-of-line, 4, any character, 99).",
    )

    @field_validator("pattern")
    @classmethod
    def _re2_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_pattern(value)
            except PatternError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("reference_is_pattern")
    @classmethod
    def _one_source_of_patterns(cls, value: bool, info: ValidationInfo) -> bool:
        # A field validator (not a model one) so the error names this field's line; `pattern` comes first.
        if value and info.data.get("pattern") is not None:
            raise ValueError("only applies without 'pattern' (which is used for every example)")
        return value


def regex_match(output: str, *, pattern: str) -> ScoreResult:
    """Pass when ``pattern`` is found anywhere in the output (RE2 syntax, linear time: see ``patterns``).

    Use inline flags for options, e.g. ``(?i)`` for case-insensitive or ``(?s)`` for dot-all.

    Args:
        output: The model's text.
        pattern: An RE2 regular expression; compiled once per process.

    Returns:
        Score 1.0 showing the matched text and where it starts, else 0.0.

    Raises:
        PatternError: If RE2 cannot compile the pattern (a configuration error).
    """
    # RE2, not re: a backtracking engine lets a hostile output (or pattern) stall scoring for minutes.
    found = patterns.search(pattern, output)
    if found is None:
        return verdict(False, f"no match for pattern {preview(pattern)}")
    offset, matched = found
    return verdict(True, f"matched {preview(matched)} at offset {offset}")


def literal_match(output: str, references: References) -> ScoreResult:
    """Pass when any reference occurs in the output exactly as written (case-sensitive, no normalization).

    Empty references are ignored: the empty string occurs in every output.
    """
    check_references(references)
    usable = [reference for reference in references if reference]
    if not usable:
        return verdict(False, "no non-empty reference to look for")
    for reference in usable:
        offset = output.find(reference)
        if offset != -1:
            return verdict(True, f"found literal {preview(reference)} at offset {offset}")
    noun = "reference" if len(usable) == 1 else "references"
    return verdict(False, f"none of {len(usable)} {noun} occurs literally in the output")


def _any_pattern(output: str, references: References) -> ScoreResult:
    check_references(references)
    last = verdict(False, "no references to use as patterns")
    for reference in references:
        last = regex_match(output, pattern=reference)
        if last.passed:
            return last
    return last


def _reference_patterns_compile(options: RegexMatchOptions, references: References) -> Iterator[ReferenceProblem]:
    # Refuse a reference RE2 cannot run now, not when the first paid answer is scored.
    if options.pattern is not None or not options.reference_is_pattern:
        return
    for position, reference in enumerate(references):
        try:
            compile_pattern(reference)
        except PatternError as exc:
            yield position, f"uses this reference as an RE2 pattern (reference_is_pattern: true), but it is {exc}"


@register_scorer(
    name="regex_match",
    # 2: RE2 syntax and linear-time matching (was Python re). 3: references are literal text unless
    # reference_is_pattern is true (they were patterns).
    version="3",
    options=RegexMatchOptions,
    needs_reference=lambda options: options.pattern is None,
    check_references=_reference_patterns_compile,
)
def _regex_match(output: str, references: References, options: RegexMatchOptions) -> ScoreResult:
    """An RE2 pattern is found in the output (or a reference: literal text unless reference_is_pattern)."""
    if options.pattern is not None:
        return regex_match(output, pattern=options.pattern)
    if options.reference_is_pattern:
        return _any_pattern(output, references)
    return literal_match(output, references)
