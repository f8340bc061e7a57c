"""ASCII text takes a fast path through normalization; it must give what the per-character path gives."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, strategies as st

from eval_assets.scoring.text import _keeps_number_together, fold_text


def reference_fold_text(text: str) -> str:
    """fold_text as written for any text (before the ASCII fast path), the specification."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(
        char
        for char in folded.replace("\u2212", "-")
        if char not in frozenset("'\u2018\u2019\u02bc`") and unicodedata.category(char) != "Cf"
    )
    folded = unicodedata.normalize("NFKC", folded)
    spaced = "".join(
        " " if unicodedata.category(char)[0] in "PS" and not _keeps_number_together(folded, index) else char
        for index, char in enumerate(folded)
    )
    return " ".join(spaced.split())


# Digits and the characters that may belong to a number, crowded together so the number rules are hit.
NUMBERISH = st.text(alphabet=st.sampled_from("0123456789.,-' `aZ _$%(\t\n"), max_size=40)
ASCII = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=200)


@given(st.one_of(NUMBERISH, ASCII))
def test_ascii_folds_as_the_per_character_definition(text: str) -> None:
    assert fold_text(text) == reference_fold_text(text)


@pytest.mark.parametrize(
    "text",
    ["-3.5", "(-3)", "v.2", "end.5", "1,299", "COVID-19", "3-5", "-.5", " .5", "Don't `quote`", "a--b", "x."],
)
def test_number_edges_fold_as_before(text: str) -> None:
    assert fold_text(text) == reference_fold_text(text)
