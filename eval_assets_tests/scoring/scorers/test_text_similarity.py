"""text_similarity (issue 12): fuzzy ratio, BLEU and ROUGE against hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from eval_assets.config import load_config
from eval_assets.datasets import Example
from eval_assets.errors import InvalidInputError
from eval_assets.scoring.apply import score_output
from eval_assets.scoring.registry import is_graded, scorer_args, scorer_named
from eval_assets.scoring.scorers.text_similarity import text_similarity

CAT = "the cat sat on the mat"
CAT_A = "the cat sat on a mat"


@pytest.mark.parametrize(
    ("metric", "output", "references", "expected"),
    [
        # fuzzy_match is rapidfuzz's Indel ratio: 2 * matches / (len a + len b). "abc" vs "abd": 2*2/6.
        ("fuzzy_match", "abc", ("abd",), 4 / 6),
        ("fuzzy_match", "Refunds take 5 days", ("Refunds take 5 days",), 1.0),
        ("fuzzy_match", "abc", ("xyz",), 0.0),
        # As text: case counts ("A" and "a" differ), one of two characters in common.
        ("fuzzy_match", "Ab", ("ab",), 2 * 1 / 4),
        # The best reference counts, not the first.
        ("fuzzy_match", "abc", ("xyz", "abd", "abc"), 1.0),
        # Surrounding whitespace is stripped on both sides before comparing.
        ("fuzzy_match", "  abc\n", ("abc ",), 1.0),
        # BLEU, one word differs in six: precisions 5/6, 3/5, 2/4, 1/3, equal lengths (no brevity penalty):
        # (5/6 * 3/5 * 1/2 * 1/3) ** (1/4).
        ("bleu", CAT, (CAT_A,), (5 / 6 * 3 / 5 * 1 / 2 * 1 / 3) ** 0.25),
        ("bleu", CAT, (CAT,), 1.0),
        # Multi-reference BLEU clips each n-gram by the best reference: with the identical one present it is 1.
        ("bleu", CAT, ("a dog ran", CAT), 1.0),
        # A short answer: effective order uses only the n-gram orders it has (1 and 2 here): sqrt(1 * 1).
        ("bleu", "thirty days", ("thirty days",), 1.0),
        # Brevity penalty: 3 of 6 words, all matching: exp(1 - 6/3) = e^-1.
        ("bleu", "the cat sat", (CAT,), math.exp(1 - 6 / 3)),
        # ROUGE-1 F: 5 common unigrams (with multiplicity: "the" twice vs once) of 6 and 6: P = R = 5/6.
        ("rouge_1", CAT, (CAT_A,), 5 / 6),
        # ROUGE is lowercased and drops punctuation.
        ("rouge_1", "The CAT, sat!", ("the cat sat",), 1.0),
        # ROUGE-2 F: bigrams 5 and 5, common "the cat", "cat sat", "sat on": P = R = 3/5.
        ("rouge_2", CAT, (CAT_A,), 3 / 5),
        # ROUGE-L F: longest common subsequence "the cat sat on mat" (5 of 6 both ways).
        ("rouge_l", CAT, (CAT_A,), 5 / 6),
        # Word order matters for ROUGE-L but not ROUGE-1: reversed, the LCS is one word.
        ("rouge_1", "mat the on sat cat the", (CAT,), 1.0),
        ("rouge_l", "c b a", ("a b c",), 1 / 3),
        # The best of several references.
        ("rouge_l", CAT, ("dogs bark", CAT), 1.0),
        ("rouge_1", "", (CAT,), 0.0),
    ],
)
def test_text_similarity_values(metric: str, output: str, references: tuple[str, ...], expected: float) -> None:
    result = text_similarity(output, references, metric=metric)  # type: ignore[arg-type]
    assert result.score == pytest.approx(expected, abs=1e-4), result.detail


def test_the_pass_line_is_pass_score_inclusive() -> None:
    assert text_similarity("abc", ("abd",), pass_score=4 / 6).passed
    assert not text_similarity("abc", ("abd",), pass_score=0.67).passed


def test_details_name_the_metric_value_and_closest_reference() -> None:
    assert text_similarity("abc", ("xyz", "abd")).detail == "fuzzy_match 0.667 against 'abd'"
    # BLEU scores all references together, so there is no single closest one to name.
    assert text_similarity(CAT, (CAT,), metric="bleu").detail == "bleu 1.000"


def test_no_usable_reference_fails_with_zero() -> None:
    result = text_similarity("anything", ("  ", ""), metric="rouge_l")
    assert (result.score, result.passed, result.detail) == (0.0, False, "no references to compare against")
    with pytest.raises(TypeError):
        text_similarity("abc", "abc")  # type: ignore[arg-type]  # a bare string would be one reference a character


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["fuzzy_match", "bleu", "rouge_1", "rouge_2", "rouge_l"]),
    st.text(max_size=60),
    st.lists(st.text(max_size=60), min_size=1, max_size=3),
)
def test_scores_stay_in_range(metric: str, output: str, references: list[str]) -> None:
    score = text_similarity(output, tuple(references), metric=metric).score  # type: ignore[arg-type]
    assert 0.0 <= score <= 1.0


@pytest.mark.parametrize("metric", ["fuzzy_match", "bleu", "rouge_1", "rouge_2", "rouge_l"])
def test_an_answer_equal_to_a_reference_scores_one(metric: str) -> None:
    answer = "Refunds take 5 to 7 business days."
    assert text_similarity(answer, (answer,), metric=metric).score == pytest.approx(1.0)  # type: ignore[arg-type]


def _config(tmp_path: Path, scorer_yaml: str) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(
        "model: {id: offline/assistant-v1}\ndatasets: [{path: datasets/faq.jsonl}]\nscorers:\n" + scorer_yaml
    )
    return path


def test_text_similarity_from_a_config_is_graded_and_applies_pass_score(tmp_path: Path) -> None:
    path = _config(tmp_path, "  - scorer: text_similarity\n    metric: rouge_l\n    pass_score: 0.8\n")
    spec = load_config(path).config.scorers[0]
    assert scorer_args(spec) == {"metric": "rouge_l", "pass_score": 0.8}
    assert scorer_named("text_similarity").requires_reference(spec) and is_graded("text_similarity")
    example = Example(dataset="faq", id="a", input="q", references=(CAT_A,), tags=(), line=1)
    result = score_output(spec, CAT, example)
    assert result.score == pytest.approx(5 / 6) and result.passed  # 0.833 >= 0.8
    strict = load_config(_config(tmp_path, "  - scorer: text_similarity\n    metric: rouge_l\n    pass_score: 0.9\n"))
    assert not score_output(strict.config.scorers[0], CAT, example).passed


def test_an_unknown_metric_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    path = _config(tmp_path, "  - scorer: text_similarity\n    metric: meteor\n")
    with pytest.raises(InvalidInputError) as info:
        load_config(path)
    message = str(info.value)
    assert "demo.yaml:5: scorers[0].metric" in message and "fuzzy_match" in message
