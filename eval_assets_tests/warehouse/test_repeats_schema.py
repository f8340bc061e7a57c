"""Schema 8: an older warehouse gains repeat_index (its rows are repeat 0) and the flakiness ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from eval_assets import warehouse as wh
from eval_assets_tests.warehouse.test_migrations import counts, v1_warehouse


def test_an_upgraded_warehouse_keeps_its_rows_as_repeat_zero(tmp_path: Path) -> None:
    path = v1_warehouse(tmp_path / "old.duckdb")
    with wh.connect(path) as conn:
        before = counts(conn)
        wh.ensure_schema(conn)
        assert counts(conn)["responses"] == before["responses"] == 2
        for table in ("responses", "scores", "judge_verdicts"):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE repeat_index IS DISTINCT FROM 0").fetchall() == [
                (0,)
            ]
        assert counts(conn)["flakiness"] == 0
        # The old night's scores are the ledger's history: one sample each, at repeat 0.
        (night,) = conn.execute("SELECT DISTINCT eval_date, config_name FROM scores").fetchall()
        history = wh.score_history(conn, night[1], night[0], nights=14)
        assert history.height and set(history.get_column("repeat_index").to_list()) == {0}
        assert wh.score_history(conn, night[1], night[0] - dt.timedelta(days=1), nights=14).is_empty()
