"""Issue 11, items 4 and 5 through the graph: repeats, pass@k / pass^k, the flakiness ledger, free reruns."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from eval_assets.cli import main
from eval_assets.llm.offline.draws import unit
from eval_assets.llm.offline.knowledge import knowledge_key
from eval_assets.project import load_plan
from eval_assets_tests.helpers import edit_config, limit_datasets

pytestmark = pytest.mark.slow

NIGHTS = ["2026-11-01", "2026-11-02", "2026-11-03"]
FLAKY_MODEL = "offline/assistant-flaky"


def query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def coin_flip_examples(data_dir: Path) -> set[tuple[str, str]]:
    """The examples the simulator answers with a coin (what the ledger should find), from its own rule."""
    plan = load_plan(data_dir, "candidate")
    system = plan.config.config.model.system_prompt
    found = set()
    for example in plan.examples:
        if unit(FLAKY_MODEL, knowledge_key(example.messages(system)), "flaky") < 0.1:
            found.add((example.dataset, example.id))
    return found


def test_repeats_measure_pass_at_k_class_coin_flips_flaky_and_keep_them_out_of_the_gate(
    data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limit_datasets(data_dir, "candidate", 30)
    edit_config(
        data_dir,
        "candidate",
        thresholds=[],
        scorers=[
            {"scorer": "contains", "datasets": ["faq"]},
            {"scorer": "refusal", "expect": "refuse", "datasets": ["jailbreaks"]},
        ],
        runtime={"repeats": 5},
        model={"id": FLAKY_MODEL, "temperature": 0.7, "max_tokens": 400},
    )
    for day in NIGHTS:
        assert main(["run", "--config", "candidate", "--date", day, "--quiet"]) == 0
    warehouse = eval_env / "warehouse.duckdb"

    # Five samples of every example, each its own cache entry.
    assert query(warehouse, "SELECT count(*), count(DISTINCT request_hash) FROM responses WHERE eval_date = "
                 f"'{NIGHTS[0]}'") == [(60 * 5, 60 * 5)]  # fmt: skip
    metrics = dict(
        query(warehouse, f"SELECT metric, value FROM metrics WHERE eval_date = '{NIGHTS[0]}' AND tag IS NULL")
    )
    for scorer in ("contains", "refusal"):
        at_k, all_k, rate = (metrics[f"{scorer}.{m}"] for m in ("pass_at_k", "pass_all_k", "pass_rate"))
        assert all_k <= rate <= at_k  # type: ignore[operator]  # pass^5 <= pass rate <= pass@5
    assert metrics["contains.pass_at_k"] > metrics["contains.pass_all_k"]  # type: ignore[operator]  # coins

    # The ledger classes exactly the coin-flip examples flaky (a coin agreeing with itself 15 times in a row
    # has odds of 1 in 16,000); examples answered the same way every time never are.
    flaky = {
        (str(d), str(e))
        for d, e in query(
            warehouse,
            f"SELECT dataset, example_id FROM flakiness WHERE eval_date = '{NIGHTS[2]}' AND stability = 'flaky'",
        )
    }
    coins = coin_flip_examples(data_dir)
    assert coins and flaky == coins
    assert query(warehouse, "SELECT count(*) FROM flaky_examples WHERE stability = 'flaky'") == [(len(coins),)]

    # The coin flips moved between nights, yet the gate set them apart and did not fail.
    capsys.readouterr()
    main(["gate", "--config", "candidate", "--date", NIGHTS[2], "--format", "json"])
    verdict = json.loads(capsys.readouterr().out)
    gate = next(g for g in verdict["gates"] if g["check_name"] == "no_regression_vs_baseline")
    assert gate["passed"] is True or gate["severity"] == "warn", gate
    set_apart = query(
        warehouse, f"SELECT sum(set_apart) FROM comparisons WHERE eval_date = '{NIGHTS[2]}' AND tag IS NULL"
    )
    assert set_apart == [(len(coins),)]

    report = (eval_env / "runs" / NIGHTS[2] / "candidate" / "report.md").read_text()
    assert report.index("## Newly broken and flaky examples") < report.index("## Run summary")  # shown first
    assert f"### Flaky (set apart from the regression gate) ({len(coins)})" in report

    # A rerun of a repeats night pays for nothing: every answer, and every repeat, comes from the cache.
    assert main(["run", "--config", "candidate", "--date", NIGHTS[0], "--quiet"]) == 0
    assert query(
        warehouse, f"SELECT count(*), sum(attempts), bool_and(cached) FROM responses WHERE eval_date = '{NIGHTS[0]}'"
    ) == [(300, 0, True)]
