"""Connections (a DuckLake attached, or a plain DuckDB file), write transactions retried, two query helpers.

A DuckLake connection is an in-memory DuckDB database with the lake attached as ``warehouse`` and made the
default catalog, so every query of the package names its tables unqualified, on either backend. The
extensions come from the ``duckdb-ext-*`` wheels and are loaded by path: ``INSTALL`` would need the internet.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import importlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from eval_assets.warehouse.location import CATALOG_EXTENSIONS, WarehouseLocation, parse_location

#: The name the lake is attached under (the default catalog of a lake connection).
LAKE_ALIAS = "warehouse"
#: SQLite waits this long for the catalog's write lock before DuckLake reports "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


class ExtensionMissingError(RuntimeError):
    """A DuckDB extension file the lake needs is not installed (the duckdb-ext-* packages)."""


def extension_file(name: str) -> Path:
    """The ``.duckdb_extension`` file of ``name`` shipped by the duckdb-ext-* wheel for this DuckDB version."""
    try:
        import duckdb_ext  # namespace package of the duckdb-ext-* wheels (no __init__)
    except ImportError as exc:
        raise ExtensionMissingError("the duckdb-ext-* packages are not installed: pip install -e .") from exc
    for root in duckdb_ext.__path__:
        found = sorted(
            glob.glob(os.path.join(root, "extensions", f"v{duckdb.__version__}", "*", f"{name}.duckdb_extension"))
        )
        if found:
            return Path(found[0])
    raise ExtensionMissingError(
        f"no {name} extension for DuckDB {duckdb.__version__} in the duckdb-ext-* packages: reinstall with "
        "`pip install -e . -c constraints.txt` (their version must match duckdb's)"
    )


def connect(
    location: str | Path | WarehouseLocation | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse; close it (``with connect(...) as conn:`` does).

    For notebooks: ``eval_assets.warehouse.connect(read_only=True)`` opens the configured warehouse (the
    ``EVAL_ASSETS_WAREHOUSE`` setting, else the default DuckLake under ``data/``) with its tables and views
    ready to query, while runs write.

    A lake connection is a cursor on one in-memory DuckDB database per process, in which each lake is
    attached once (loading the extensions ~15 ms each, attaching ~0.1 s), then a cursor costs ~1 ms.

    Args:
        location: The warehouse setting or a parsed location; None: the configured one.
        read_only: Attach read-only (a lake) or open the file read-only (a plain DuckDB file).

    Raises:
        duckdb.Error: the warehouse cannot be opened (a plain file locked by a writer, a catalog unreachable).
    """
    if location is None:
        from eval_assets.settings import Settings  # the settings know where the data directory is

        location = Settings.from_env().warehouse_path
    where = parse_location(location)
    if not where.is_lake:
        return duckdb.connect(where.target, read_only=read_only)
    with _LOCK:
        instance, attached = _process_instance()
        key = (str(where), read_only)
        if key not in attached:
            alias = LAKE_ALIAS if not attached else f"{LAKE_ALIAS}_{len(attached) + 1}"
            attach_lake(instance, where, read_only=read_only, alias=alias)
            attached[key] = alias
        cursor = instance.cursor()
    cursor.execute(f"USE {attached[key]}")
    return cursor


_LOCK = threading.Lock()
#: (pid, the in-memory database, {(location, read_only): alias}): a forked child builds its own.
_INSTANCE: tuple[int, duckdb.DuckDBPyConnection, dict[tuple[str, bool], str]] | None = None


def _process_instance() -> tuple[duckdb.DuckDBPyConnection, dict[tuple[str, bool], str]]:
    global _INSTANCE
    if _INSTANCE is None or _INSTANCE[0] != os.getpid():
        # Checking an extension's signature costs ~1 s per 50 MB file, in every process (each step of
        # Dagster's multiprocess executor is one): 2 s of a step's start-up. It adds nothing here: this
        # database LOADs only the files of the duckdb-ext-* wheels (``extension_file``), which pip checked
        # against the wheel's hashes and which sit in site-packages beside duckdb's own code, as trusted as
        # it is. The read-only query surface (``sandbox``) keeps the check and refuses LOAD altogether.
        instance = duckdb.connect(
            ":memory:",
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "allow_unsigned_extensions": True,
            },
        )
        _INSTANCE = (os.getpid(), instance, {})
    return _INSTANCE[1], _INSTANCE[2]


def load_extensions(conn: duckdb.DuckDBPyConnection, where: WarehouseLocation) -> None:
    """LOAD ``ducklake`` and the catalog's extension from the duckdb-ext-* wheels."""
    for name in _extensions(where):
        conn.execute(f"LOAD '{quoted(str(extension_file(name)))}'")


def _extensions(where: WarehouseLocation) -> tuple[str, ...]:
    extension = CATALOG_EXTENSIONS[where.catalog or "duckdb"]
    return ("ducklake", extension) if extension else ("ducklake",)


def attach_options(where: WarehouseLocation, *, read_only: bool) -> str:
    """The ``(...)`` options of ``ATTACH`` for a lake: data path, SQLite's busy timeout, READ_ONLY."""
    options = []
    if where.data_path:
        options.append(f"DATA_PATH '{quoted(where.data_path)}'")
    if where.catalog == "sqlite":
        options.append(f"METADATA_PARAMETERS MAP {{'busy_timeout': '{SQLITE_BUSY_TIMEOUT_MS}'}}")
    if read_only:
        options.append("READ_ONLY")
    return f" ({', '.join(options)})" if options else ""


def attach_lake(
    conn: duckdb.DuckDBPyConnection, where: WarehouseLocation, *, read_only: bool, alias: str = LAKE_ALIAS
) -> None:
    """LOAD the extensions and ATTACH the lake under ``alias`` (created on first read-write attach)."""
    load_extensions(conn, where)
    if not read_only:
        if where.data_path and "://" not in where.data_path:
            Path(where.data_path).mkdir(parents=True, exist_ok=True)
        if where.catalog == "sqlite":
            _prepare_sqlite_catalog(Path(where.target))
    statement = f"ATTACH '{quoted(where.attach_url())}' AS {alias}{attach_options(where, read_only=read_only)}"
    delay = 0.05
    for attempt in range(1, 31):
        try:
            conn.execute(statement)
            break
        except duckdb.Error as exc:
            # Two processes creating a new lake at once race on its catalog tables: "database is locked" on
            # SQLite; on PostgreSQL the loser's CREATE TABLE hits the winner's ("duplicate key value violates
            # unique constraint pg_type_typname_nsp_index", or "already exists"). The retry finds the lake made.
            if attempt == 30 or not (is_write_conflict(exc) or _lost_a_creation_race(exc)):
                raise
            conn.execute(f"DETACH DATABASE IF EXISTS {alias}")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
    # DuckLake retries a commit that lost a race on the catalog itself a few times; more is cheaper than ours.
    conn.execute("SET ducklake_max_retry_count = 100")


def _lost_a_creation_race(exc: BaseException) -> bool:
    """Whether an ATTACH failed because another process created the same new catalog at that moment."""
    message = str(exc).lower()
    return "duplicate key value violates unique constraint" in message or "already exists" in message


def attach_sql(location: str | Path | WarehouseLocation) -> str:
    """Statements that open the warehouse read-only in any DuckDB 1.4.4 session (the CLI: ``duckdb -cmd``).

    Paths are made absolute, so the statements work from any directory.
    """
    where = parse_location(location)
    if not where.is_lake:
        return f"ATTACH '{quoted(str(Path(where.target).absolute()))}' AS {LAKE_ALIAS} (READ_ONLY); USE {LAKE_ALIAS};"
    if where.catalog_file is not None:
        data = where.data_path and str(Path(where.data_path).absolute()) + os.sep
        where = WarehouseLocation(
            where.kind, where.catalog, str(Path(where.target).absolute()), data, where.journal_dir
        )
    extension = CATALOG_EXTENSIONS[where.catalog or "duckdb"]
    loads = [
        f"LOAD '{quoted(str(extension_file(name)))}';" for name in ("ducklake", *([extension] if extension else []))
    ]
    return "\n".join(
        [
            *loads,
            f"ATTACH '{quoted(where.attach_url())}' AS {LAKE_ALIAS}{attach_options(where, read_only=True)};",
            f"USE {LAKE_ALIAS};",
        ]
    )


def _prepare_sqlite_catalog(path: Path) -> None:
    """Put a SQLite catalog in WAL mode (once; the mode is stored in the file).

    In SQLite's default journal mode a reader holding a transaction open blocks every commit; in WAL mode
    readers and the writer do not wait for each other (measured: see the README's "Warehouse" section).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000) as catalog:
        if catalog.execute("PRAGMA journal_mode").fetchone() != ("wal",):
            catalog.execute("PRAGMA journal_mode=WAL")
    catalog.close()


def quoted(text: str) -> str:
    return text.replace("'", "''")


def is_write_conflict(exc: BaseException) -> bool:
    """Whether a failed write lost a race with another writer, so running it again can succeed."""
    if not isinstance(exc, duckdb.Error):
        return False
    message = str(exc).lower()
    return isinstance(exc, duckdb.TransactionException) or any(
        marker in message
        for marker in ("conflict", "database is locked", "could not serialize", "deadlock detected", "retry count")
    )


def in_transaction(
    conn: duckdb.DuckDBPyConnection,
    work: Callable[[], T],
    *,
    attempts: int = 30,
    first_delay_s: float = 0.05,
    max_delay_s: float = 2.0,
) -> T:
    """Run ``work`` in one transaction; a commit that lost a race with another writer runs it again.

    ``work`` must be safe to repeat (a cell's delete-then-insert is): it sees the winner's rows the next time.
    Waits grow exponentially with jitter, so writers that collided do not collide again in step.

    Raises:
        duckdb.Error: a failure that is no write conflict, or a conflict on every attempt.
    """
    delay = first_delay_s
    catalog = sqlite_catalog_of(conn)
    for attempt in range(1, attempts + 1):
        try:
            with catalog_write_lock(catalog):
                conn.execute("BEGIN TRANSACTION")
                try:
                    result = work()
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            return result
        except duckdb.Error as exc:
            if attempt == attempts or not is_write_conflict(exc):
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, max_delay_s)
    raise AssertionError("unreachable")  # pragma: no cover


def sqlite_catalog_of(conn: duckdb.DuckDBPyConnection) -> Path | None:
    """The SQLite catalog file of the lake that is the connection's default catalog (None: another backend)."""
    row = conn.execute("SELECT type, path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    if row is None or row[0] != "ducklake" or not str(row[1] or "").startswith("sqlite:"):
        return None
    return Path(str(row[1]).removeprefix("sqlite:"))


_HELD = threading.local()


@contextlib.contextmanager
def catalog_write_lock(catalog: Path | None) -> Iterator[None]:
    """Hold the write lock of a SQLite catalog (``<catalog>-writer.lock``, an ``flock``) for a transaction.

    SQLite lets one transaction write at a time, and DuckLake reads the catalog in a transaction it upgrades
    to a write at commit: when another writer committed in between, SQLite refuses the commit at once
    ("database is locked"; its busy timeout does not apply to an upgrade) and the whole transaction (its
    Parquet files included) is done again. Measured with 3-4 processes each writing one cell at once: 1-4
    failed commits per writer, parallel writes 2-3x slower than the same writes in series. Queueing the
    writers of this machine on a lock instead makes them wait their turn, never redo their work. Readers
    take no lock (WAL mode), and a writer that does not take it (another tool) is still retried.
    """
    held: set[Path] = _HELD.__dict__.setdefault("catalogs", set())
    if catalog is None or catalog in held:  # nothing to lock, or this thread holds it already
        yield
        return
    # DuckDB imports pyarrow.dataset on its first scan of a Polars frame (~0.7 s, once per process): do it
    # before the lock, so that the other writers do not wait for an import.
    importlib.import_module("pyarrow.dataset")
    fd = os.open(f"{catalog}-writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the kernel releases it when the holder exits, however it exits
        held.add(catalog)
        try:
            yield
        finally:
            held.discard(catalog)
    finally:
        os.close(fd)


def _rollback(conn: duckdb.DuckDBPyConnection) -> None:
    """Roll back; a COMMIT DuckLake refused has ended the transaction already ("no transaction is active")."""
    with contextlib.suppress(duckdb.TransactionException):
        conn.execute("ROLLBACK")


def scalar(conn: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] = ()) -> Any:
    """The single value of a query (every row is fetched, so the connection is free for the next query)."""
    rows = conn.execute(query, list(params)).fetchall()
    return rows[0][0] if rows else None


def sql_frame(
    conn: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> pl.DataFrame:
    """Run a query and return a Polars frame."""
    frame: pl.DataFrame = conn.sql(query, params=params).pl() if params is not None else conn.sql(query).pl()
    return frame


def current_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views of the connection's default catalog (a lake's catalog database is not counted)."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = current_schema()"
    ).fetchall()
    return {row[0] for row in rows}
