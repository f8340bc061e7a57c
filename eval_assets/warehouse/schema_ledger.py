"""Schema version 8 (issue 11): which repeat a row is, flaky examples set apart, and the flakiness ledger."""

from __future__ import annotations

from eval_assets.warehouse.columns import CODE_SHA, FLOAT, INT, LINEAGE_KEYS, RUN_KEYS, STR, Column, column as _c


def add_repeats_and_ledger(tables: dict[str, tuple[Column, ...]]) -> None:
    """Add schema 8's columns and the ``flakiness`` table to ``tables`` (at the ends, where ALTER puts them)."""
    # Schema version 8 (issue 11): repeats, and the flakiness ledger.
    # Not required: a row that leaves it out is the only sample of its example (0), as before repeats existed.
    repeat_index = Column(
        "repeat_index",
        "INTEGER",
        INT,
        doc="which sample of the example (0 .. runtime.repeats - 1); 0 for rows written before schema 8",
        default=0,
    )
    for _table in ("responses", "scores", "judge_verdicts"):
        tables[_table] = (*tables[_table], repeat_index)
    tables["comparisons"] = (
        *tables["comparisons"],
        _c("set_apart", "BIGINT", INT, "examples the flakiness ledger classes flaky, left out of this comparison "
           "(null for rows written before schema 8)"),
    )  # fmt: skip
    #: The flakiness ledger as of each night: every (example, scorer)'s history up to and including that night.
    #: A table, not a view over scores: it records what the gate saw that night (which examples it set apart as
    #: flaky), which later nights, reruns and retention must not rewrite.
    tables["flakiness"] = (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("dataset", "VARCHAR", STR, "dataset name (file stem)", nullable=False),
        _c("example_id", "VARCHAR", STR, "example id within the dataset", nullable=False),
        _c("scorer", "VARCHAR", STR, "scorer name from the config", nullable=False),
        _c("nights", "INTEGER", INT, "nights in the history (at most flakiness.window)", nullable=False),
        _c("outcomes", "INTEGER", INT, "scored samples in the history (nights x repeats)", nullable=False),
        _c("passes", "INTEGER", INT, "samples that passed", nullable=False),
        _c("pass_probability", "DOUBLE", FLOAT, "passes / outcomes", nullable=False),
        _c("wilson_low", "DOUBLE", FLOAT, "lower end of the 95% Wilson interval of the pass probability",
           nullable=False),
        _c("wilson_high", "DOUBLE", FLOAT, "upper end of the 95% Wilson interval of the pass probability",
           nullable=False),
        _c("flip_rate", "DOUBLE", FLOAT, "share of consecutive samples (oldest first) whose verdict differs",
           nullable=False),
        _c("last_outcomes", "VARCHAR", STR, "the latest samples, oldest first: P pass, F fail, '|' between nights",
           nullable=False),
        _c("stability", "VARCHAR", STR, "stable_pass, stable_fail, flaky, newly_broken or fixed", nullable=False),
        CODE_SHA,
    )  # fmt: skip
