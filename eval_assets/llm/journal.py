"""The answer journal: every paid answer is on disk before the replay moves on, whatever the warehouse does.

A warehouse write costs 40-80 ms and fails while another process holds the DuckDB file (an analyst's
read-only session is enough), so answers are not written there as they arrive. Each replay appends them
to its own file in a folder beside the warehouse instead: one JSON line per answer, one ``write()``
system call each (~0.01 ms). A write that returned is in the kernel's page cache, so it survives a
``kill -9`` of the process. Surviving a power cut needs ``fdatasync``, which costs 2.5-10 ms here
(measured on ext4): per answer that would cap a replay at a few hundred calls a second, so a background
thread syncs every ``sync_interval_s`` instead; a power cut loses at most that much of the latest answers.

Files are settled into the durable store (the warehouse's ``response_cache``) at the start and end of
every replay and removed only after their rows are committed. A writer holds an exclusive ``flock`` on
its file for its whole life, so a settler only takes files whose writer finished or died; readers
serving lookups read every file, live ones included, up to their last complete line. A torn last line
(a kill mid-write, a power cut) is skipped, never fatal.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson

#: Journal files a settler may take (a writer's file gets this name only once it holds the lock).
JOURNAL_GLOB = "answers-*.jsonl"
#: Age after which a staging file (created, never renamed) is known to be abandoned.
_ABANDONED_AFTER_S = 60.0
#: Fields every journal line must carry to be usable as a cache row.
_REQUIRED = (("request_hash", str), ("model_id", str), ("output_text", str), ("created_at", str))


@dataclass(frozen=True)
class JournalRead:
    """Rows read from journal files.

    Attributes:
        rows: The newest row per request hash.
        files: Files read.
        skipped_lines: Lines that were torn or not valid journal rows (ignored).
    """

    rows: dict[str, dict[str, Any]]
    files: int
    skipped_lines: int


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The rows of a journal file's bytes and the number of lines skipped.

    Only lines ending in a newline count: the last line of a file whose writer was killed mid-write may
    be torn. A line that is not a JSON object with the required fields is skipped too (never raises).
    """
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a torn line
    skipped = 1 if data and not data.endswith(b"\n") else 0
    rows: list[dict[str, Any]] = []
    for line in lines:
        row = _row(line)
        if row is None:
            skipped += bool(line.strip())
        else:
            rows.append(row)
    return rows, skipped


def _row(line: bytes) -> dict[str, Any] | None:
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(row, dict) or any(not isinstance(row.get(key), kind) for key, kind in _REQUIRED):
        return None
    try:
        row["created_at"] = dt.datetime.fromisoformat(row["created_at"])
    except ValueError:
        return None
    return row


def newest_per_hash(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One row per request hash: the latest ``created_at`` wins (a later row wins a tie)."""
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = newest.get(row["request_hash"])
        if current is None or row["created_at"] >= current["created_at"]:
            newest[row["request_hash"]] = dict(row)
    return newest


class JournalWriter:
    """Appends answers to one new journal file, each on disk (page cache) before ``append`` returns.

    The file is created on the first answer (a fully cached replay leaves nothing behind) under a
    temporary name, locked, and only then renamed into the journal, so a settler never sees it unlocked.
    Use as a context manager; closing syncs the file and releases the lock.

    Args:
        directory: The journal folder.
        sync_interval_s: Seconds between background ``fdatasync`` calls (None: only on close).
    """

    def __init__(self, directory: Path, *, sync_interval_s: float | None = 1.0) -> None:
        self.directory = directory
        self.path: Path | None = None
        self._sync_interval_s = sync_interval_s
        self._fd: int | None = None
        self._unsynced = False
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row as a JSON line (raises OSError if it cannot: an answer we cannot keep stops the run)."""
        fd = self._fd if self._fd is not None else self._open()
        data = memoryview(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        while data:  # a short write (disk nearly full) writes the rest or raises
            data = data[os.write(fd, data) :]
        self._unsynced = True

    def close(self) -> None:
        """Stop the syncer, sync the file, release the lock. Safe to call twice."""
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.fdatasync(fd)
            finally:
                os.close(fd)  # releases the flock: the file may now be settled

    def _open(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"answers-{os.getpid()}-{time.time_ns()}-{secrets.token_hex(4)}.jsonl"
        staging = self.directory / f".{name}.new"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.path = self.directory / name
            os.rename(staging, self.path)
            sync_directory(self.directory)  # the file's name survives a power cut too
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        if self._sync_interval_s is not None:
            self._syncer = threading.Thread(target=self._sync_every, args=(fd,), name="journal-sync", daemon=True)
            self._syncer.start()
        return fd

    def _sync_every(self, fd: int) -> None:
        assert self._sync_interval_s is not None
        while not self._stop.wait(self._sync_interval_s):
            if self._unsynced:
                self._unsynced = False
                try:
                    os.fdatasync(fd)  # releases the GIL: the event loop keeps running
                except OSError:  # a disk problem: close() syncs once more and raises it
                    return


class AnswerJournal:
    """The journal folder: new writers, lookups over every file, and settling finished files into a store.

    Args:
        directory: The folder (created on first write).
        sync_interval_s: Passed to each :class:`JournalWriter`.
    """

    def __init__(self, directory: Path, *, sync_interval_s: float | None = 1.0) -> None:
        self.directory = directory
        self._sync_interval_s = sync_interval_s

    def writer(self) -> JournalWriter:
        """A writer with a file of its own (two replays at once never share a file)."""
        return JournalWriter(self.directory, sync_interval_s=self._sync_interval_s)

    def files(self) -> list[Path]:
        """Journal files present now, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(JOURNAL_GLOB), key=_age_key)

    def read(self, request_hashes: Collection[str] | None = None) -> JournalRead:
        """The newest journaled row per request hash (restricted to ``request_hashes`` when given).

        Reads live writers' files too, up to their last complete line, so answers not yet settled still
        serve the cache, in this process or another.
        """
        rows: list[dict[str, Any]] = []
        skipped = files = 0
        for path in self.files():
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # settled meanwhile: its rows are in the store by now
                continue
            found, bad = parse_lines(data)
            files += 1
            skipped += bad
            rows.extend(r for r in found if request_hashes is None or r["request_hash"] in request_hashes)
        return JournalRead(newest_per_hash(rows), files, skipped)

    def settle(self, commit: Callable[[list[dict[str, Any]]], None]) -> JournalRead:
        """Commit the rows of every finished file (its writer closed or died) with ``commit``, then remove them.

        Files of live writers are left alone. If ``commit`` raises, nothing is removed and the error
        propagates: the rows stay in the journal for the next attempt.

        Returns:
            What was committed (files and rows) and how many lines were skipped.
        """
        with self._finished_files() as taken:
            rows: list[dict[str, Any]] = []
            skipped = 0
            for _, fd in taken:
                found, bad = parse_lines(_read_all(fd))
                rows.extend(found)
                skipped += bad
            newest = newest_per_hash(rows)
            if newest:
                commit(list(newest.values()))
            for path, _ in taken:
                path.unlink()  # only now: the rows are committed
            if taken:
                sync_directory(self.directory)
            return JournalRead(newest, len(taken), skipped)

    @contextmanager
    def _finished_files(self) -> Iterator[list[tuple[Path, int]]]:
        """Open and exclusively lock every journal file nobody is writing; unlock them on exit."""
        taken: list[tuple[Path, int]] = []
        try:
            self._remove_abandoned_staging_files()
            for path in self.files():
                fd = _lock_if_free(path)
                if fd is not None:
                    taken.append((path, fd))
            yield taken
        finally:
            for _, fd in taken:
                os.close(fd)

    def _remove_abandoned_staging_files(self) -> None:
        # A writer killed between creating and renaming its file leaves an empty staging file behind. A live
        # writer renames its own within microseconds: only old ones are abandoned.
        for path in self.directory.glob(".answers-*.jsonl.new") if self.directory.is_dir() else ():
            try:
                if time.time() - path.stat().st_mtime < _ABANDONED_AFTER_S:
                    continue
            except FileNotFoundError:
                continue
            fd = _lock_if_free(path)
            if fd is not None:
                try:
                    path.unlink()
                finally:
                    os.close(fd)


def _lock_if_free(path: Path) -> int | None:
    """An fd holding the exclusive lock on ``path``, or None if a live writer holds it or the file is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Another settler may have removed the file between our open and our lock: then it is not ours.
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise FileNotFoundError(path)
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _age_key(path: Path) -> tuple[int, str]:
    # answers-<pid>-<time_ns>-<random>.jsonl: order by creation time, then name.
    parts = path.name.split("-")
    stamp = int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else 0
    return stamp, path.name


def sync_directory(directory: Path) -> None:
    """Make a created, renamed or removed name in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with suppress(OSError):  # some filesystems refuse fsync on a directory; the data files are synced
            os.fsync(fd)
    finally:
        os.close(fd)
