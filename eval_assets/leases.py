"""One process at a time pays for a cell: an advisory lock file per (date, config) (no Dagster).

Two runs of the same partition at once (a UI backfill and a CLI rerun, two CI jobs) used to make every
model call twice. A run holds the cell's lease from its first stage to its end (the ``CellLeases`` resource);
the second run waits for it, then finds every answer in the response cache and pays nothing.

The lease is an ``flock`` on the cell's lock file (:attr:`~eval_assets.reporting.folder.RunFolder.lease`):
the kernel releases it when its holder exits, however it exits (a kill -9 leaves no stale lease), and it
works wherever the runs folder is shared (one machine, or an NFSv4 mount). The file also records who
holds it, for the waiting side's message. Lock files are never deleted: removing one while another
process waits on it would let two holders in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: How often a waiting run says it is still waiting.
ANNOUNCE_EVERY_S = 30.0
#: How often it tries again.
POLL_S = 0.2


class CellBusyError(Exception):
    """The cell's lease was not free within the wait allowed."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, as its lock file says."""

    pid: int | None
    host: str | None
    run_id: str | None
    since: str | None

    def describe(self) -> str:
        """``run abc (pid 12, host h, since 2026-11-07T02:00:01Z)``; what is known of it."""
        facts = [f"pid {self.pid}" if self.pid else None, f"host {self.host}" if self.host else None]
        facts.append(f"since {self.since}" if self.since else None)
        known = ", ".join(fact for fact in facts if fact)
        who = f"run {self.run_id}" if self.run_id else "another process"
        return f"{who} ({known})" if known else who


def read_holder(path: Path) -> Holder:
    """What the lock file says of its holder (all unknown when it is empty or unreadable)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict):
        record = {}
    pid = record.get("pid")
    return Holder(
        pid=pid if isinstance(pid, int) else None,
        host=_text(record.get("host")),
        run_id=_text(record.get("run_id")),
        since=_text(record.get("since")),
    )


@contextlib.contextmanager
def cell_lease(
    path: Path,
    *,
    run_id: str,
    cell: str,
    wait_s: float | None = None,
    log: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the cell's lease for the ``with`` block, waiting for another holder to finish.

    Args:
        path: The cell's lock file.
        run_id: This run, recorded for whoever waits next.
        cell: The cell as people name it (``nightly 2026-11-07``), for the messages.
        wait_s: Longest wait; None waits as long as the holder runs.
        log: Where "waiting for ..." goes (the Dagster log in a stage).
        clock: Monotonic seconds (tests pass their own).

    Raises:
        CellBusyError: still held after ``wait_s`` seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = clock()
        announced_at: float | None = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = clock()
                holder = read_holder(path).describe()
                if wait_s is not None and now - started >= wait_s:
                    raise CellBusyError(
                        f"{cell} is being run by {holder}; gave up after {wait_s:.0f} s. "
                        "Its answers are cached as they arrive: run again once it is done."
                    ) from None
                if announced_at is None or now - announced_at >= ANNOUNCE_EVERY_S:
                    log(f"{cell} is being run by {holder}: waiting for it (its answers will be reused, not paid again)")
                    announced_at = now
                time.sleep(POLL_S)
        if announced_at is not None:
            log(f"{cell}: the other run finished after {clock() - started:.0f} s; continuing")
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_id": run_id,
            "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
