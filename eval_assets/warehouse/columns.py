"""The building blocks of the warehouse schema: a column's types and meaning, and the keys tables share.

Every table holding run data carries the run keys (``eval_date``, ``config_name``) and the lineage keys
(``run_id``, ``git_sha``, ``config_hash``); per-example tables also carry the example keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Column:
    """One column: its DuckDB type, its Polars type, and whether it may be null.

    Attributes:
        nullable: Whether the column may hold NULL in the warehouse.
        required: Whether every row written must give it (a value or an explicit None). A column added by a
            migration is nullable for the rows written before it, yet required of every new row.
        default: The value of a column that is not required when a row leaves it out.
    """

    name: str
    sql_type: str
    dtype: pl.DataType
    nullable: bool = True
    doc: str = ""
    required: bool = False
    default: object = None


def column(
    name: str, sql_type: str, dtype: pl.DataType, doc: str = "", *, nullable: bool = True, required: bool = False
) -> Column:
    """A column; ``nullable=False`` implies ``required``."""
    return Column(name, sql_type, dtype, nullable, doc, required or not nullable)


STR, FLOAT, INT, BOOL, DATE, TS = (
    pl.Utf8(),
    pl.Float64(),
    pl.Int64(),
    pl.Boolean(),
    pl.Date(),
    pl.Datetime("us"),
)
STR_LIST = pl.List(pl.Utf8())

RUN_KEYS = (
    column("eval_date", "DATE", DATE, "the partition's date", nullable=False),
    column("config_name", "VARCHAR", STR, "the partition's config (file stem in data/configs)", nullable=False),
)
LINEAGE_KEYS = (
    column("run_id", "VARCHAR", STR, "Dagster run that wrote the row", nullable=False),
    column(
        "git_sha",
        "VARCHAR",
        STR,
        "commit of the data directory's repository ('-dirty' with local changes, untracked inputs included)",
        nullable=False,
    ),
    column("config_hash", "VARCHAR", STR, "hash of the validated config", nullable=False),
)
EXAMPLE_KEYS = (
    column("dataset", "VARCHAR", STR, "dataset name (file stem)", nullable=False),
    column("dataset_hash", "VARCHAR", STR, "hash of the dataset file's bytes", nullable=False),
    column("example_id", "VARCHAR", STR, "example id within the dataset", nullable=False),
)
#: Added by schema version 2 to every table holding run data (see ``schema.LINEAGE_TABLES``).
CODE_SHA = column(
    "code_sha",
    "VARCHAR",
    STR,
    "commit of the eval_assets code that wrote the row ('-dirty' with local changes; "
    "'eval_assets <version>' when installed from a package; null for rows written before schema 2)",
    required=True,
)
