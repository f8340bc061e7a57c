"""Moving over: copy an existing DuckDB warehouse (any schema version) into a lake, row counts checked.

The source is read into an in-memory DuckDB database and upgraded there to the current schema (the
source is never changed), then every table is copied into the lake in one transaction: a failed or
interrupted copy leaves the lake as it was. The source is a DuckDB file this DuckDB can read, or the
folder ``EXPORT DATABASE ... (FORMAT parquet)`` wrote, which any DuckDB version can produce: DuckDB 1.4
cannot open files written by DuckDB 2.0, so a 2.0 warehouse is exported with 2.0 first.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from eval_assets.warehouse.connection import in_transaction, quoted, scalar
from eval_assets.warehouse.migrations import ensure_schema, schema_version
from eval_assets.warehouse.schema import TABLES

#: The DuckDB storage versions of files this DuckDB reads are checked by DuckDB itself; this is what the
#: header of a file looks like (8 bytes checksum, the magic, then the version as a little-endian integer).
_MAGIC = b"DUCK"


class CopyError(RuntimeError):
    """The source cannot be copied (unreadable, not a warehouse, the target not empty); nothing was written."""


@dataclass(frozen=True)
class CopiedTable:
    """Rows of one table in the source and in the lake after the copy."""

    table: str
    source_rows: int
    target_rows: int


def storage_version(path: Path) -> int | None:
    """The storage version number in a DuckDB file's header (None: not a DuckDB file)."""
    with path.open("rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[8:12] != _MAGIC:
        return None
    return int.from_bytes(header[12:20], "little")


def _own_storage_version() -> int:
    """The storage version of a file this DuckDB writes (files of a higher one come from a newer DuckDB)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.duckdb"
        duckdb.connect(str(path)).close()
        return storage_version(path) or 0


def export_command(path: Path) -> str:
    """The commands that turn a DuckDB 2.0 file into a folder this version can read."""
    folder = path.with_name(f"{path.stem}-export")
    return (
        "python3 -m venv /tmp/duckdb2 && /tmp/duckdb2/bin/pip install duckdb==2.0.0 && /tmp/duckdb2/bin/python -c "
        f"\"import duckdb; duckdb.connect('{path}', read_only=True).execute("
        f'\\"EXPORT DATABASE \'{folder}\' (FORMAT parquet)\\")"'
        f" && eval-assets warehouse migrate --from {folder}"
    )


def _staging(source: Path) -> duckdb.DuckDBPyConnection:
    """The source's tables in an in-memory database, upgraded to the current schema."""
    staging = duckdb.connect(":memory:")
    try:
        if source.is_dir():
            files = {file.stem: file for file in source.glob("*.parquet")}
            for name in (*TABLES, "schema_version"):
                if name in files:
                    staging.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{quoted(str(files[name]))}')")
        else:
            if storage_version(source) is None:
                raise CopyError(f"{source} is not a DuckDB file (nor an EXPORT DATABASE folder)")
            try:
                staging.execute(f"ATTACH '{quoted(str(source))}' AS source (READ_ONLY)")
            except duckdb.IOException as exc:
                if "version number" not in str(exc) and not (storage_version(source) or 0) > _own_storage_version():
                    raise CopyError(f"cannot read {source}: {str(exc).splitlines()[0]}") from None
                raise CopyError(
                    f"{source} was written by a newer DuckDB (storage version {storage_version(source)}, which "
                    f"DuckDB {duckdb.__version__} cannot read): export it with DuckDB 2.0 and migrate the folder:\n"
                    f"  {export_command(source)}"
                ) from None
            present = {
                row[0]
                for row in staging.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'source'"
                ).fetchall()
            }
            for name in (*TABLES, "schema_version"):
                if name in present:
                    staging.execute(f"CREATE TABLE memory.main.{name} AS SELECT * FROM source.main.{name}")
            staging.execute("DETACH source")
        if schema_version(staging) is None:
            raise CopyError(f"{source} holds no eval_assets warehouse tables")
        ensure_schema(staging)
        return staging
    except BaseException:
        staging.close()
        raise


def copy_warehouse(source: Path, target: duckdb.DuckDBPyConnection) -> list[CopiedTable]:
    """Copy a DuckDB warehouse (file or export folder) into ``target``, whose schema must be in place and empty.

    Raises:
        CopyError: the source is unreadable or no warehouse, the target holds rows already, or a count differs.
    """
    if not source.exists():
        raise CopyError(f"no warehouse at {source}")
    filled = {name: int(scalar(target, f"SELECT count(*) FROM {name}")) for name in TABLES}
    if any(filled.values()):
        busy = ", ".join(f"{name} ({rows})" for name, rows in filled.items() if rows)
        raise CopyError(f"the target warehouse is not empty: {busy}; migrate into a new one")
    staging = _staging(source)
    try:
        counts = {name: int(scalar(staging, f"SELECT count(*) FROM {name}")) for name in TABLES}
        batches = {name: staging.sql(f"SELECT * FROM {name}").fetch_arrow_table() for name in TABLES if counts[name]}
    finally:
        staging.close()
    for name, batch in batches.items():
        target.register(f"copied_{name}", batch)

    def copy() -> None:
        for name in batches:
            target.execute(f"INSERT INTO {name} BY NAME SELECT * FROM copied_{name}")

    try:
        in_transaction(target, copy)
    finally:
        for name in batches:
            target.unregister(f"copied_{name}")
    copied = [CopiedTable(name, counts[name], int(scalar(target, f"SELECT count(*) FROM {name}"))) for name in TABLES]
    wrong = [c for c in copied if c.source_rows != c.target_rows]
    if wrong:
        differ = ", ".join(f"{c.table} {c.source_rows} -> {c.target_rows}" for c in wrong)
        raise CopyError(f"row counts differ after the copy: {differ}")
    return copied
