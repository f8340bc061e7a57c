"""The response cache as the replay sees it: a durable store behind an interface, and the journal in front of it.

``CacheStore`` is what a storage backend implements (the DuckDB warehouse does, in
``eval_assets.warehouse.DuckDBCacheStore``): look answers up, store them for good, and say where its
journal lives. ``ResponseCache`` puts the answer journal (:mod:`eval_assets.llm.journal`) and the batch
ledger (:mod:`eval_assets.llm.batch_ledger`) in front of any store, so a fresh answer is durable the
moment it arrives even when the store cannot be written (locked by another process, or gone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eval_assets.llm.batch_ledger import BatchLedger
from eval_assets.llm.calls import CallOutcome
from eval_assets.llm.journal import AnswerJournal, JournalWriter, newest_per_hash


class CacheStore(Protocol):
    """Where cached answers live for good. Rows have the columns of the ``response_cache`` table."""

    @property
    def journal_dir(self) -> Path:
        """The folder of this store's answer journal and batch records (beside the store's own files)."""
        ...

    def lookup(self, request_hashes: Sequence[str]) -> list[dict[str, Any]]:
        """Stored rows for these request hashes (raises if the store cannot be read)."""
        ...

    def store(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Keep rows in one transaction; per request hash the latest ``created_at`` wins (raises on failure)."""
        ...


@dataclass(frozen=True)
class Settled:
    """What one settling pass did.

    Attributes:
        rows: Answers moved from the journal into the store.
        files: Journal files removed.
        skipped_lines: Torn or invalid journal lines ignored.
        kept_because: Why journaled answers stay in the journal (None when the store took them).
    """

    rows: int = 0
    files: int = 0
    skipped_lines: int = 0
    kept_because: str | None = None

    def message(self) -> str | None:
        """A log line when there is something to say."""
        parts = []
        if self.kept_because is not None:
            parts.append(f"answers kept in the answer journal, to be stored by the next run ({self.kept_because})")
        elif self.rows:
            parts.append(f"stored {self.rows} journaled answers from {self.files} journal file(s)")
        if self.skipped_lines:
            parts.append(f"ignored {self.skipped_lines} torn journal line(s) (an interrupted write)")
        return "; ".join(parts) or None


class ResponseCache:
    """A store with the answer journal and batch ledger in front of it.

    Args:
        store: The durable store.
        sync_interval_s: Seconds between background syncs of a journal file (see journal.py).
    """

    def __init__(self, store: CacheStore, *, sync_interval_s: float | None = 1.0) -> None:
        self.store = store
        self.journal = AnswerJournal(store.journal_dir, sync_interval_s=sync_interval_s)
        self.batches = BatchLedger(store.journal_dir / "batches")

    def writer(self) -> JournalWriter:
        """A journal writer of its own for one replay."""
        return self.journal.writer()

    def lookup(self, request_hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The newest answer per request hash, from the journal and the store.

        The journal is read first: a file settled meanwhile was committed before it was removed, so the
        store read that follows sees its rows.
        """
        wanted = set(request_hashes)
        journaled = self.journal.read(wanted).rows
        stored = self.store.lookup(list(wanted))
        return newest_per_hash([*stored, *journaled.values()])

    def settle(self) -> Settled:
        """Move finished journal files into the store. Never raises: answers that cannot be stored stay journaled."""
        try:
            done = self.journal.settle(self.store.store)
        except Exception as exc:  # locked, read-only, full disk...: the journal still holds every answer
            return Settled(kept_because=f"{type(exc).__name__}: {_first_line(exc)}")
        return Settled(rows=len(done.rows), files=done.files, skipped_lines=done.skipped_lines)


def cache_row(outcome: CallOutcome) -> dict[str, Any]:
    """The cache row of an outcome (a ``response_cache`` row, a journal line, and part of a responses row)."""
    return {
        "request_hash": outcome.call.request_hash,
        "model_id": outcome.call.model.id,
        "model_version": outcome.model_version,
        "output_text": outcome.text,
        "finish_reason": outcome.finish_reason,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cost_usd": outcome.cost_usd,
        "latency_ms": outcome.latency_ms,
        "created_at": outcome.created_at,
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "no message"
