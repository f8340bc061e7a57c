"""Which partition a partition is compared with, and the people's acceptances that decide it.

The default baseline of night D of a config is the latest earlier night of that config that is *accepted*:
its blocking gates all passed, or a person accepted it (``eval-assets baseline accept``). A night that failed
its gates is passed over, so a sustained regression keeps failing instead of becoming its own baseline. A
pinned baseline in the config (``baseline.config`` / ``baseline.date``) wins over both.

The choice is a function of the stored data (gate verdicts and acceptances of earlier nights), never of the
order runs happened in. What a parallel run cannot know yet is reported: earlier nights newer than the
chosen baseline that have no gate verdicts (see :attr:`BaselineChoice.undecided`), so the caller can wait
for them instead of choosing differently from a sequential run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from eval_assets.warehouse.connection import scalar


@dataclass(frozen=True)
class Acceptance:
    """A person's decision that a night is a good baseline."""

    config_name: str
    eval_date: dt.date
    accepted_by: str
    accepted_at: dt.datetime
    reason: str | None

    def describe(self) -> str:
        """E.g. "accepted by alice on 2026-11-09 12:00 UTC: new model v3 is intended"."""
        why = f": {self.reason}" if self.reason else ""
        return f"accepted by {self.accepted_by} on {self.accepted_at:%Y-%m-%d %H:%M} UTC{why}"


@dataclass(frozen=True)
class BaselineChoice:
    """The partition a night is compared with, and why.

    Attributes:
        config_name: The baseline's config.
        eval_date: The baseline's night.
        reason: Why it was chosen, for the report and the check metadata.
        passed_over: Newer earlier nights that were not chosen, each with why (failed gates, no verdicts).
        undecided: Of those, the nights without any gate verdicts yet (still running, or stopped before their
            gates). A sequential run would have waited for them.
    """

    config_name: str
    eval_date: dt.date
    reason: str
    passed_over: tuple[tuple[dt.date, str], ...] = ()
    undecided: tuple[dt.date, ...] = ()

    @property
    def key(self) -> tuple[str, dt.date]:
        """``(config, date)`` of the baseline partition."""
        return self.config_name, self.eval_date

    @property
    def label(self) -> str:
        """E.g. "nightly 2026-11-06"."""
        return f"{self.config_name} {self.eval_date}"


@dataclass(frozen=True)
class NoBaseline:
    """Why a night has no baseline: the first night, or no earlier night is accepted."""

    reason: str
    passed_over: tuple[tuple[dt.date, str], ...] = ()
    undecided: tuple[dt.date, ...] = ()


def choose_baseline(
    conn: duckdb.DuckDBPyConnection,
    config_name: str,
    eval_date: dt.date,
    *,
    pinned_config: str | None = None,
    pinned_date: dt.date | None = None,
) -> BaselineChoice | NoBaseline:
    """The baseline of one night, with the reason; only nights whose metrics completed can be one.

    Args:
        conn: The warehouse.
        config_name: The night's config.
        eval_date: The night.
        pinned_config: ``baseline.config``: compare with that config on the same night (or its latest
            earlier one).
        pinned_date: ``baseline.date``: compare with exactly that night.
    """
    config = pinned_config or config_name
    if pinned_date is not None:
        if _has_run(conn, config, pinned_date):
            return BaselineChoice(config, pinned_date, f"pinned in the config (baseline.date: {pinned_date})")
        return NoBaseline(f"the pinned baseline {config} {pinned_date} has no completed metrics")
    if pinned_config is not None:
        latest = scalar(
            conn, "SELECT max(eval_date) FROM runs WHERE config_name = ? AND eval_date <= ?", [config, eval_date]
        )
        if isinstance(latest, dt.date):
            return BaselineChoice(config, latest, f"pinned in the config (baseline.config: {config})")
        return NoBaseline(f"the pinned baseline config {config} has no completed night on or before {eval_date}")
    return _accepted_baseline(conn, config_name, eval_date)


def _accepted_baseline(
    conn: duckdb.DuckDBPyConnection, config_name: str, eval_date: dt.date
) -> BaselineChoice | NoBaseline:
    completed = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT eval_date FROM runs WHERE config_name = ? AND eval_date < ? ORDER BY eval_date DESC",
            [config_name, eval_date],
        ).fetchall()
    ]
    started = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT eval_date FROM examples WHERE config_name = ? AND eval_date < ?", [config_name, eval_date]
        ).fetchall()
    }
    verdicts = {
        day: (int(gates), failed)
        for day, gates, failed in conn.execute(
            "SELECT eval_date, count(*), list(check_name ORDER BY check_name) FILTER (WHERE NOT passed "
            "AND severity = 'error') FROM gate_results WHERE config_name = ? AND eval_date < ? GROUP BY eval_date",
            [config_name, eval_date],
        ).fetchall()
    }
    accepted = {a.eval_date: a for a in acceptances(conn, config_name, before=eval_date)}
    passed_over: list[tuple[dt.date, str]] = []
    for day in completed:
        if day in accepted:
            return BaselineChoice(config_name, day, accepted[day].describe(), *_passed(passed_over, started, day))
        gates, failed = verdicts.get(day, (0, None))
        if gates and not failed:
            reason = "the latest earlier night that passed its blocking gates"
            return BaselineChoice(config_name, day, reason, *_passed(passed_over, started, day))
        passed_over.append((day, f"failed {', '.join(failed)}" if failed else "no gate verdicts"))
    over, undecided = _passed(passed_over, started, None)
    if completed:
        return NoBaseline(
            f"no earlier night of {config_name} passed its blocking gates or was accepted "
            "(accept one with `eval-assets baseline accept`)",
            over,
            undecided,
        )
    return NoBaseline("the first night of this config", over, undecided)


def _passed(
    passed_over: list[tuple[dt.date, str]], started: set[dt.date], chosen: dt.date | None
) -> tuple[tuple[tuple[dt.date, str], ...], tuple[dt.date, ...]]:
    """The nights passed over, and the undecided ones (started after the chosen night, no gate verdicts)."""
    over = dict(passed_over)
    for day in started:
        if (chosen is None or day > chosen) and day not in over:
            over[day] = "no gate verdicts"  # started, metrics not stored yet
    ordered = tuple(sorted(over.items(), reverse=True))
    return ordered, tuple(day for day, why in ordered if why == "no gate verdicts")


def acceptances(
    conn: duckdb.DuckDBPyConnection, config_name: str, *, before: dt.date | None = None
) -> list[Acceptance]:
    """The latest acceptance of each accepted night of a config (optionally before a night), newest night first."""
    condition, params = ("AND eval_date < ?", [config_name, before]) if before else ("", [config_name])
    rows = conn.execute(
        "SELECT config_name, eval_date, accepted_by, accepted_at, reason FROM baseline_acceptances "
        f"WHERE config_name = ? {condition} "
        "QUALIFY row_number() OVER (PARTITION BY eval_date ORDER BY accepted_at DESC) = 1 ORDER BY eval_date DESC",
        params,
    ).fetchall()
    return [Acceptance(*row) for row in rows]


def accept_baseline(
    conn: duckdb.DuckDBPyConnection,
    config_name: str,
    eval_date: dt.date,
    *,
    accepted_by: str,
    reason: str | None,
    accepted_at: dt.datetime | None = None,
) -> Acceptance:
    """Record that a person accepted a night as the baseline of later nights.

    Raises:
        ValueError: the night's metrics are not stored (only a completed night can be compared with).
    """
    if not _has_run(conn, config_name, eval_date):
        raise ValueError(f"config {config_name!r} has no completed night on {eval_date} (its metrics are not stored)")
    when = accepted_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    conn.execute(
        "INSERT INTO baseline_acceptances VALUES (?, ?, ?, ?, ?)", [config_name, eval_date, accepted_by, when, reason]
    )
    return Acceptance(config_name, eval_date, accepted_by, when, reason)


def resolve_baseline(
    conn: duckdb.DuckDBPyConnection,
    config_name: str,
    eval_date: dt.date,
    *,
    pinned_config: str | None = None,
    pinned_date: dt.date | None = None,
) -> tuple[str, dt.date] | None:
    """``(config, date)`` of :func:`choose_baseline`, None without a baseline."""
    choice = choose_baseline(conn, config_name, eval_date, pinned_config=pinned_config, pinned_date=pinned_date)
    return choice.key if isinstance(choice, BaselineChoice) else None


def previous_run_date(conn: duckdb.DuckDBPyConnection, config_name: str, before: dt.date) -> dt.date | None:
    """The latest earlier date whose metrics completed for this config, accepted or not."""
    found = scalar(
        conn, "SELECT max(eval_date) FROM runs WHERE config_name = ? AND eval_date < ?", [config_name, before]
    )
    return found if isinstance(found, dt.date) else None


def _has_run(conn: duckdb.DuckDBPyConnection, config_name: str, eval_date: dt.date) -> bool:
    found = scalar(conn, "SELECT count(*) FROM runs WHERE config_name = ? AND eval_date = ?", [config_name, eval_date])
    return bool(found)
