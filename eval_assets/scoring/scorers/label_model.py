"""``label_model``: an LLM judge picks one of ``labels``; the example passes on one of ``passing_labels``.

OpenAI's ``label_model`` grader, here through the same judge path as ``rubric_judge``: the rubric (a
prompt in ``prompts/``, with the ``{{input}}``, ``{{output}}`` and ``{{reference}}`` slots) says what to
classify, and this scorer adds the answer format after it, naming the labels as a JSON list::

    Choose exactly one label from this JSON list: ["correct", "partially_correct", "incorrect"]
    Respond with only a JSON object: {"label": "<one label from the list>", "rationale": "<one sentence>"}

The rubric's ``scale`` front matter is not used (a rubric file declares one all the same; ``[0, 1]`` reads
naturally). Each judge's verdict scores 1 for a passing label and 0 for another, so with several judges the
score is the share that chose a passing label and ``pass_score`` (default 0.5) is the majority needed.

Reading the answer (:func:`parse_label_answer`): the first top-level JSON object with a ``"label"`` key,
or an answer that is nothing but one label (quotes and a final full stop aside). Labels match ignoring
case and surrounding whitespace. A label outside the list, or prose naming a label, is a judge error
(counted by ``judge_error_rate_within_limit``), never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from pydantic import Field

from eval_assets.config_base import Label
from eval_assets.scoring.judge import JudgeParseError, JudgeVerdict, first_object_with
from eval_assets.scoring.registry import JudgeOptions, OptionProblem, register_judge

#: The line naming the labels; the offline judge reads the last such line of a prompt.
LABELS_LINE_PREFIX = "Choose exactly one label from this JSON list: "
_RATIONALE_KEYS = ("rationale", "reasoning", "explanation")


class LabelModelOptions(JudgeOptions):
    """Options of ``label_model``: the rubric, its judges, the labels and which of them pass."""

    labels: list[Label] = Field(
        min_length=2,
        max_length=50,
        description="The labels a judge chooses from, e.g. [correct, incorrect] (each distinct, ignoring case).",
    )
    passing_labels: list[Label] = Field(
        min_length=1, description="The labels with which an example passes; each one of labels."
    )

    def answer_instructions(self) -> str:
        """The labels and the answer format, sent after the rendered rubric."""
        return label_instructions(self.labels)

    def parse_verdict(self, text: str, *, scale_min: float, scale_max: float) -> JudgeVerdict:
        """A passing label scores 1, another 0 (the rubric's scale is not used)."""
        label, rationale = parse_label_answer(text, self.labels)
        passed = _fold(label) in {_fold(passing) for passing in self.passing_labels}
        score = 1.0 if passed else 0.0
        return JudgeVerdict(raw_score=score, normalized=score, rationale=f"[{label}] {rationale}".rstrip())


def label_instructions(labels: list[str]) -> str:
    """What the judge is told after the rubric: the labels as a JSON list, and the answer format."""
    return (
        f"{LABELS_LINE_PREFIX}{json.dumps(labels, ensure_ascii=False)}\n"
        'Respond with only a JSON object: {"label": "<one label from the list>", "rationale": "<one sentence>"}'
    )


def _fold(text: str) -> str:
    return text.strip().casefold()


def _preview(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"


def parse_label_answer(text: str, labels: list[str]) -> tuple[str, str]:
    """Read a judge's chosen label.

    Args:
        text: The judge's raw answer.
        labels: The labels it was offered.

    Returns:
        ``(label as configured, rationale or "")``.

    Raises:
        JudgeParseError: When the answer holds no label from the list (or the label is not a string).
    """
    by_fold = {_fold(label): label for label in labels}
    answer = first_object_with(text, "label")
    if answer is None:
        bare = text.strip().rstrip(".").strip().strip("\"'`").strip()
        if _fold(bare) in by_fold:
            return by_fold[_fold(bare)], ""
        raise JudgeParseError(f'no JSON object with a "label" key in the judge answer {_preview(text)}')
    chosen = answer["label"]
    if not isinstance(chosen, str):
        raise JudgeParseError(f"label must be a string, got {json.dumps(chosen)[:40]}")
    if _fold(chosen) not in by_fold:
        raise JudgeParseError(f"label {_preview(chosen)} is not one of {json.dumps(labels, ensure_ascii=False)}")
    rationale = next((answer[key] for key in _RATIONALE_KEYS if answer.get(key) is not None), "")
    return by_fold[_fold(chosen)], rationale if isinstance(rationale, str) else json.dumps(rationale)


def _label_problems(options: LabelModelOptions) -> Iterator[OptionProblem]:
    seen: dict[str, int] = {}
    for index, label in enumerate(options.labels):
        if not label.strip():
            yield ("labels", index), "a label must not be blank"
        elif _fold(label) in seen:
            first = seen[_fold(label)]
            yield ("labels", index), f"{label!r} repeats labels[{first}] (labels are compared ignoring case)"
        else:
            seen[_fold(label)] = index
    for index, label in enumerate(options.passing_labels):
        if _fold(label) not in seen:
            yield (
                ("passing_labels", index),
                f"{label!r} is not one of labels ({', '.join(options.labels)}): no judge could choose it",
            )
    if {_fold(label) for label in options.passing_labels} >= set(seen):
        yield ("passing_labels",), "every label passes, so no example could fail: leave at least one label out"


register_judge(
    name="label_model",
    version="1",
    options=LabelModelOptions,
    description="LLM judges choose one of labels with a prompt from prompts/; passing_labels pass.",
    check_options=_label_problems,
)
