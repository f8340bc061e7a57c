"""Scorers the importers already map onto but that this project does not have yet: the one switch.

The format modules map a grader onto the scorer that will take it (promptfoo ``similar`` onto
``embedding_similarity``, an Evals API ``text_similarity`` onto ``text_similarity`` with its metric) and
stop there: while a scorer is listed here, every grader mapped onto it is reported as unmapped with
this reason, and nothing is written for it. When the scorer lands, delete its entry (and check the option
names the format modules use against its options model: validation before writing will refuse any that
differ). A scorer that is neither listed here nor registered is reported as unmapped too.
"""

from __future__ import annotations

from eval_assets.scoring.registry import UnknownScorerError, scorer_named

PENDING_SCORERS: dict[str, str] = {
    "text_similarity": "needs the text_similarity scorer (fuzzy ratio, BLEU, ROUGE), which is not in this project yet",
    "embedding_similarity": "needs the embedding_similarity scorer (cosine on sentence embeddings), which is not "
    "in this project yet",
    "label_model": "needs the label_model judge (a judge choosing one of labels), which is not in this project yet",
}


def unavailable(scorer: str) -> str | None:
    """Why graders mapped onto ``scorer`` cannot be imported today, or None when they can."""
    if scorer in PENDING_SCORERS:
        return PENDING_SCORERS[scorer]
    try:
        scorer_named(scorer)
    except UnknownScorerError:
        return f"needs a {scorer} scorer, which this project does not have"
    return None
