"""``rubric_judge``: LLM-as-judge with a rubric from ``prompts/``, through the same provider path.

A judge scorer calls models, so the scoring stage handles it apart from the deterministic scorers: it
sends each answered example to every judge with the rubric (``scoring.apply.judge_messages``), parses
the verdicts (``scoring.judge``) and averages them. Whether an example needs a reference is up to the
rubric's ``requires_reference`` front matter.
"""

from __future__ import annotations

from eval_assets.scoring.registry import JudgeOptions, register_judge


class RubricJudgeOptions(JudgeOptions):
    """Options of ``rubric_judge``: the rubric, its judges and when they disagree."""


register_judge(
    name="rubric_judge",
    version="1",
    options=RubricJudgeOptions,
    description="LLM judges grade the output with a rubric from prompts/; several judges are averaged.",
)
