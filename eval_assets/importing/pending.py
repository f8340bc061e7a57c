"""Scorers the importers map onto that cannot take an imported grader here: the one switch.

The format modules map a grader onto the scorer that takes it (promptfoo ``similar`` onto
``embedding_similarity``, an Evals API ``text_similarity`` onto ``text_similarity`` with its metric). A
scorer listed in ``PENDING_SCORERS`` is one the project does not have yet: every grader mapped onto it is
reported as unmapped with this reason, and nothing is written for it. When the scorer lands, delete its
entry (and check the option names the format modules use against its options model: validation before
writing refuses any that differ). A scorer that is neither listed nor registered is reported as unmapped too.

A registered scorer that needs an optional extra (``embedding_similarity`` needs the ``embeddings`` extra)
is unavailable while the extra is not installed: the config would not validate, so nothing would be written.
"""

from __future__ import annotations

from collections.abc import Callable

from eval_assets.scoring.registry import UnknownScorerError, scorer_named

#: Scorers not in this project yet -> why graders mapped onto them are not imported. None missing today.
PENDING_SCORERS: dict[str, str] = {}


def _embeddings_extra() -> str | None:
    from eval_assets.scoring.embeddings import EXTRA_HINT, missing_packages

    missing = missing_packages()
    return f"embedding_similarity needs {', '.join(missing)}: {EXTRA_HINT}" if missing else None


#: Registered scorers that need something optional installed -> why not, or None when it is there.
_NEEDS: dict[str, Callable[[], str | None]] = {"embedding_similarity": _embeddings_extra}


def unavailable(scorer: str) -> str | None:
    """Why graders mapped onto ``scorer`` cannot be imported today, or None when they can."""
    if scorer in PENDING_SCORERS:
        return PENDING_SCORERS[scorer]
    try:
        scorer_named(scorer)
    except UnknownScorerError:
        return f"needs a {scorer} scorer, which this project does not have"
    needs = _NEEDS.get(scorer)
    return needs() if needs is not None else None
