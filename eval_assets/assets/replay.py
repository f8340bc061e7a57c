"""Glue shared by the stages that call models: guards from the config, progress in the Dagster log, budget gate."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import float_metadata
from eval_assets.config import EvalConfig
from eval_assets.llm.cached_replay import ReplaySettings, replay_with_cache
from eval_assets.llm.calls import CallOutcome, ModelCall
from eval_assets.llm.guards import SKIPPED_BUDGET, BudgetGuard, RunGuard
from eval_assets.llm.pricing import WorstCaseEstimator
from eval_assets.llm.progress import ReplayProgress
from eval_assets.resources import LLMClient
from eval_assets.warehouse import DuckDBCacheStore

BUDGET_RESPECTED = "budget_respected"


@dataclass(frozen=True)
class StageReplay:
    """Outcomes of a stage's calls and the guard that watched them."""

    outcomes: list[CallOutcome]
    guard: RunGuard


def spent_earlier_in_run(
    conn: duckdb.DuckDBPyConnection, run_id: str, eval_date: dt.date, config_name: str
) -> tuple[float, int]:
    """What the model-under-test calls of this same run already spent: the budget covers judges too."""
    return wh.spent_in_run(conn, run_id, eval_date, config_name)


def replay_stage(
    context: dg.AssetExecutionContext,
    label: str,
    calls: Sequence[ModelCall],
    config: EvalConfig,
    *,
    warehouse: DuckDBResource,
    llm: LLMClient,
    use_cache: bool,
    spent_before: tuple[float, int] = (0.0, 0),
) -> StageReplay:
    """Replay a stage's calls through the cache with the config's concurrency, retries, limits and budget."""
    runtime = config.runtime
    estimator = WorstCaseEstimator()
    budget = BudgetGuard(
        max_usd=config.budget.max_usd,
        max_tokens=config.budget.max_tokens,
        estimate=estimator,
        spent_usd=spent_before[0],
        spent_tokens=spent_before[1],
    )
    guard = RunGuard(budget=budget if budget.active else None)

    def announce(misses: Sequence[ModelCall]) -> None:
        if not misses:
            context.log.info(f"{label}: all {len(calls)} answers cached, no provider call needed")
            return
        costs = [estimator(call)[0] for call in misses]
        known = [cost for cost in costs if cost is not None]
        estimate = f"at most ${sum(known):.4f}" if known else "cost unknown (model not in litellm's price map)"
        if known and len(known) < len(costs):
            estimate += f" for the {len(known)} priced calls"
        context.log.info(f"{label}: {len(calls) - len(misses)} answers cached, {len(misses)} calls to make, {estimate}")

    outcomes = (
        replay_with_cache(
            calls,
            llm.provider,
            DuckDBCacheStore(warehouse.database),
            ReplaySettings.from_runtime(runtime, use_cache=use_cache),
            progress=ReplayProgress(label, len(calls), report=context.log.info, interval_s=llm.progress_interval_s),
            guard=guard,
            before_calls=announce,
        )
        if calls
        else []
    )
    if guard.config_errors.reason is not None:
        # A wrong key, endpoint or model fails every call alike: stop the run with what to fix, not an "outage".
        raise dg.Failure(
            description=f"{label}: {guard.config_errors.reason} (answers received before the stop are cached)",
            allow_retries=False,
        )
    return StageReplay(outcomes, guard)


def budget_check(stage: StageReplay, config: EvalConfig) -> dg.AssetCheckResult:
    """Blocking gate: no call was skipped because the run's budget was reached."""
    skipped = [o for o in stage.outcomes if o.error_type == SKIPPED_BUDGET]
    budget = stage.guard.budget
    metadata: dict[str, Any] = {"skipped_for_budget": len(skipped)}
    if budget is not None:
        metadata["spent_usd"] = float_metadata(budget.spent_usd)
        metadata["spent_tokens"] = budget.spent_tokens
    if config.budget.max_usd is not None:
        metadata["max_usd"] = float_metadata(config.budget.max_usd)
    if config.budget.max_tokens is not None:
        metadata["max_tokens"] = config.budget.max_tokens
    description = None
    if skipped:
        description = (
            f"budget reached: {len(skipped)} calls were not made ({skipped[0].error_message}). Raise budget.max_usd/"
            "max_tokens in the config and rerun the partition: answers already paid for are reused."
        )
    return dg.AssetCheckResult(
        check_name=BUDGET_RESPECTED,
        passed=not skipped,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=description,
    )


def budget_check_spec(asset: str) -> dg.AssetCheckSpec:
    """The budget gate of a stage that spends money."""
    return dg.AssetCheckSpec(
        BUDGET_RESPECTED,
        asset=asset,
        blocking=True,
        description="The run's budget (config budget.max_usd / max_tokens, judges included) was not reached.",
    )
