"""Apply a configured scorer to one output: the thin layer between config and the pure scorers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eval_assets.datasets import Example
from eval_assets.rubric_examples import few_shot_messages
from eval_assets.rubrics import Rubric
from eval_assets.scoring.judge import JudgeParseError, JudgeVerdict
from eval_assets.scoring.registry import JudgeOptions, ScorerSpec, scorer_for
from eval_assets.scoring.results import ScoreResult
from eval_assets.scoring.statistics import judges_disagree

#: Why a score row holds no score (its ``detail`` starts with "not scored: " and one of these).
#: Scorer coverage counts unscored rows by these causes, so they are spelt once, here.
NO_ANSWER = "no answer from the model"
JUDGE_CALL_FAILED = "judge call failed"
JUDGE_UNPARSEABLE = "unparseable judge answer"
NOT_SCORED = "not scored: "


def score_output(spec: ScorerSpec, output: str, example: Example) -> ScoreResult:
    """Run a deterministic scorer on an output (judge scorers go through ``combine_verdicts``).

    Raises:
        ValueError: For a judge scorer, which calls models instead.
    """
    entry = scorer_for(spec)
    if entry.score is None:
        raise ValueError(f"{spec.scorer} is a {entry.kind} scorer, not a deterministic one")
    result = entry.score(output, example.references, spec)
    return ScoreResult(result.score, result.passed and result.score >= spec.pass_score, result.detail)


def judge_messages(rubric: Rubric, example: Example, output: str, panel: JudgeOptions) -> list[dict[str, str]]:
    """The judge's prompt: the rubric with the whole conversation, the output and the references.

    The judge scorer's own answer instructions (``label_model``'s labels) follow the rendered rubric. The
    rubric's human-labelled calibration examples come first, each as the rubric rendered for it and the
    person's verdict as the judge's answer (few-shot).
    """
    reference = "\n".join(example.references)
    content = rubric.render(input_text=example.transcript, output=output, reference=reference)
    instructions = panel.answer_instructions()
    asked = {"role": "user", "content": f"{content.rstrip()}\n\n{instructions}" if instructions else content}
    return [*few_shot_messages(rubric.examples, rubric.render), asked]


@dataclass(frozen=True)
class JudgeAnswer:
    """One judge's answer to one example: a verdict, or why there is none."""

    judge_model: str
    verdict: JudgeVerdict | None
    error: str | None
    raw_answer: str | None


def parse_answer(
    judge_model: str, text: str | None, call_error: str | None, rubric: Rubric, panel: JudgeOptions
) -> JudgeAnswer:
    """Parse a judge's raw answer as its scorer reads it; an unparseable answer is a judge error, never a crash."""
    if text is None:
        return JudgeAnswer(judge_model, None, f"{JUDGE_CALL_FAILED}: {call_error}", None)
    try:
        verdict = panel.parse_verdict(text, scale_min=rubric.scale_min, scale_max=rubric.scale_max)
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
