"""Apply a configured scorer to one output: the thin layer between config and the pure scorers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval_assets.config import ScorerSpec
from eval_assets.datasets import Example
from eval_assets.rubrics import Rubric
from eval_assets.scoring import scorers
from eval_assets.scoring.judge import JudgeParseError, JudgeVerdict, parse_judge_answer
from eval_assets.scoring.scorers import ScoreResult
from eval_assets.scoring.statistics import judges_disagree

#: Why a score row holds no score (its ``detail`` starts with "not scored: " and one of these).
#: Scorer coverage counts unscored rows by these causes, so they are spelt once, here.
NO_ANSWER = "no answer from the model"
JUDGE_CALL_FAILED = "judge call failed"
JUDGE_UNPARSEABLE = "unparseable judge answer"
NOT_SCORED = "not scored: "

#: The fields of a ScorerSpec that change what each kind computes (recorded with every score).
_ARGS_BY_KIND: dict[str, tuple[str, ...]] = {
    "exact_match": ("case_sensitive", "pass_score"),
    "contains": ("case_sensitive", "pass_score"),
    "regex_match": ("pattern", "pass_score"),
    "json_valid": ("json_schema", "pass_score"),
    "numeric_match": ("abs_tolerance", "rel_tolerance", "pass_score"),
    "refusal": ("expect", "pass_score"),
    "rubric_judge": ("rubric", "judges", "pass_score"),
}


def scorer_args(spec: ScorerSpec) -> dict[str, Any]:
    """The arguments that determine this scorer's result, for reproducibility."""
    dumped = spec.model_dump(mode="json")
    return {name: dumped[name] for name in _ARGS_BY_KIND[spec.scorer]}


def score_output(spec: ScorerSpec, output: str, example: Example) -> ScoreResult:
    """Run a deterministic scorer on an output (rubric judges go through ``combine_verdicts``)."""
    refs = example.references
    result: ScoreResult
    if spec.scorer == "exact_match":
        result = scorers.exact_match(output, refs, case_sensitive=spec.case_sensitive)
    elif spec.scorer == "contains":
        result = scorers.contains(output, refs, case_sensitive=spec.case_sensitive)
    elif spec.scorer == "regex_match":
        result = _any_pattern(output, [spec.pattern] if spec.pattern is not None else list(refs))
    elif spec.scorer == "json_valid":
        result = scorers.json_valid(output, schema=spec.json_schema)
    elif spec.scorer == "numeric_match":
        result = scorers.numeric_match(output, refs, abs_tolerance=spec.abs_tolerance, rel_tolerance=spec.rel_tolerance)
    elif spec.scorer == "refusal":
        result = scorers.refusal(output, expect=spec.expect)
    else:
        raise ValueError(f"{spec.scorer} is not a deterministic scorer")
    return ScoreResult(result.score, result.passed and result.score >= spec.pass_score, result.detail)


def _any_pattern(output: str, patterns: Sequence[str]) -> ScoreResult:
    last = ScoreResult(0.0, False, "no pattern")
    for pattern in patterns:
        last = scorers.regex_match(output, pattern=pattern)
        if last.passed:
            return last
    return last


def judge_messages(rubric: Rubric, example: Example, output: str) -> list[dict[str, str]]:
    """The judge's prompt: the rubric with the whole conversation, the output and the references."""
    reference = "\n".join(example.references)
    return [
        {
            "role": "user",
            "content": rubric.render(input_text=example.transcript, output=output, reference=reference),
        }
    ]


@dataclass(frozen=True)
class JudgeAnswer:
    """One judge's answer to one example: a verdict, or why there is none."""

    judge_model: str
    verdict: JudgeVerdict | None
    error: str | None
    raw_answer: str | None


def parse_answer(judge_model: str, text: str | None, call_error: str | None, rubric: Rubric) -> JudgeAnswer:
    """Parse a judge's raw answer; an unparseable answer is a judge error, never a crash."""
    if text is None:
        return JudgeAnswer(judge_model, None, f"{JUDGE_CALL_FAILED}: {call_error}", None)
    try:
        verdict = parse_judge_answer(text, scale_min=rubric.scale_min, scale_max=rubric.scale_max)
    except JudgeParseError as exc:
        return JudgeAnswer(judge_model, None, f"{JUDGE_UNPARSEABLE}: {exc}", text)
    return JudgeAnswer(judge_model, verdict, None, text)


def combine_verdicts(answers: Sequence[JudgeAnswer], *, pass_score: float) -> tuple[ScoreResult | None, str | None]:
    """Mean of the judges that answered; None with the reason when none did."""
    verdicts = [a for a in answers if a.verdict is not None]
    errors = [f"{a.judge_model}: {a.error}" for a in answers if a.error]
    if not verdicts:
        return None, "; ".join(errors) or "no judge answered"
    score = sum(a.verdict.normalized for a in verdicts if a.verdict) / len(verdicts)
    rationale = " | ".join(
        (f"[{a.judge_model}] " if len(answers) > 1 else "") + (a.verdict.rationale if a.verdict else "")
        for a in verdicts
    )
    return ScoreResult(score, score >= pass_score, rationale), ("; ".join(errors) or None)


def judge_spread(answers: Sequence[JudgeAnswer]) -> float | None:
    """max - min of the judges' normalized scores; None unless at least two judges answered."""
    scores = [a.verdict.normalized for a in answers if a.verdict is not None]
    return max(scores) - min(scores) if len(scores) >= 2 else None


def judge_panel_disagrees(answers: Sequence[JudgeAnswer], *, margin: float, pass_score: float) -> bool | None:
    """Whether the judges that answered disagree (spread above ``margin``, or on both sides of the pass line)."""
    scores = [a.verdict.normalized for a in answers if a.verdict is not None]
    return judges_disagree(scores, margin=margin, pass_score=pass_score)


def no_answer_detail(error_type: str | None, error_message: str | None) -> str:
    """The detail of a score row whose model call failed: an infrastructure failure, never a quality one."""
    return f"{NOT_SCORED}{NO_ANSWER} ({error_type}: {error_message})"
