"""example_scores: every output scored by every applicable scorer (deterministic and rubric judges)."""

import datetime as dt
import json
from typing import Any

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import (
    code_version,
    float_metadata,
    open_warehouse,
    require_api_keys,
    stage_asset,
    stage_inputs,
)
from eval_assets.assets.examples import example_by_key
from eval_assets.assets.replay import budget_check, budget_check_spec, replay_stage, spent_earlier_in_run
from eval_assets.datasets import Example
from eval_assets.llm.calls import CallOutcome, ModelCall, build_call
from eval_assets.project import EvalPlan
from eval_assets.resources import EvalProject, LLMClient, ReplayOptions
from eval_assets.review.selection import DecisionKey
from eval_assets.review.verdicts import apply_human_verdicts, verdict_keys
from eval_assets.scoring.apply import (
    NOT_SCORED,
    JudgeAnswer,
    combine_verdicts,
    judge_messages,
    judge_panel_disagrees,
    judge_spread,
    no_answer_detail,
    parse_answer,
    score_output,
)
from eval_assets.scoring.registry import JudgeOptions, ScorerSpec, judge_options, scorer_args, scorer_version

JudgeKey = tuple[str, str, int, str, int]  # dataset, example id, repeat, scorer, judge index


def judge_calls(plan: EvalPlan, responses: pl.DataFrame, eval_date: dt.date) -> list[ModelCall]:
    """One call per (answered example and repeat, rubric scorer, judge).

    Repeats with the same answer send the same judge request: it is answered once (the judge is not
    what is being repeated).
    """
    if all(judge_options(spec) is None for spec in plan.config.config.scorers):
        return []  # no rubric scorer: nothing to ask a judge, whatever the night's size
    examples = example_by_key(plan)
    calls = []
    for row in responses.filter(pl.col("output_text").is_not_null()).iter_rows(named=True):
        example = examples[(row["dataset"], row["example_id"])]
        for spec in plan.scorers_for(example):
            panel = judge_options(spec)
            if panel is None:
                continue
            messages = judge_messages(plan.rubrics[panel.rubric], example, row["output_text"], panel)
            for index, judge in enumerate(panel.judges):
                key: JudgeKey = (example.dataset, example.id, _repeat(row), spec.key, index)
                system = [{"role": "system", "content": judge.system_prompt}] if judge.system_prompt else []
                calls.append(build_call(key, judge, [*system, *messages], scope=str(eval_date)))
    return calls


def _repeat(row: dict[str, Any]) -> int:
    # Responses written before schema 8 have no repeat: they were the only sample (repeat 0).
    return int(row.get("repeat_index") or 0)


def score_rows(
    plan: EvalPlan, responses: pl.DataFrame, judge_outcomes: dict[JudgeKey, CallOutcome], keys: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Score and judge-verdict rows for every (example, applicable scorer)."""
    examples = example_by_key(plan)
    # What each row says of its scorer depends on the scorer alone: worked out once, not once per example.
    described = {
        spec.key: (scorer_version(spec), json.dumps(scorer_args(spec), sort_keys=True))
        for spec in plan.config.config.scorers
    }
    scores: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    for row in responses.iter_rows(named=True):
        example = examples[(row["dataset"], row["example_id"])]
        base = {
            **keys,
            "dataset": example.dataset,
            "dataset_hash": row["dataset_hash"],
            "example_id": example.id,
            "repeat_index": _repeat(row),
        }
        for spec in plan.scorers_for(example):
            version, args_json = described[spec.key]
            score_row = {
                **base,
                "scorer": spec.key,
                "scorer_kind": spec.scorer,
                "scorer_version": version,
                "scorer_args_json": args_json,
                "tags": list(example.tags),
                # As the replay took them: every score names the inputs its answer was given.
                "reproducibility_json": row.get("reproducibility_json"),
            }
            output = row["output_text"]
            # Judges call models, deterministic scorers are pure functions: the registry says which is which.
            panel = judge_options(spec)
            if output is None:
                # The call failed after retries: an infrastructure failure, never a quality failure.
                score_row.update(
                    score=None, passed=None, detail=no_answer_detail(row["error_type"], row["error_message"])
                )
            elif panel is not None:
                answers = _judge_answers(plan, spec, panel, example, _repeat(row), judge_outcomes)
                verdicts.extend(_verdict_rows(base, plan, spec, panel, example, answers, judge_outcomes))
                result, judge_error = combine_verdicts(answers, pass_score=spec.pass_score)
                spread = judge_spread(answers)
                score_row.update(
                    score=result.score if result else None,
                    passed=result.passed if result else None,
                    detail=result.detail if result else f"{NOT_SCORED}{judge_error}",
                    judge_models=",".join(j.id for j in panel.judges),
                    prompt_hash=plan.rubrics[panel.rubric].content_hash,
                    judge_error=judge_error,
                    judge_spread=spread,
                    judges_disagree=judge_panel_disagrees(
                        answers, margin=panel.disagreement_margin, pass_score=spec.pass_score
                    ),
                )
            else:
                result = score_output(spec, output, example)
                score_row.update(score=result.score, passed=result.passed, detail=result.detail)
            scores.append(score_row)
    return scores, verdicts


def _judge_answers(
    plan: EvalPlan,
    spec: ScorerSpec,
    panel: JudgeOptions,
    example: Example,
    repeat: int,
    outcomes: dict[JudgeKey, CallOutcome],
) -> list[JudgeAnswer]:
    rubric = plan.rubrics[panel.rubric]
    answers = []
    for index, judge in enumerate(panel.judges):
        outcome = outcomes[(example.dataset, example.id, repeat, spec.key, index)]
        answers.append(parse_answer(judge.id, outcome.text, outcome.error_type, rubric, panel))
    return answers


def _verdict_rows(
    base: dict[str, Any],
    plan: EvalPlan,
    spec: ScorerSpec,
    panel: JudgeOptions,
    example: Example,
    answers: list[JudgeAnswer],
    outcomes: dict[JudgeKey, CallOutcome],
) -> list[dict[str, Any]]:
    rows = []
    for index, answer in enumerate(answers):
        outcome = outcomes[(example.dataset, example.id, base["repeat_index"], spec.key, index)]
        rows.append(
            {
                **base,
                "scorer": spec.key,
                "judge_model": answer.judge_model,
                "judge_model_version": outcome.model_version,
                "prompt_hash": plan.rubrics[panel.rubric].content_hash,
                "request_hash": outcome.call.request_hash,
                "raw_score": answer.verdict.raw_score if answer.verdict else None,
                "score": answer.verdict.normalized if answer.verdict else None,
                "rationale": answer.verdict.rationale if answer.verdict else None,
                "raw_answer": answer.raw_answer,
                "error": answer.error,
                "input_tokens": outcome.input_tokens,
                "output_tokens": outcome.output_tokens,
                "cost_usd": outcome.cost_usd,
                "cached": outcome.cached,
            }
        )
    return rows


def example_scores(
    context: dg.AssetExecutionContext,
    project: EvalProject,
    warehouse: DuckDBResource,
    llm: LLMClient,
    config: ReplayOptions,
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """One score per example x scorer (judge scores with rationale and prompt hash)."""
    inputs = stage_inputs(context, project, warehouse, after="responses", upstream="model_responses")
    eval_date, config_name, plan = inputs.eval_date, inputs.config_name, inputs.plan
    eval_config = plan.config.config
    with open_warehouse(warehouse) as conn:
        responses = wh.read_partition(conn, "responses", eval_date, config_name)
        spent_before = spent_earlier_in_run(conn, context.run.run_id, eval_date, config_name)
    require_api_keys(plan, eval_config.all_models()[1:])
    calls = judge_calls(plan, responses, eval_date)
    llm.prepare_offline(plan, str(eval_date), [call.model.id for call in calls])
    stage = replay_stage(
        context,
        "judges",
        calls,
        eval_config,
        warehouse=warehouse,
        llm=llm,
        use_cache=config.use_cache,
        spent_before=spent_before,
    )
    outcomes = stage.outcomes
    by_key: dict[JudgeKey, CallOutcome] = {outcome.call.key: outcome for outcome in outcomes}  # type: ignore[misc]
    scores, verdicts = score_rows(plan, responses, by_key, inputs.keys)
    # A person's verdict on an unchanged output counts instead of the evaluator's (issue 10, item 4).
    # A decision holds for the answer a person saw: each repeat is matched against its own answer.
    pass_scores = {spec.key: spec.pass_score for spec in eval_config.scorers}
    by_repeat: dict[int, list[dict[str, Any]]] = {}
    for row in scores:
        by_repeat.setdefault(row["repeat_index"], []).append(row)
    decided: list[dict[str, Any]] = []
    with open_warehouse(warehouse) as conn:
        anyone_decided = wh.has_human_verdicts(conn)
    for repeat, rows in sorted(by_repeat.items()):
        outputs: dict[tuple[str, str], str | None] = {}
        people: dict[DecisionKey, tuple[float, str]] = {}
        if anyone_decided:  # the answers are looked up (and hashed) only when a verdict could match them
            outputs = {
                (r["dataset"], r["example_id"]): r["output_text"]
                for r in responses.iter_rows(named=True)
                if _repeat(r) == repeat
            }
            with open_warehouse(warehouse) as conn:
                people = wh.human_verdicts(conn, verdict_keys(rows, outputs))
        decided.extend(apply_human_verdicts(rows, outputs, people, pass_scores=pass_scores))
    scores = decided
    with open_warehouse(warehouse) as conn:
        written = wh.replace_partition(
            conn,
            eval_date,
            config_name,
            {
                "scores": wh.frame("scores", scores),
                "judge_verdicts": wh.frame("judge_verdicts", verdicts),
            },
        )
    scored = [row for row in scores if row["score"] is not None]
    return dg.MaterializeResult(
        check_results=[budget_check(stage, eval_config)],
        metadata={
            "scores": dg.MetadataValue.int(written["scores"]),
            "judge_verdicts": dg.MetadataValue.int(written["judge_verdicts"]),
            "unscored": dg.MetadataValue.int(len(scores) - len(scored)),
            "human_labelled": dg.MetadataValue.int(sum(row["human_labelled"] for row in scores)),
            "judge_errors": dg.MetadataValue.int(sum(row["error"] is not None for row in verdicts)),
            "judge_cost_usd": float_metadata(sum(row["cost_usd"] or 0.0 for row in verdicts)),
        },
    )


def build_example_scores(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The example_scores asset over the given partitions."""
    return stage_asset(
        example_scores,
        partitions,
        deps=["model_responses"],
        check_specs=[budget_check_spec("example_scores")],
        version=code_version(scorers=True),  # a scorer's new version makes scored nights stale
    )
