"""Submitted provider batches, on disk from the moment they are submitted until their answers are kept.

A batch runs for minutes to hours and the provider bills it whether or not anyone reads the results. If
the run that submitted it is killed while waiting, or fails to fetch the results, the next run must find
the batch again instead of paying for a new one. Each batch is one small JSON file in the journal folder
(``batches/``), written atomically (temporary file, ``fsync``, rename) right after the submission returns,
and removed once its answers are in the answer journal.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from eval_assets.llm.journal import sync_directory

#: Records older than this are dropped: providers delete batch result files after about 30 days.
MAX_RECORD_AGE_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class BatchRecord:
    """A submitted batch and what it was for.

    Attributes:
        batch_id: The provider's batch id.
        input_file_id: The uploaded JSONL file.
        submitted_at: Unix time of the submission.
        request_hashes: The request hashes the batch answers, in file order (its lines' custom_ids).
        model_id: The model every line asks.
        api_base: The endpoint it was submitted to (None: the provider's default).
        api_key_env: The variable its key came from.
    """

    batch_id: str
    input_file_id: str
    submitted_at: float
    request_hashes: tuple[str, ...]
    model_id: str
    api_base: str | None
    api_key_env: str | None

    @property
    def endpoint(self) -> tuple[str, str | None, str | None]:
        """The (model, api_base, key variable) group whose calls this batch may answer."""
        return self.model_id, self.api_base, self.api_key_env


class BatchLedger:
    """The folder of batch records.

    Args:
        directory: Where the records live (created on the first record).
        clock: Unix time, for the age limit.
    """

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self._clock = clock

    def record(self, record: BatchRecord) -> None:
        """Keep a record durably (returns once it would survive a power cut)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(record.batch_id)
        staging = path.with_name(f".{path.name}.{os.getpid()}.new")
        data = orjson.dumps({**asdict(record), "request_hashes": list(record.request_hashes)})
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(staging, path)
        sync_directory(self.directory)

    def pending(self, endpoint: tuple[str, str | None, str | None] | None = None) -> list[BatchRecord]:
        """Records still worth resuming, oldest first (for one endpoint group when given).

        Unreadable records are skipped (a half-written one cannot exist: records are renamed into place).
        """
        if not self.directory.is_dir():
            return []
        found = []
        now = self._clock()
        for path in self.directory.glob("batch-*.json"):
            record = _load(path)
            if record is None:
                continue
            if now - record.submitted_at > MAX_RECORD_AGE_S:
                path.unlink(missing_ok=True)
                continue
            if endpoint is None or record.endpoint == endpoint:
                found.append(record)
        return sorted(found, key=lambda r: (r.submitted_at, r.batch_id))

    def forget(self, batch_id: str) -> None:
        """Drop a record once its answers are kept (or nothing more can come of it)."""
        self._path(batch_id).unlink(missing_ok=True)

    def path_of(self, batch_id: str) -> Path:
        """Where a batch's record lives (named in messages so a person can drop it by hand)."""
        return self._path(batch_id)

    def _path(self, batch_id: str) -> Path:
        # Provider ids are opaque: never trust them as file names.
        return self.directory / f"batch-{hashlib.sha256(batch_id.encode()).hexdigest()[:32]}.json"


def _load(path: Path) -> BatchRecord | None:
    try:
        raw = orjson.loads(path.read_bytes())
        hashes: Sequence[Any] = raw["request_hashes"]
        return BatchRecord(
            batch_id=str(raw["batch_id"]),
            input_file_id=str(raw["input_file_id"]),
            submitted_at=float(raw["submitted_at"]),
            request_hashes=tuple(str(h) for h in hashes),
            model_id=str(raw["model_id"]),
            api_base=raw.get("api_base"),
            api_key_env=raw.get("api_key_env"),
        )
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
