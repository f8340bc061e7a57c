"""Lenient text comparison: normalization (the building block of the text scorers)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from eval_assets.scoring.text import fold_text, normalize_text


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # fold_text is normalize_text without dropping articles: "A" stays an answer beside other words.
        ("A) Paris", "a paris"),
        ("The answer", "the answer"),
        ("  Don\u2019t  PANIC! ", "dont panic"),
    ],
)
def test_fold_text_keeps_articles(text: str, expected: str) -> None:
    assert fold_text(text) == expected


@given(st.text())
def test_fold_text_is_idempotent_and_normalize_is_fold_without_articles(text: str) -> None:
    folded = fold_text(text)
    assert fold_text(folded) == folded
    words = [word for word in folded.split() if word not in {"a", "an", "the"}]
    assert normalize_text(text) == " ".join(words or folded.split())
