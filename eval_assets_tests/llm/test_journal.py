"""The answer journal on real files and a real DuckDB warehouse: torn lines, two writers, idempotent settling."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from eval_assets import warehouse as wh
from eval_assets.llm.cache import ResponseCache, Settled
from eval_assets.llm.journal import JournalWriter, parse_lines
from eval_assets.warehouse import DuckDBCacheStore

T0 = dt.datetime(2026, 11, 7, 2, 0)


def row(request_hash: str, text: str = "answer", *, at: dt.datetime = T0) -> dict[str, Any]:
    return {"request_hash": request_hash, "model_id": "openai/m", "output_text": text, "created_at": at}


def cached(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return dict(conn.execute("SELECT request_hash, output_text FROM response_cache").fetchall())


@pytest.fixture
def store(tmp_path: Path) -> DuckDBCacheStore:
    return DuckDBCacheStore(tmp_path / "warehouse.duckdb")


def test_the_journal_lives_beside_the_warehouse(tmp_path: Path) -> None:
    assert (
        DuckDBCacheStore(tmp_path / "data" / "warehouse.duckdb").journal_dir == tmp_path / "data" / "warehouse.journal"
    )


def test_issue13_3_a_torn_last_line_is_ignored_and_the_rest_is_settled(store: DuckDBCacheStore) -> None:
    # kill -9 (or a power cut) in the middle of a write leaves a partial last line: skip it, never crash.
    with JournalWriter(store.journal_dir) as writer:
        writer.append(row("h1", "one"))
        writer.append(row("h2", "two"))
    assert writer.path is not None
    with writer.path.open("ab") as raw:
        raw.write(orjson.dumps(row("h3", "three"))[:25])

    cache = ResponseCache(store)
    assert cache.journal.read().skipped_lines == 1
    settled = cache.settle()
    assert settled == Settled(rows=2, files=1, skipped_lines=1)
    assert "ignored 1 torn journal line" in (settled.message() or "")
    assert cached(store.database) == {"h1": "one", "h2": "two"}
    assert cache.journal.files() == []


@pytest.mark.parametrize(
    ("data", "rows", "skipped"),
    [
        (b"", 0, 0),
        (b'{"request_hash": "h", "model_id": "m", "output_text": "t", "created_at": "2026-11-07T02:00:00"}\n', 1, 0),
        (b'{"request_hash": "h", "model_id": "m", "output_text": "t", "created_at": "2026-11-07T02:00:00"}', 0, 1),
        (b"\x00\x00\x00\x00\n", 0, 1),  # zeros a power cut can leave in place of a line
        (b'{"request_hash": "h"}\n', 0, 1),  # JSON, but not a journal row
        (b'[1, 2]\n{"request_hash": 5, "model_id": "m", "output_text": "t", "created_at": "x"}\n', 0, 2),
        (b'{"request_hash": "h", "model_id": "m", "output_text": "t", "created_at": "yesterday"}\n', 0, 1),
        (b"\n\n", 0, 0),
    ],
)
def test_parse_lines_keeps_only_complete_valid_rows(data: bytes, rows: int, skipped: int) -> None:
    found, bad = parse_lines(data)
    assert (len(found), bad) == (rows, skipped)


def test_settling_twice_or_a_copied_file_changes_nothing(store: DuckDBCacheStore) -> None:
    with JournalWriter(store.journal_dir) as writer:
        for i in range(5):
            writer.append(row(f"h{i}", f"t{i}"))
    assert writer.path is not None
    copy = writer.path.with_name(writer.path.name.replace("answers-", "answers-9-"))
    copy.write_bytes(writer.path.read_bytes())

    cache = ResponseCache(store)
    assert cache.settle().rows == 5  # duplicates across files are one row each
    assert cache.settle() == Settled()
    store.store([row("h0", "t0")])  # the same row once more
    assert cached(store.database) == {f"h{i}": f"t{i}" for i in range(5)}


def test_the_newest_answer_wins_whatever_order_journals_are_settled(store: DuckDBCacheStore) -> None:
    # A --no-cache rerun's fresh answer is newer than the cached one: an older journal settled later
    # (its writer died, another run settled it afterwards) must not bring the old answer back.
    store.store([row("h", "fresh", at=T0 + dt.timedelta(hours=1))])
    with JournalWriter(store.journal_dir) as writer:
        writer.append(row("h", "stale", at=T0))
        writer.append(row("g", "new", at=T0))
    cache = ResponseCache(store)
    assert cache.lookup(["h", "g"])["h"]["output_text"] == "fresh"
    cache.settle()
    assert cached(store.database) == {"h": "fresh", "g": "new"}

    with JournalWriter(store.journal_dir) as writer:  # and a newer journaled answer beats the stored one
        writer.append(row("h", "newest", at=T0 + dt.timedelta(hours=2)))
    assert cache.lookup(["h"])["h"]["output_text"] == "newest"
    cache.settle()
    assert cached(store.database)["h"] == "newest"


def test_a_live_writers_file_serves_lookups_but_is_not_settled(store: DuckDBCacheStore) -> None:
    cache = ResponseCache(store)
    with cache.writer() as writer:
        writer.append(row("h1"))
        assert set(cache.lookup(["h1", "h2"])) == {"h1"}
        assert cache.settle() == Settled()  # the writer holds its lock
        assert cache.journal.files() == [writer.path]
    assert cache.settle().rows == 1
    assert cached(store.database) == {"h1": "answer"}


WRITER = textwrap.dedent(
    """
    import sys, time, datetime as dt
    from pathlib import Path
    from eval_assets.llm.journal import JournalWriter
    directory, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    with JournalWriter(directory) as writer:
        for i in range(count):
            writer.append({"request_hash": f"{name}-{i}", "model_id": "m", "output_text": name,
                           "created_at": dt.datetime(2026, 11, 7)})
        print("WRITTEN", flush=True)
        sys.stdin.readline()  # hold the file open (and locked) until told to finish
    """
)


def start_writer(directory: Path, name: str, count: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), name, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "WRITTEN"
    return child


def test_issue13_3_two_writer_processes_journals_both_replay(store: DuckDBCacheStore) -> None:
    cache = ResponseCache(store)
    with start_writer(store.journal_dir, "a", 300) as first, start_writer(store.journal_dir, "b", 200) as second:
        assert len(cache.journal.files()) == 2  # one file per writer
        assert len(cache.lookup([f"a-{i}" for i in range(300)] + [f"b-{i}" for i in range(200)])) == 500
        assert cache.settle() == Settled()  # both still writing: neither file is taken
        first.communicate("done\n", timeout=30)  # finishes normally
        os.kill(second.pid, signal.SIGKILL)  # dies holding its lock: the kernel releases it
        second.wait(timeout=30)
    assert cache.settle() == Settled(rows=500, files=2)
    assert sorted(set(cached(store.database).values())) == ["a", "b"]
    assert len(cached(store.database)) == 500
    assert cache.journal.files() == []


def test_a_locked_warehouse_keeps_answers_in_the_journal_and_says_why(store: DuckDBCacheStore, tmp_path: Path) -> None:
    with duckdb.connect(str(store.database)) as conn:
        wh.ensure_schema(conn)
    with JournalWriter(store.journal_dir) as writer:
        writer.append(row("h1"))
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(store.database)!r}, read_only=True); "
         "print('HELD', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        cache = ResponseCache(DuckDBCacheStore(store.database, store_wait_s=0.1))
        settled = cache.settle()
        assert settled.kept_because is not None and "IOException" in settled.kept_because
        assert "answers kept in the answer journal" in (settled.message() or "")
        assert len(cache.journal.files()) == 1
        assert set(cache.lookup(["h1"])) == {"h1"}  # served read-only from the warehouse plus the journal
    finally:
        holder.communicate("done\n", timeout=30)
    assert ResponseCache(store).settle().rows == 1
    assert cached(store.database) == {"h1": "answer"}


def test_a_fully_cached_replay_leaves_no_journal_file(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "journal")
    writer.close()
    assert not (tmp_path / "journal").exists()


def test_the_cache_layer_does_not_import_the_warehouse_or_dagster() -> None:
    # Issue 7 item 5: llm/ talks to storage through the CacheStore interface, never the other way round.
    modules = ["eval_assets.llm.cache", "eval_assets.llm.journal", "eval_assets.llm.cached_replay"]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + (
            "bad = [m for m in ('eval_assets.warehouse', 'duckdb', 'dagster', 'litellm') if m in sys.modules]\n"
            "assert not bad, bad\n"
        )
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_only_old_abandoned_staging_files_are_removed(store: DuckDBCacheStore) -> None:
    # A writer killed between creating its file and renaming it into the journal leaves an empty staging
    # file; a live writer renames its own within microseconds, so a fresh one is never touched.
    store.journal_dir.mkdir(parents=True)
    old = store.journal_dir / ".answers-1-1-aa.jsonl.new"
    fresh = store.journal_dir / ".answers-2-2-bb.jsonl.new"
    old.touch()
    fresh.touch()
    os.utime(old, (0, 0))
    assert ResponseCache(store).settle() == Settled()
    assert not old.exists() and fresh.exists()


def test_a_lookup_waits_for_another_writer_instead_of_guessing(store: DuckDBCacheStore) -> None:
    # Not knowing what is cached would mean paying again: a lookup waits while another process writes.
    store.store([row("h1", "stored")])
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(store.database)!r}); "
         "print('HELD', flush=True); time.sleep(2.0)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    with holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        started = time.monotonic()
        with pytest.raises(duckdb.IOException, match="lock"):  # a short wait gives up
            DuckDBCacheStore(store.database, lookup_wait_s=0.1).lookup(["h1"])
        assert DuckDBCacheStore(store.database).lookup(["h1"])[0]["output_text"] == "stored"
        assert time.monotonic() - started > 1.0  # it waited for the writer to go
