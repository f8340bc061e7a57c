"""model_responses: every example replayed against the model under test, through the response cache."""

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import (
    float_metadata,
    open_warehouse,
    require_api_keys,
    stage_asset,
    stage_inputs,
)
from eval_assets.assets.replay import budget_check, budget_check_spec, replay_stage
from eval_assets.errors import InvalidInputError
from eval_assets.llm.cache import cache_row
from eval_assets.llm.calls import CallOutcome, ModelCall, build_call, repeat_model
from eval_assets.llm.guards import SKIPPED_BUDGET, SKIPPED_CIRCUIT_OPEN
from eval_assets.project import EvalPlan
from eval_assets.reproducibility import hashes_json
from eval_assets.resources import EvalProject, LLMClient, ReplayOptions
from eval_assets.warmup import Warmup, WarmupError, warm_up

ERROR_RATE_WITHIN_LIMIT = "error_rate_within_limit"


def response_calls(plan: EvalPlan, eval_date: dt.date) -> list[ModelCall]:
    """``runtime.repeats`` calls per example; the cache scope is the night, so each night observes the model afresh.

    Each repeat has its own request hash (repeat 0 hashes as a run without repeats did), so a rerun of
    the night pays for none of them again.
    """
    model = plan.config.config.model
    repeats = plan.config.config.runtime.repeats
    return [
        build_call(
            (example.dataset, example.id, repeat),
            repeat_model(model, repeat),
            example.messages(model.system_prompt),
            scope=str(eval_date),
            repeat=repeat,
        )
        for example in plan.examples
        for repeat in range(repeats)
    ]


def response_rows(plan: EvalPlan, outcomes: Sequence[CallOutcome], keys: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One responses row per outcome, made as :func:`warehouse.frame` takes them (a batch at a time)."""
    for outcome in outcomes:
        dataset, example_id, repeat = cast(tuple[str, str, int], outcome.call.key)
        yield {
            **keys,
            "dataset": dataset,
            "dataset_hash": plan.datasets[dataset].content_hash,
            "example_id": example_id,
            "repeat_index": repeat,
            **cache_row(outcome),  # the answer as the cache keeps it, then what only this row says
            "total_latency_ms": outcome.total_latency_ms,
            "attempts": outcome.attempts,
            "cached": outcome.cached,
            "error_type": outcome.error_type,
            "error_message": outcome.error_message,
        }


def error_rate_check(outcomes: Sequence[CallOutcome], max_error_rate: float, resume_hint: str) -> dg.AssetCheckResult:
    """Blocking gate: too many failed calls means the scores would describe the provider, not the model.

    Calls skipped for budget are not provider errors: the budget gate reports them.
    """
    counted = [o for o in outcomes if o.error_type != SKIPPED_BUDGET]
    total = len(counted)
    errors = Counter(o.error_type or "unknown" for o in counted if not o.ok)
    rate = sum(errors.values()) / total if total else 0.0
    passed = rate <= max_error_rate
    description = None
    if not passed:
        circuit = next((o.error_message for o in counted if o.error_type == SKIPPED_CIRCUIT_OPEN), None)
        what = (
            f"{circuit}; stopped launching calls" if circuit else f"{sum(errors.values())} calls failed after retries"
        )
        description = f"error rate {rate:.1%} > {max_error_rate:.1%}: {what} ({dict(errors)}). {resume_hint}"
    return dg.AssetCheckResult(
        check_name=ERROR_RATE_WITHIN_LIMIT,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "error_rate": float_metadata(rate),
            "max_error_rate": float_metadata(max_error_rate),
            "errors_by_type": dg.MetadataValue.json(dict(errors)),
            "calls": total,
        },
        description=description,
    )


def eval_warmup(context: dg.AssetExecutionContext, project: EvalProject, plan: EvalPlan) -> Warmup:
    """The night's warm-up (:mod:`eval_assets.warmup`), first in the process that calls the model.

    Raises:
        dg.Failure: a reproducibility input is missing or the embedding setup is broken (no call was made).
    """
    try:
        warm = warm_up(plan, Path(project.data_dir))
    except (InvalidInputError, WarmupError) as exc:
        raise dg.Failure(description=f"eval_warmup: {exc} (no model was called)", allow_retries=False) from exc
    steps = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in warm.seconds.items())
    embedded = f"; references embedded {warm.references_embedded}, cached {warm.references_cached}"
    hashes = "".join(f"; {name} {value}" for name, value in warm.reproducibility.items())
    context.log.info(
        f"eval_warmup: {steps}{embedded if warm.references_embedded or warm.references_cached else ''}{hashes}"
    )
    return warm


def model_responses(
    context: dg.AssetExecutionContext,
    project: EvalProject,
    warehouse: DuckDBResource,
    llm: LLMClient,
    config: ReplayOptions,
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Model answers to every example, with tokens, cost, latency and errors."""
    inputs = stage_inputs(context, project, warehouse, after="examples", upstream="eval_examples")
    eval_date, config_name, plan = inputs.eval_date, inputs.config_name, inputs.plan
    eval_config = plan.config.config
    require_api_keys(plan, [eval_config.model])
    warm = eval_warmup(context, project, plan)
    keys = {**inputs.keys, "reproducibility_json": hashes_json(warm.reproducibility)}
    llm.prepare_offline(plan, str(eval_date), [eval_config.model.id])
    calls = response_calls(plan, eval_date)
    stage = replay_stage(
        context, "model_responses", calls, eval_config, warehouse=warehouse, llm=llm, use_cache=config.use_cache
    )
    outcomes = stage.outcomes
    responses = wh.frame("responses", response_rows(plan, outcomes, keys))
    with open_warehouse(warehouse) as conn:
        wh.replace_partition(conn, eval_date, config_name, {"responses": responses})
    resume = (
        f"Answers received are stored; once the provider is healthy, rerun the partition "
        f"(eval-assets run --config {config_name} --date {eval_date}) and only missing calls are made."
    )
    return dg.MaterializeResult(
        metadata={
            "responses": dg.MetadataValue.int(responses.height),
            "errors": dg.MetadataValue.int(sum(not o.ok for o in outcomes)),
            "cached": dg.MetadataValue.int(sum(o.cached for o in outcomes)),
            "provider_calls": dg.MetadataValue.int(sum(o.attempts for o in outcomes)),
            "spend_usd": float_metadata(sum(o.cost_usd or 0.0 for o in outcomes if not o.cached)),
            "model_id": eval_config.model.id,
            "reproducibility": dg.MetadataValue.json(warm.reproducibility),
            "references_embedded": dg.MetadataValue.int(warm.references_embedded),
        },
        check_results=[
            error_rate_check(outcomes, eval_config.runtime.max_error_rate, resume),
            budget_check(stage, eval_config),
        ],
    )


def build_model_responses(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The model_responses asset over the given partitions."""
    return stage_asset(
        model_responses,
        partitions,
        deps=["eval_examples"],
        check_specs=[
            dg.AssetCheckSpec(
                ERROR_RATE_WITHIN_LIMIT,
                asset="model_responses",
                blocking=True,
                description="Share of failed model calls (after retries) is at most runtime.max_error_rate.",
            ),
            budget_check_spec("model_responses"),
        ],
    )
