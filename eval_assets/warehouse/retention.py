"""Retention: which per-example rows are past their keeping, and removing them without touching a live night.

Per-example detail (inputs, answers, scores, judge verdicts, flips, review tasks, cached answers) is kept for a
number of days per config; aggregates (metrics, runs, comparisons, gate results, decisions, acceptances, and
every table not named in :data:`DETAIL_TABLES`) are kept forever: the list says what may go, never what stays.

Never removed: whole nights a caller protects (accepted baselines, pinned ones, the current baseline of a
config, the baseline of a night whose detail is kept) and, on any night, the rows of an example a person
decided in review. A plan is computed first (a dry run shows it and changes nothing); applying it removes one
table's batch of nights per transaction. Each transaction takes the cells' write tokens (``partition_writes``)
and skips a cell whose token moved since the plan: a night written meanwhile is kept, and a writer racing
the removal conflicts on the token at commit and is retried, so it never loses its rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field

import duckdb
import polars as pl

from eval_assets.warehouse.columns import DATE, STR
from eval_assets.warehouse.connection import in_transaction, scalar

#: Per-example tables and the retention window (``retention.<kind>_days``) that applies to each, in the
#: order they are pruned: derived tables first, so an interrupted run never leaves a score without its answer.
DETAIL_TABLES: dict[str, str] = {
    "review_tasks": "scores",
    "flips": "scores",
    "judge_verdicts": "verdicts",
    "scores": "scores",
    "responses": "responses",
    "examples": "responses",
}
#: Nights per transaction: small enough that a transaction is short, large enough to be few.
BATCH_NIGHTS = 50
Cell = tuple[str, dt.date]


@dataclass(frozen=True)
class Windows:
    """Days of detail one config keeps, per kind of detail."""

    responses_days: int = 90
    scores_days: int = 90
    verdicts_days: int = 90
    cache_days: int = 90

    def days(self, kind: str) -> int:
        """The window of one kind of detail (``responses``, ``scores``, ``verdicts``, ``cache``)."""
        value: int = getattr(self, f"{kind}_days")
        return value

    @property
    def longest(self) -> int:
        """The longest window of any kind (a night younger than this keeps some detail)."""
        return max(self.responses_days, self.scores_days, self.verdicts_days)


@dataclass(frozen=True)
class Protection:
    """A night whose detail is never removed, and why (e.g. "accepted baseline: accepted by alice ...")."""

    config_name: str
    eval_date: dt.date
    reason: str


@dataclass(frozen=True)
class NightRows:
    """A night's rows of one table that go, the rows of decided examples it keeps, and its write token."""

    config_name: str
    eval_date: dt.date
    rows: int
    kept_rows: int
    writes: int | None

    @property
    def cell(self) -> Cell:
        """``(config, date)``."""
        return self.config_name, self.eval_date


@dataclass(frozen=True)
class TablePlan:
    """What goes from one table."""

    table: str
    kind: str
    nights: tuple[NightRows, ...]

    @property
    def rows(self) -> int:
        """Rows removed in all."""
        return sum(n.rows for n in self.nights)

    @property
    def kept_rows(self) -> int:
        """Rows of decided examples kept on those nights."""
        return sum(n.kept_rows for n in self.nights)


@dataclass(frozen=True)
class RetentionPlan:
    """Everything a retention run would remove, and what it keeps that it otherwise would."""

    today: dt.date
    tables: tuple[TablePlan, ...]
    protected: tuple[Protection, ...]
    cache_before: dt.datetime
    cache_rows: int
    kept_configs: Mapping[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows removed in all (cached answers included)."""
        return sum(t.rows for t in self.tables) + self.cache_rows


@dataclass(frozen=True)
class RetentionResult:
    """What was removed, and the nights left alone because they were being written."""

    removed: Mapping[str, int]
    nights: Mapping[str, int]
    skipped: Mapping[Cell, str]
    cache_rows: int


def plan_retention(
    conn: duckdb.DuckDBPyConnection,
    *,
    today: dt.date,
    windows: Mapping[str, Windows],
    default: Windows,
    protect: Sequence[Protection] = (),
    kept_configs: Mapping[str, str] | None = None,
) -> RetentionPlan:
    """The rows past their keeping; reads only.

    Args:
        conn: The warehouse (schema in place).
        today: Nights older than ``today - days`` lose their detail.
        windows: Each config's windows; a config with rows but no entry gets ``default``.
        default: The windows of configs not in ``windows`` (a config whose file is gone).
        protect: Nights the caller protects (pinned and current baselines); accepted baselines, the baselines
            of nights that keep their detail, and decided examples are found here.
        kept_configs: Configs whose rows are all kept, with why (e.g. an invalid config file).
    """
    kept_configs = dict(kept_configs or {})
    protected = {(p.config_name, p.eval_date): p for p in [*protect, *_accepted(conn)]}

    def cutoff(config: str, kind: str) -> dt.date:
        return today - dt.timedelta(days=windows.get(config, default).days(kind))

    for config, day, base_config, base_day in conn.execute(
        "SELECT DISTINCT config_name, eval_date, baseline_config, baseline_date FROM runs "
        "WHERE baseline_date IS NOT NULL"
    ).fetchall():
        base_config = base_config or config
        keeps_detail = day >= today - dt.timedelta(days=windows.get(config, default).longest)
        if keeps_detail and (base_config, base_day) not in protected:
            reason = f"the baseline of {config} {day}, whose detail is kept"
            protected[(base_config, base_day)] = Protection(base_config, base_day, reason)
    tokens = {
        (config, day): int(writes)
        for config, day, writes in conn.execute(
            "SELECT config_name, eval_date, max(writes) FROM partition_writes GROUP BY config_name, eval_date"
        ).fetchall()
    }
    needed: set[Cell] = set()
    tables = []
    with _registered(conn, "retention_decided", decided_examples(conn)):
        for table, kind in DETAIL_TABLES.items():
            nights = []
            for config, day, rows, kept in conn.execute(
                f"SELECT t.config_name, t.eval_date, count(*) FILTER (WHERE k.example_id IS NULL), count(k.example_id) "
                f"FROM {table} t LEFT JOIN retention_decided k USING (config_name, eval_date, dataset, example_id) "
                "GROUP BY t.config_name, t.eval_date ORDER BY t.config_name, t.eval_date"
            ).fetchall():
                if config in kept_configs or day >= cutoff(config, kind) or not rows:
                    continue
                if (config, day) in protected:
                    needed.add((config, day))  # listed: it would have gone
                    continue
                nights.append(NightRows(config, day, int(rows), int(kept), tokens.get((config, day))))
            tables.append(TablePlan(table, kind, tuple(nights)))
    longest_cache = max([default.cache_days, *(w.cache_days for w in windows.values())])
    cache_before = dt.datetime.combine(today - dt.timedelta(days=longest_cache), dt.time())
    # The answers still needed are those of the rows that stay once the plan is applied.
    with (
        _registered(conn, "retention_going", _going_frame(tables)),
        _registered(conn, "retention_decided", decided_examples(conn)),
    ):
        cache_rows = int(scalar(conn, f"SELECT count(*) FROM response_cache c WHERE {_UNUSED_CACHE}", [cache_before]))
    return RetentionPlan(
        today=today,
        tables=tuple(tables),
        protected=tuple(sorted((protected[c] for c in needed), key=lambda p: (p.config_name, p.eval_date))),
        cache_before=cache_before,
        cache_rows=cache_rows,
        kept_configs=kept_configs,
    )


def decided_examples(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``(config, night, dataset, example)`` of every example a person decided (skips are no decision)."""
    found = conn.execute(
        "SELECT DISTINCT config_name, eval_date, dataset, example_id FROM review_decisions WHERE decision <> 'skip'"
    ).fetchall()
    schema = {"config_name": STR, "eval_date": DATE, "dataset": STR, "example_id": STR}
    return pl.DataFrame(found, schema=schema, orient="row")


def _accepted(conn: duckdb.DuckDBPyConnection) -> list[Protection]:
    rows = conn.execute(
        "SELECT config_name, eval_date, any_value(accepted_by ORDER BY accepted_at DESC) FROM baseline_acceptances "
        "GROUP BY config_name, eval_date"
    ).fetchall()
    return [Protection(config, day, f"accepted baseline (accepted by {who})") for config, day, who in rows]


#: A cached answer goes when it is older than the longest cache window and no remaining row names its request.
_UNUSED_CACHE = """c.created_at < ? AND NOT EXISTS (
    SELECT 1 FROM (SELECT config_name, eval_date, dataset, example_id, request_hash, 'responses' AS table_name
                   FROM responses
                   UNION ALL SELECT config_name, eval_date, dataset, example_id, request_hash, 'judge_verdicts'
                   FROM judge_verdicts) r
    WHERE r.request_hash = c.request_hash
      AND NOT (EXISTS (SELECT 1 FROM retention_going g WHERE g.table_name = r.table_name
                       AND g.config_name = r.config_name AND g.eval_date = r.eval_date)
               AND NOT EXISTS (SELECT 1 FROM retention_decided k WHERE k.config_name = r.config_name
                               AND k.eval_date = r.eval_date AND k.dataset = r.dataset
                               AND k.example_id = r.example_id)))"""


def _going_frame(tables: Sequence[TablePlan]) -> pl.DataFrame:
    """``(table, config, night)`` of the answers and verdicts a plan removes (what the cache query needs)."""
    wanted = ("responses", "judge_verdicts")
    rows = [(t.table, n.config_name, n.eval_date) for t in tables if t.table in wanted for n in t.nights]
    return pl.DataFrame(rows, schema={"table_name": STR, "config_name": STR, "eval_date": DATE}, orient="row")


@contextlib.contextmanager
def _registered(conn: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame) -> Iterator[None]:
    conn.register(name, df)
    try:
        yield
    finally:
        conn.unregister(name)


def _nothing_busy(cells: Sequence[Cell]) -> ContextManager[Mapping[Cell, str]]:
    return contextlib.nullcontext({})


def apply_retention(
    conn: duckdb.DuckDBPyConnection,
    plan: RetentionPlan,
    *,
    hold: Callable[[Sequence[Cell]], ContextManager[Mapping[Cell, str]]] = _nothing_busy,
    batch_nights: int = BATCH_NIGHTS,
) -> RetentionResult:
    """Remove what ``plan`` lists: one transaction per batch of a table's nights, then the unused cache.

    Args:
        conn: The warehouse.
        plan: From :func:`plan_retention`.
        hold: Holds the leases of a batch's cells for the ``with`` block and yields the busy ones with who holds
            them (a run replaying that night): those are left alone.
        batch_nights: Nights per transaction.
    """
    removed: dict[str, int] = {}
    nights: dict[str, int] = {}
    skipped: dict[Cell, str] = {}
    with _registered(conn, "retention_decided", decided_examples(conn)):
        for table_plan in plan.tables:
            removed[table_plan.table] = nights[table_plan.table] = 0
            for start in range(0, len(table_plan.nights), batch_nights):
                batch = [n for n in table_plan.nights[start : start + batch_nights] if n.cell not in skipped]
                with hold([n.cell for n in batch]) as busy:
                    skipped.update(busy)
                    todo = [n for n in batch if n.cell not in busy]
                    if not todo:
                        continue
                    deleted, changed = in_transaction(conn, functools.partial(_remove, conn, table_plan.table, todo))
                skipped.update({cell: "written since the plan was made" for cell in changed})
                removed[table_plan.table] += deleted
                nights[table_plan.table] += len(todo) - len(changed)
        cache_rows = _remove_unused_cache(conn, plan)
    return RetentionResult(removed, nights, skipped, cache_rows)


def _remove(conn: duckdb.DuckDBPyConnection, table: str, todo: Sequence[NightRows]) -> tuple[int, list[Cell]]:
    """Inside a transaction: take the cells' tokens, keep those written since the plan, remove the rest."""
    cells = pl.DataFrame(
        [(n.config_name, n.eval_date) for n in todo], schema={"config_name": STR, "eval_date": DATE}, orient="row"
    )
    with _registered(conn, "retention_cells", cells):
        # Rewriting the token rows (to the same values) makes a writer of one of these cells conflict with us.
        conn.execute(
            "UPDATE partition_writes SET written_at = written_at WHERE EXISTS (SELECT 1 FROM retention_cells c "
            "WHERE c.config_name = partition_writes.config_name AND c.eval_date = partition_writes.eval_date)"
        )
        now = {
            (config, day): int(writes)
            for config, day, writes in conn.execute(
                "SELECT w.config_name, w.eval_date, max(w.writes) FROM partition_writes w JOIN retention_cells c "
                "USING (config_name, eval_date) GROUP BY w.config_name, w.eval_date"
            ).fetchall()
        }
    changed = [n.cell for n in todo if now.get(n.cell) != n.writes]
    still = pl.DataFrame(
        [(n.config_name, n.eval_date) for n in todo if n.cell not in changed],
        schema={"config_name": STR, "eval_date": DATE},
        orient="row",
    )
    if not still.height:
        return 0, changed
    with _registered(conn, "retention_cells", still):
        found = conn.execute(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM retention_cells c WHERE c.config_name = "
            f"{table}.config_name AND c.eval_date = {table}.eval_date) AND NOT EXISTS (SELECT 1 FROM "
            f"retention_decided k WHERE k.config_name = {table}.config_name AND k.eval_date = {table}.eval_date "
            f"AND k.dataset = {table}.dataset AND k.example_id = {table}.example_id)"
        ).fetchall()
    return int(found[0][0]) if found else 0, changed


def _remove_unused_cache(conn: duckdb.DuckDBPyConnection, plan: RetentionPlan) -> int:
    """Cached answers older than the longest cache window that no remaining row names (the rows are gone now)."""
    empty = _going_frame(())  # the rows are gone: whatever still names a request stays

    def remove() -> int:
        found = conn.execute(f"DELETE FROM response_cache c WHERE {_UNUSED_CACHE}", [plan.cache_before]).fetchall()
        return int(found[0][0]) if found else 0

    with _registered(conn, "retention_going", empty):
        return in_transaction(conn, remove)
