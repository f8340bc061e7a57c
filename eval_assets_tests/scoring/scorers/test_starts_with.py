"""starts_with (issue 12): the answer opens with a reference. Added as one module plus this table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from eval_assets.config import load_config
from eval_assets.scoring.registry import scorer_args, scorer_named
from eval_assets.scoring.scorers.starts_with import starts_with
from eval_assets.scoring.text import fold_text


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        ("Yes, you can cancel at any time.", ("yes",), True),
        # Stripped first: leading whitespace and newlines do not count.
        ("\n  Yes.", ("yes",), True),
        # Case and punctuation are folded by default ...
        ("YES!", ("yes",), True),
        # ... and leading markup folds to nothing, so a bold verdict still starts the answer.
        ("**Yes**, within 30 days.", ("yes",), True),
        # A word boundary must follow: "yes" does not start "Yesterday", "3" does not start "3.5".
        ("Yesterday it shipped.", ("yes",), False),
        ("3.5 days", ("3",), False),
        ("3 days", ("3",), True),
        # Articles are kept (unlike exact_match and contains): the choice "A" starts "A) Paris".
        ("A) Paris", ("A",), True),
        ("B) Lyon", ("A",), False),
        # ... and so "The answer is B" does not start with "B": the verdict must come first.
        ("The answer is B", ("B",), False),
        # Starting with, not containing.
        ("No, but yes for Plus.", ("yes",), False),
        # Any reference will do; a multi-word reference must match word for word.
        ("Refunds take 5-7 business days.", ("30 days", "refunds take 5 7"), True),
        # A reference that folds to nothing would start every output: ignored.
        ("anything", ("?!",), False),
        ("", ("yes",), False),
        ("Yes", (), False),
    ],
)
def test_starts_with(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert starts_with(output, references).passed is passed


@pytest.mark.parametrize(
    ("output", "references", "passed"),
    [
        ("Yes, really.", ("Yes",), True),
        # Case-sensitive mode only collapses whitespace: case and punctuation now matter.
        ("yes, really.", ("Yes",), False),
        ("**Yes**", ("Yes",), False),
        ("  Yes  it is", ("Yes it",), True),
    ],
)
def test_starts_with_case_sensitive(output: str, references: tuple[str, ...], passed: bool) -> None:
    assert starts_with(output, references, case_sensitive=True).passed is passed


def test_starts_with_details() -> None:
    assert starts_with("Yes.", ("no", "yes")).detail == "starts with reference 'yes'"
    assert starts_with("Maybe.", ("yes",)).detail == "output 'maybe' starts with none of 1 reference"


@given(st.text(), st.text(min_size=1, max_size=10))
def test_a_reference_always_starts_itself_followed_by_a_space(reference: str, rest: str) -> None:
    # A reference that folds to nothing is ignored (documented): U+02BC is alphanumeric to Python,
    # yet an apostrophe the folding deletes.
    if fold_text(reference):
        assert starts_with(f"{reference} {rest}", (reference,)).passed


def test_starts_with_is_usable_from_a_config(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(
        "model: {id: offline/assistant-v1}\n"
        "datasets: [{path: datasets/faq.jsonl}]\n"
        "scorers:\n  - scorer: starts_with\n    case_sensitive: true\n"
    )
    spec = load_config(path).config.scorers[0]
    assert scorer_args(spec) == {"case_sensitive": True, "pass_score": 0.5}
    assert scorer_named("starts_with").requires_reference(spec)
