"""judge_calibration: every judge measured against people tonight (decided tasks and the frozen anchor set)."""

from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import open_warehouse, stage_asset, stage_inputs
from eval_assets.assets.replay import replay_stage, spent_earlier_in_run
from eval_assets.datasets import Example
from eval_assets.llm.calls import ModelCall, build_call
from eval_assets.project import EvalPlan
from eval_assets.resources import EvalProject, LLMClient, ReplayOptions
from eval_assets.review.calibration import RatedPair, Scale, calibration_rows, judge_drift
from eval_assets.rubrics import Rubric
from eval_assets.scoring.apply import judge_messages, parse_answer
from eval_assets.scoring.registry import JudgeOptions, judge_options

JUDGE_CALIBRATION_STABLE = "judge_calibration_stable"
AnchorKey = tuple[str, int, int]  # scorer, anchor index, judge index


def judge_panels(plan: EvalPlan) -> dict[str, tuple[JudgeOptions, Rubric]]:
    """The config's judge scorers with their options and rubric, by scorer name."""
    panels = {}
    for spec in plan.config.config.scorers:
        panel = judge_options(spec)
        if panel is not None:
            panels[spec.key] = (panel, plan.rubrics[panel.rubric])
    return panels


def anchor_calls(panels: dict[str, tuple[JudgeOptions, Rubric]], scope: str) -> list[ModelCall]:
    """One call per (judge scorer, anchor of its rubric, judge): the anchors graded as any example is."""
    calls = []
    for scorer, (panel, rubric) in sorted(panels.items()):
        for a, anchor in enumerate(rubric.anchors):
            example = Example(
                f"anchors:{rubric.name}",
                anchor.id or str(a + 1),
                anchor.input,
                (anchor.reference,) if anchor.reference else (),
                (),
                a + 1,
            )
            messages = judge_messages(rubric, example, anchor.output, panel)
            for j, judge in enumerate(panel.judges):
                system = [{"role": "system", "content": judge.system_prompt}] if judge.system_prompt else []
                calls.append(build_call((scorer, a, j), judge, [*system, *messages], scope=scope))
    return calls


def judge_calibration(
    context: dg.AssetExecutionContext,
    project: EvalProject,
    warehouse: DuckDBResource,
    llm: LLMClient,
    config: ReplayOptions,
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Each judge's agreement with people (percent, weighted kappa with its interval, n) and its drift."""
    inputs = stage_inputs(context, project, warehouse, after="scores", upstream="example_scores")
    eval_date, config_name, plan = inputs.eval_date, inputs.config_name, inputs.plan
    policy = plan.config.config.review.calibration
    panels = judge_panels(plan)
    scales = {s: Scale(r.name, r.scale_min, r.scale_max) for s, (_, r) in panels.items()}
    judges = {s: [j.id for j in p.judges] for s, (p, _) in panels.items()}
    with open_warehouse(warehouse) as conn:
        decided = wh.decided_pairs(conn, config_name, eval_date)
        previous = wh.previous_judge_versions(conn, config_name, eval_date)
        spent_before = spent_earlier_in_run(conn, context.run.run_id, eval_date, config_name)
    pairs = [
        RatedPair(r["scorer"], r["judge_model"], r["judge_score"], r["person_score"], r["judge_model_version"])
        for r in decided.iter_rows(named=True)
        if r["scorer"] in panels
    ]
    rows = calibration_rows(pairs, sample="decisions", scales=scales, panels=judges, policy=policy)
    calls = anchor_calls(panels, str(eval_date)) if policy.anchors else []
    anchored = {s for s, (_, r) in panels.items() if r.anchors} if policy.anchors else set()
    if calls:
        llm.prepare_offline(plan, str(eval_date), [call.model.id for call in calls])
        stage = replay_stage(
            context,
            "anchors",
            calls,
            plan.config.config,
            warehouse=warehouse,
            llm=llm,
            use_cache=config.use_cache,
            spent_before=spent_before,
        )
        graded = _anchor_pairs(panels, stage.outcomes)
        anchor_rows = calibration_rows(
            graded,
            sample="anchors",
            scales={s: scales[s] for s in anchored},
            panels={s: judges[s] for s in anchored},
            policy=policy,
        )
        rows.extend(anchor_rows)
    drift = judge_drift([r for r in rows if r["sample"] == "anchors"], previous, policy=policy)
    stored = [{**inputs.keys, **row} for row in rows]
    with open_warehouse(warehouse) as conn:
        wh.replace_partition(conn, eval_date, config_name, {"calibration": wh.frame("calibration", stored)})
    check = dg.AssetCheckResult(
        check_name=JUDGE_CALIBRATION_STABLE,
        passed=drift.stable,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(drift.problems)
        or (f"anchors of {', '.join(sorted(anchored))} graded as before" if anchored else "no anchor set to grade"),
        metadata={"anchored_scorers": len(anchored), "problems": len(drift.problems)},
    )
    calibrated = sum(1 for r in rows if r["sample"] == "decisions" and r["calibrated"])
    return dg.MaterializeResult(
        check_results=[check],
        metadata={
            "judges": dg.MetadataValue.int(sum(1 for r in rows if r["sample"] == "decisions")),
            "calibrated_judges": dg.MetadataValue.int(calibrated),
            "human_pairs": dg.MetadataValue.int(len(pairs)),
            "anchor_calls": dg.MetadataValue.int(len(calls)),
        },
    )


def _anchor_pairs(panels: dict[str, tuple[JudgeOptions, Rubric]], outcomes: list[Any]) -> list[RatedPair]:
    pairs = []
    for outcome in outcomes:
        scorer, a, j = outcome.call.key
        panel, rubric = panels[scorer]
        answer = parse_answer(panel.judges[j].id, outcome.text, outcome.error_type, rubric, panel)
        if answer.verdict is None:
            continue
        person = rubric.normalize(rubric.anchors[a].score)
        pairs.append(RatedPair(scorer, answer.judge_model, answer.verdict.normalized, person, outcome.model_version))
    return pairs


def build_judge_calibration(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The judge_calibration asset over the given partitions."""
    return stage_asset(
        judge_calibration,
        partitions,
        deps=["example_scores"],
        check_specs=[
            dg.AssetCheckSpec(
                JUDGE_CALIBRATION_STABLE,
                asset="judge_calibration",
                blocking=True,  # declared like every gate; its results are warnings, which block nothing
                description="No judge's kappa on its rubric's frozen anchor set fell below review.calibration."
                "kappa_floor, and no judge's reported model version changed since the last graded night.",
            )
        ],
        gates_stop_the_night=False,  # drift is a warning: the night goes on to its report
    )
