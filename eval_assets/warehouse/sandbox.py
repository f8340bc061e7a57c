"""The read-only query surface: `eval-assets sql`, notebooks, and any page that hands out a connection."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from eval_assets.warehouse.connection import attach_options, load_extensions, quoted, scalar
from eval_assets.warehouse.location import WarehouseLocation, parse_location
from eval_assets.warehouse.schema import TABLES, VIEWS

#: What a query may name: the documented tables and views (README "Tables and views"), nothing else.
QUERYABLE = (*TABLES, *VIEWS, "schema_version")
#: Table functions that run SQL given as a string, which could name the attached file's own catalog.
_DYNAMIC_SQL = frozenset({"query", "query_table", "json_execute_serialized_sql"})
_ONLY_SELECT = "this read-only connection runs one SELECT query (WITH, FROM-first, DESCRIBE, SHOW, SUMMARIZE)"
#: DuckDB's statement types that cover several keywords, named by those keywords.
_STATEMENT_KEYWORDS = {"LOAD": "INSTALL/LOAD", "SET": "SET/RESET/USE"}


class QueryRefusedError(ValueError):
    """The read-only session would not run a query, or stopped it; the message says why and what to do."""


class ReadOnlySession:
    """A sandboxed, read-only session on the warehouse; make one with :func:`connect_readonly`.

    Attributes:
        timeout_s: Statement timeout in seconds.
        max_rows: Largest result :meth:`sql` returns.
        tables: The tables and views queries may name.
    """

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        alias: str,
        tables: Sequence[str],
        *,
        timeout_s: float,
        max_rows: int,
        memory_limit: str,
    ) -> None:
        self._conn, self._alias, self._memory_limit = conn, alias, memory_limit
        self.timeout_s, self.max_rows, self.tables = timeout_s, max_rows, tuple(tables)

    def sql(self, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> pl.DataFrame:
        """Check and run one SELECT query and return its result.

        Args:
            query: One SELECT statement (``$name`` or ``?`` placeholders for ``params``).
            params: Values of the placeholders.

        Raises:
            QueryRefusedError: the query is not a single SELECT, names the attached file or runs SQL from a
                string, touches files or extensions, or exceeds the timeout, the memory limit or ``max_rows``.
            duckdb.Error: any other error (syntax, unknown table or column, ...).
        """
        self._check(query)
        frame = self._within_limits(lambda: self._conn.sql(query, params=params).limit(self.max_rows + 1).pl())
        if frame.height > self.max_rows:
            raise QueryRefusedError(
                f"the result has more than {self.max_rows:,} rows: add a LIMIT or aggregate "
                "(or raise the cap: `--max-rows N`, `max_rows=` in connect_readonly)"
            )
        return frame

    def close(self) -> None:
        """Close the session (the warehouse file is released)."""
        self._conn.close()

    def __enter__(self) -> ReadOnlySession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check(self, query: str) -> None:
        statements = self._conn.extract_statements(query)
        if not statements:
            raise QueryRefusedError("the query is empty")
        for number, statement in enumerate(statements, 1):
            if statement.type.name != "SELECT":
                which = f"statement {number} of {len(statements)}" if len(statements) > 1 else "the query"
                kind = _STATEMENT_KEYWORDS.get(statement.type.name, statement.type.name)
                raise QueryRefusedError(f"refused: {which} is a statement of type {kind}; {_ONLY_SELECT}")
        if len(statements) > 1:
            raise QueryRefusedError(f"refused: the query holds {len(statements)} statements; {_ONLY_SELECT}")
        if self._alias in query.lower():
            raise QueryRefusedError("refused: name the documented tables and views, not the attached warehouse file")
        tree = json.loads(scalar(self._conn, "SELECT json_serialize_sql(?)", [query]))
        if tree.get("error"):
            raise QueryRefusedError(f"refused: the query could not be checked ({tree.get('error_message')})")
        called = sorted(_DYNAMIC_SQL.intersection(_function_names(tree)))
        if called:
            raise QueryRefusedError(f"refused: {called[0]}() runs SQL from a string; write the query itself")

    def _within_limits(self, work: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        # DuckDB has no statement timeout of its own: a timer interrupts the connection. The lock makes
        # "finished" and "interrupted" exclusive, so a late timer never hits the session's next query.
        lock, state = threading.Lock(), {"done": False, "fired": False}

        def stop() -> None:
            with lock:
                if not state["done"]:
                    state["fired"] = True
                    self._conn.interrupt()

        timer = threading.Timer(self.timeout_s, stop)
        timer.daemon = True
        timer.start()
        try:
            return work()
        except duckdb.Error as exc:
            refusal = self._refusal(exc, interrupted=state["fired"])
            if refusal is None:
                raise
            raise refusal from None
        finally:
            with lock:
                state["done"] = True
            timer.cancel()

    def _refusal(self, exc: duckdb.Error, *, interrupted: bool) -> QueryRefusedError | None:
        """What to tell the user when the sandbox stopped a query (None: an ordinary SQL error)."""
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, duckdb.InterruptException) and interrupted:
            return QueryRefusedError(
                f"the query was stopped after {self.timeout_s:g} s (the statement timeout); make it cheaper "
                "or raise the timeout (`--timeout SECONDS`, `timeout_s=` in connect_readonly)"
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return QueryRefusedError(
                f"the query needs more than the {self._memory_limit} memory limit; filter or aggregate more "
                "(or raise it: `--memory-limit 4GB`, `memory_limit=` in connect_readonly)"
            )
        if isinstance(exc, duckdb.PermissionException):
            return QueryRefusedError(
                f"refused: queries here cannot read or write files, attach databases or load extensions ({first_line})"
            )
        if isinstance(exc, duckdb.CatalogException) and "extension" in first_line:
            # DuckDB's own advice (INSTALL, LOAD, SET autoinstall...) cannot work here: do not repeat it.
            return QueryRefusedError(f"refused: {first_line} This connection installs and loads no extensions.")
        return None


def _function_names(node: object) -> Iterator[str]:
    """Every function name in a serialized query tree (json_serialize_sql), at any depth."""
    if isinstance(node, dict):
        name = node.get("function_name")
        if isinstance(name, str):
            yield name.lower()
        for value in node.values():
            yield from _function_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _function_names(item)


def connect_readonly(
    path: str | Path | WarehouseLocation | None = None,
    *,
    timeout_s: float = 30.0,
    memory_limit: str = "1GB",
    threads: int = 2,
    max_rows: int = 100_000,
) -> ReadOnlySession:
    """A read-only session on the warehouse that is safe to hand to a dashboard user or a notebook.

    The session is an in-memory DuckDB database in which the warehouse (a lake, or a DuckDB file) is
    attached ``READ_ONLY`` under a random name, and the documented tables and views (:data:`QUERYABLE`) are
    views onto it. A lake reads the snapshot current at each query, so the session sees nights committed
    after it opened, and never holds up a run. Then the configuration is locked: no file access beyond the
    lake's own data files (no ``COPY``/``EXPORT``, ``glob``, ``ATTACH``, spilling to disk), no extension
    install, autoload or community extensions, no persistent
    secrets, the memory limit and thread cap fixed. :meth:`ReadOnlySession.sql` also refuses anything but
    one SELECT statement and applies the timeout and row cap. Example::

        from eval_assets.warehouse import connect_readonly
        with connect_readonly() as session:  # the configured warehouse
            frame = session.sql("SELECT * FROM pass_rates WHERE tag = '(all)'")

    Args:
        path: The warehouse setting (see :mod:`eval_assets.warehouse.location`) or a DuckDB file's path;
            None: the configured one (``EVAL_ASSETS_WAREHOUSE``, else the default lake under ``data/``).
        timeout_s: Statement timeout in seconds.
        memory_limit: DuckDB memory limit, e.g. ``"1GB"``.
        threads: DuckDB worker threads (at most the machine's cores).
        max_rows: Largest result a query may return.

    Raises:
        duckdb.Error: the file cannot be opened read-only (e.g. a run is writing it) or is not a warehouse.
    """
    if not (timeout_s > 0 and max_rows > 0 and threads > 0):
        raise ValueError("timeout_s, max_rows and threads must be positive")
    alias = f"warehouse_{secrets.token_hex(8)}"
    conn = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
            "memory_limit": memory_limit,
            "threads": min(threads, os.cpu_count() or 1),
            "temp_directory": "",  # an in-memory database would otherwise spill to ./.tmp
        },
    )
    try:
        if path is None:
            from eval_assets.settings import Settings  # the settings know where the data directory is

            path = Settings.from_env().warehouse_path
        where = parse_location(path)
        if where.is_lake:
            load_extensions(conn, where)
            conn.execute(f"ATTACH '{quoted(where.attach_url())}' AS {alias}{attach_options(where, read_only=True)}")
            if where.data_path:  # the lake's Parquet files are the one place queries may read
                conn.execute("SET allowed_directories = [?]", [where.data_path])
        else:
            conn.execute(f"ATTACH '{quoted(where.target)}' AS {alias} (READ_ONLY)")
        present = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [alias]
            ).fetchall()
        }
        tables = [name for name in QUERYABLE if name in present]
        for name in tables:
            conn.execute(f'CREATE VIEW memory.main."{name}" AS SELECT * FROM {alias}.main."{name}"')
        # Access to files ends here: from now on the session can read only what it has attached.
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
        return ReadOnlySession(conn, alias, tables, timeout_s=timeout_s, max_rows=max_rows, memory_limit=memory_limit)
    except BaseException:
        conn.close()
        raise
