"""``text_similarity``: how close the answer is to a reference, as a graded score (fuzzy, BLEU, ROUGE).

For answers that may be worded differently from the reference but should say nearly the same thing:
summaries, translations, short explanations. ``metric`` picks the measure; the names are those of
OpenAI's ``text_similarity`` grader (``evaluation_metric``), so imported graders keep their meaning:

* ``fuzzy_match``: rapidfuzz's ``fuzz.ratio`` (normalized Indel similarity of the two strings, as text);
* ``bleu``: sacrebleu's sentence BLEU (13a tokenizer, exponential smoothing), all references at once,
  as BLEU defines multiple references (n-gram counts clipped by the best reference);
* ``rouge_1``, ``rouge_2``, ``rouge_l``: Google's rouge-score F-measure (unigrams, bigrams, longest
  common subsequence; lowercased, punctuation dropped), the best reference counts.

Every value is in [0, 1] (BLEU's 0-100 is divided by 100). The pass line is the common ``pass_score``:
what OpenAI calls ``pass_threshold`` and promptfoo ``threshold``. The libraries are imported at the first
score, not when the config is validated: sacrebleu and nltk (rouge-score's tokenizer dependency) take a
noticeable part of a second to import.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Literal

from pydantic import Field

from eval_assets.scoring.registry import ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult, check_references, preview

SimilarityMetric = Literal["fuzzy_match", "bleu", "rouge_1", "rouge_2", "rouge_l"]
_ROUGE_TYPES = {"rouge_1": "rouge1", "rouge_2": "rouge2", "rouge_l": "rougeL"}


class TextSimilarityOptions(ScorerOptions):
    """Options of ``text_similarity``."""

    metric: SimilarityMetric = Field(
        default="fuzzy_match",
        description="The measure: fuzzy_match (rapidfuzz ratio), bleu (sacrebleu sentence BLEU), "
        "rouge_1, rouge_2 or rouge_l (rouge-score F-measure); each in [0, 1].",
    )


def _fuzzy(output: str, references: References) -> tuple[float, str | None]:
    from rapidfuzz import fuzz

    scores = [(fuzz.ratio(output, reference) / 100.0, reference) for reference in references]
    score, best = max(scores, key=lambda pair: pair[0])
    return score, best


def _bleu(output: str, references: References) -> tuple[float, str | None]:
    return _sentence_bleu().sentence_score(output, list(references)).score / 100.0, None


@cache
def _sentence_bleu() -> Any:
    from sacrebleu.metrics.bleu import BLEU

    # effective_order: a short answer with no 4-gram in common is not BLEU 0 for that alone (sacrebleu's
    # own advice for sentence-level BLEU).
    return BLEU(effective_order=True)


@cache
def _rouge_scorer(rouge_type: str) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([rouge_type])


def _rouge(metric: str) -> Callable[[str, References], tuple[float, str | None]]:
    rouge_type = _ROUGE_TYPES[metric]

    def score(output: str, references: References) -> tuple[float, str | None]:
        scorer = _rouge_scorer(rouge_type)
        scores = [(scorer.score(reference, output)[rouge_type].fmeasure, reference) for reference in references]
        return max(scores, key=lambda pair: pair[0])

    return score


_MEASURES: dict[str, Callable[[str, References], tuple[float, str | None]]] = {
    "fuzzy_match": _fuzzy,
    "bleu": _bleu,
    **{metric: _rouge(metric) for metric in _ROUGE_TYPES},
}


def text_similarity(
    output: str, references: References, *, metric: SimilarityMetric = "fuzzy_match", pass_score: float = 0.5
) -> ScoreResult:
    """Score how similar the output is to the references, in [0, 1].

    Args:
        output: The model's text, stripped before comparing.
        references: Acceptable answers, stripped; empty ones are ignored. ``bleu`` uses them together
            (multi-reference BLEU), the other metrics take the best single reference.
        metric: The measure (see the module docstring).
        pass_score: Score at or above which the output passes.

    Returns:
        The similarity as the score, passing at ``pass_score``; the detail names the metric, the value
        and (except for BLEU) the closest reference. No usable reference fails with score 0.
    """
    check_references(references)
    usable = tuple(reference.strip() for reference in references if reference.strip())
    if not usable:
        return ScoreResult(0.0, False, "no references to compare against")
    score, closest = _MEASURES[metric](output.strip(), usable)
    # Float rounding in the libraries must never push a score outside [0, 1].
    score = min(1.0, max(0.0, score))
    detail = f"{metric} {score:.3f}" + (f" against {preview(closest)}" if closest is not None else "")
    return ScoreResult(score, score >= pass_score, detail)


@register_scorer(name="text_similarity", version="1", options=TextSimilarityOptions, needs_reference=True, graded=True)
def _text_similarity(output: str, references: References, options: TextSimilarityOptions) -> ScoreResult:
    """Similarity to the closest reference in [0, 1]: fuzzy_match, bleu, rouge_1, rouge_2 or rouge_l."""
    # pass_score is applied again by the scoring stage; here it only fills ``passed`` consistently.
    return text_similarity(output, references, metric=options.metric, pass_score=getattr(options, "pass_score", 0.5))
