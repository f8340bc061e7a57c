"""Where the warehouse lives: one setting, parsed once into a location every connection opens the same way.

The setting (``EVAL_ASSETS_WAREHOUSE``) is one string:

- unset: the default, a DuckLake with a SQLite catalog ``<data dir>/warehouse.sqlite`` and its Parquet files in
  ``<data dir>/warehouse.files/``. Nothing to start; readers may hold sessions while runs write.
- ``ducklake:sqlite:PATH`` or ``ducklake:postgres:CONNINFO`` (or ``ducklake:duckdb:PATH``), optionally followed by
  ``?data_path=PATH``: a DuckLake with that catalog. A file catalog keeps its Parquet files beside it
  (``<catalog without suffix>.files/``) unless ``data_path`` says otherwise; a PostgreSQL catalog needs
  ``data_path`` (a shared folder, or ``s3://...`` with DuckDB's httpfs and a secret) when it is created.
- ``PATH.duckdb``: a plain DuckDB file (one writing process at a time, no reader beside a writer).

Passwords do not belong in the setting: libpq reads ``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: Catalog databases DuckLake can keep its metadata in, and the extension each needs besides ``ducklake``.
CATALOG_EXTENSIONS = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner", "duckdb": None}
_DATA_PATH = "?data_path="


class WarehouseSettingError(ValueError):
    """The warehouse setting cannot be understood; the message says which forms it takes."""


@dataclass(frozen=True)
class WarehouseLocation:
    """A parsed warehouse setting.

    Attributes:
        kind: ``ducklake`` or a plain ``duckdb`` file.
        catalog: For a lake, the catalog database kind (``sqlite``, ``postgres``, ``duckdb``); else None.
        target: The catalog's path or connection string (a lake), or the DuckDB file's path.
        data_path: Where a lake keeps its Parquet files (None: a plain file, or a PostgreSQL catalog that
            already records it).
        journal_dir: The response cache's answer journal, on this machine.
    """

    kind: Literal["ducklake", "duckdb"]
    catalog: str | None
    target: str
    data_path: str | None
    journal_dir: Path

    @property
    def is_lake(self) -> bool:
        """Whether this is a DuckLake (several writers, readers beside them)."""
        return self.kind == "ducklake"

    @property
    def catalog_file(self) -> Path | None:
        """The catalog's (or the plain warehouse's) file, when it is a file."""
        if self.kind == "duckdb" or self.catalog in ("sqlite", "duckdb"):
            return Path(self.target)
        return None

    def exists(self) -> bool:
        """Whether the warehouse was created (a PostgreSQL catalog is taken to exist: a connection would tell)."""
        file = self.catalog_file
        return file.exists() if file is not None else True

    def attach_url(self) -> str:
        """The string DuckDB's ``ATTACH`` takes (``ducklake:sqlite:...``) or the DuckDB file's path."""
        return f"ducklake:{self.catalog}:{self.target}" if self.is_lake else self.target

    def __str__(self) -> str:
        """The setting as written (so messages name what the user configured)."""
        if not self.is_lake:
            return self.target
        return self.attach_url() + (f"{_DATA_PATH}{self.data_path}" if self.data_path else "")


def default_setting(data_dir: Path) -> str:
    """The default warehouse of a data directory: a DuckLake with a SQLite catalog under it."""
    return f"ducklake:sqlite:{data_dir / 'warehouse.sqlite'}"


def parse_location(setting: str | Path | WarehouseLocation, *, data_dir: Path | None = None) -> WarehouseLocation:
    """Parse the warehouse setting (see the module docstring for its forms).

    Args:
        setting: The setting, or a path (a plain DuckDB file), or an already parsed location.
        data_dir: The data directory; a PostgreSQL catalog's answer journal goes under it (default: the
            ``EVAL_ASSETS_DATA_DIR`` variable, else ``data``).

    Raises:
        WarehouseSettingError: an unknown catalog kind, or an empty path.
    """
    if isinstance(setting, WarehouseLocation):
        return setting
    text = str(setting).strip()
    if not text:
        raise WarehouseSettingError("the warehouse setting is empty")
    if not text.startswith("ducklake:"):
        path = Path(text)
        return WarehouseLocation("duckdb", None, str(path), None, path.with_name(f"{path.stem}.journal"))
    rest = text.removeprefix("ducklake:")
    data_path: str | None = None
    if _DATA_PATH in rest:
        rest, data_path = rest.rsplit(_DATA_PATH, 1)
        data_path = data_path.strip() or None
    kind, sep, target = rest.partition(":")
    if not sep or kind not in CATALOG_EXTENSIONS:
        kind, target = "duckdb", rest  # DuckLake's own meaning: ducklake:PATH is a DuckDB catalog file
    if not target.strip():
        raise WarehouseSettingError(
            f"warehouse setting {text!r} names no catalog: write ducklake:sqlite:PATH, "
            "ducklake:postgres:'dbname=... host=...' or PATH.duckdb"
        )
    if kind == "postgres":
        journal = Path(data_dir or os.environ.get("EVAL_ASSETS_DATA_DIR") or "data") / "warehouse.journal"
    else:
        catalog = Path(target)
        data_path = data_path or f"{catalog.with_suffix('')}.files{os.sep}"
        journal = catalog.with_name(f"{catalog.stem}.journal")
    if data_path and "://" not in data_path and not data_path.endswith(("/", os.sep)):
        data_path += os.sep  # DuckLake joins file names to the data path as text
    return WarehouseLocation("ducklake", kind, target, data_path, journal)
