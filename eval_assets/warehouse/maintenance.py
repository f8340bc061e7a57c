"""After rows are removed: give the space back (DuckLake compaction and snapshot expiry; CHECKPOINT on a file).

On a DuckLake a removal writes small delete files beside the Parquet files and a new snapshot; the old data
stays readable by time travel until its snapshots expire. The DuckLake 1.4.4 extension (``duckdb-ext-ducklake``)
has the functions, run here in this order:

- ``ducklake_rewrite_data_files``: rewrites each data file a tenth of whose rows are deleted, without them;
- ``ducklake_merge_adjacent_files``: merges the small files each cell write leaves into larger ones;
- ``ducklake_expire_snapshots(older_than => T)``: forgets snapshots older than T (the latest always stays);
  files only they referenced are scheduled for deletion;
- ``ducklake_cleanup_old_files(older_than => T)``: deletes files scheduled for deletion before T;
- ``ducklake_delete_orphaned_files(older_than => T)``: deletes files older than T no snapshot knows (left by a
  crashed writer).

T is now minus a grace period: a reader's transaction that began before the removal keeps its snapshot's
files for that long (DuckLake's advice is days; a query in an analyst's session takes a fresh snapshot each
time). Files replaced by this run are therefore deleted by a later run, once they are older than the grace.

A plain DuckDB file gets ``CHECKPOINT``: the freed blocks are reused by later writes, but DuckDB 1.4 does not
shrink the file (measured: the size stays the same after removing most rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from eval_assets.warehouse.connection import quoted, scalar
from eval_assets.warehouse.location import WarehouseLocation, parse_location

#: The steps on a lake, each a table function taking the catalog name first.
LAKE_STEPS = (
    "ducklake_rewrite_data_files",
    "ducklake_merge_adjacent_files",
    "ducklake_expire_snapshots",
    "ducklake_cleanup_old_files",
    "ducklake_delete_orphaned_files",
)
#: Rewrite a data file once this share of its rows is deleted (DuckLake's default is 0.95). A file holding one
#: night's cell is deleted whole; one holding many nights (a migrated warehouse, merged files) loses a few
#: weeks' worth a run, and would otherwise keep its removed rows on disk for ever.
REWRITE_DELETE_THRESHOLD = 0.1
_TAKES_OLDER_THAN = {"ducklake_expire_snapshots", "ducklake_cleanup_old_files", "ducklake_delete_orphaned_files"}


@dataclass(frozen=True)
class Maintenance:
    """What maintenance did, and the warehouse's size on disk before and after (None when not on local disk)."""

    steps: tuple[tuple[str, int], ...]
    bytes_before: int | None
    bytes_after: int | None


def storage_bytes(location: str | Path | WarehouseLocation) -> int | None:
    """Bytes on local disk: the catalog (or file) with its WAL, plus a lake's data files; None if not local."""
    where = parse_location(location)
    files: list[Path] = []
    catalog = where.catalog_file
    if catalog is not None:
        files += [p for p in (catalog, Path(f"{catalog}.wal"), Path(f"{catalog}-wal")) if p.exists()]
    elif where.is_lake:
        return None  # a PostgreSQL catalog: its size is the server's
    if where.is_lake and where.data_path:
        if "://" in where.data_path:
            return None
        root = Path(where.data_path)
        files += [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return sum(p.stat().st_size for p in files)


def give_space_back(
    conn: duckdb.DuckDBPyConnection, location: str | Path | WarehouseLocation, *, grace: dt.timedelta
) -> Maintenance:
    """Compact a lake and expire its snapshots older than ``grace``, or CHECKPOINT a plain file.

    Returns:
        The steps run with how many rows each reported (files rewritten, snapshots expired, files deleted).
    """
    where = parse_location(location)
    before = storage_bytes(where)
    steps: list[tuple[str, int]] = []
    if where.is_lake:
        catalog = quoted(str(scalar(conn, "SELECT current_database()")))
        for step in LAKE_STEPS:
            older_than = (dt.datetime.now(dt.UTC) - grace).strftime("%Y-%m-%d %H:%M:%S.%f+00")  # at each step
            extra = f", older_than => TIMESTAMPTZ '{older_than}'" if step in _TAKES_OLDER_THAN else ""
            if step == "ducklake_rewrite_data_files":
                extra = f", delete_threshold => {REWRITE_DELETE_THRESHOLD}"
            rows = conn.execute(f"CALL {step}('{catalog}'{extra})").fetchall()
            steps.append((step, len(rows)))
    else:
        conn.execute("CHECKPOINT")
        steps.append(("CHECKPOINT", 0))
    return Maintenance(tuple(steps), before, storage_bytes(where))
