"""Human-labelled examples beside a rubric: few-shot calibration examples and the frozen anchor set (pure).

``prompts/<rubric>.examples.jsonl``: examples people graded, shown to the judge before the graded output
(as LangSmith's corrections are), so the judge learns where the rubric's lines are. They are part of the
prompt, so they are part of the rubric's hash: adding one makes every judge verdict re-run.

``prompts/<rubric>.anchors.jsonl``: a frozen set people graded once, re-graded by the judges every night.
Kappa on it moving is judge drift. Anchors are not sent as few-shot examples and do not change the hash.

One JSON object a line::

    {"input": "...", "output": "...", "reference": "...", "score": 4, "rationale": "...",
     "id": "...", "metadata": {"reviewer": "ana", "task_id": "3f2a9c01b7de", "decided_at": "2026-11-06"}}

``score`` is on the rubric's scale; ``input``, ``output`` and ``score`` are required.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_assets.datasets import split_lines
from eval_assets.errors import InputProblem, InvalidInputError

EXAMPLES_SUFFIX = ".examples.jsonl"
ANCHORS_SUFFIX = ".anchors.jsonl"
_FIELDS = frozenset({"id", "input", "output", "reference", "score", "rationale", "metadata"})
#: A file of labelled examples is sent with every judged example (few-shot): keep it far below a megabyte.
MAX_EXAMPLES_BYTES = 1_048_576


@dataclass(frozen=True)
class LabelledExample:
    """One example a person graded on the rubric's scale."""

    input: str
    output: str
    score: float
    reference: str = ""
    rationale: str = ""
    id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def answer(self) -> str:
        """The judge answer a person would have given: the rubric's JSON verdict."""
        return json.dumps({"score": self.score, "rationale": self.rationale}, ensure_ascii=False)

    def to_json(self) -> dict[str, Any]:
        """The example as one line of the file."""
        out: dict[str, Any] = {"input": self.input, "output": self.output, "score": self.score}
        for key, value in (("reference", self.reference), ("rationale", self.rationale), ("id", self.id)):
            if value:
                out[key] = value
        if self.metadata:
            out["metadata"] = self.metadata
        return out


def read_raw(path: Path) -> bytes | None:
    """The file's bytes, or None when there is none."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_EXAMPLES_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInputError([InputProblem(path, None, None, f"cannot read: {exc}")]) from exc
    if len(raw) > MAX_EXAMPLES_BYTES:
        raise InvalidInputError([InputProblem(path, None, None, f"larger than {MAX_EXAMPLES_BYTES:,} bytes")])
    return raw


def parse_labelled(path: Path, raw: bytes, *, scale_min: float, scale_max: float) -> tuple[LabelledExample, ...]:
    """Parse a labelled-examples file.

    Raises:
        InvalidInputError: naming the file, line and field of every problem.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError([InputProblem(path, raw[: exc.start].count(b"\n") + 1, None, "not UTF-8")]) from exc
    problems: list[InputProblem] = []
    examples = []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            problems.append(InputProblem(path, number, None, f"not JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            problems.append(InputProblem(path, number, None, "each line is a JSON object"))
            continue
        found = _line_problems(path, number, value, scale_min, scale_max)
        if found:
            problems.extend(found)
            continue
        examples.append(
            LabelledExample(
                input=value["input"],
                output=value["output"],
                score=float(value["score"]),
                reference=value.get("reference", ""),
                rationale=value.get("rationale", ""),
                id=value.get("id", ""),
                metadata=value.get("metadata", {}),
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return tuple(examples)


def _line_problems(
    path: Path, number: int, value: dict[str, Any], scale_min: float, scale_max: float
) -> list[InputProblem]:
    problems = [
        InputProblem(path, number, key, f"unknown field; allowed: {', '.join(sorted(_FIELDS))}")
        for key in sorted(set(value) - _FIELDS)
    ]
    for key in ("input", "output"):
        if not isinstance(value.get(key), str):
            problems.append(InputProblem(path, number, key, "required: a string"))
    for key in ("reference", "rationale", "id"):
        if key in value and not isinstance(value[key], str):
            problems.append(InputProblem(path, number, key, "must be a string"))
    if "metadata" in value and not isinstance(value["metadata"], dict):
        problems.append(InputProblem(path, number, "metadata", "must be an object"))
    score = value.get("score")
    finite = isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score)
    if not finite or not scale_min <= score <= scale_max:  # type: ignore[operator]  # finite: a number
        problems.append(
            InputProblem(path, number, "score", f"required: a number on the scale [{scale_min:g}, {scale_max:g}]")
        )
    return problems


def few_shot_messages(examples: tuple[LabelledExample, ...], render: Any) -> list[dict[str, str]]:
    """A user turn (the rubric rendered for the example) and an assistant turn (the person's verdict) each.

    Args:
        examples: The rubric's calibration examples.
        render: The rubric's ``render(input_text=..., output=..., reference=...)``.
    """
    turns = []
    for example in examples:
        content = render(input_text=example.input, output=example.output, reference=example.reference)
        turns.append({"role": "user", "content": content})
        turns.append({"role": "assistant", "content": example.answer()})
    return turns


def append_examples(text: str, new: list[LabelledExample]) -> tuple[str, list[LabelledExample]]:
    """``text`` (a file of labelled examples, maybe empty) with the examples it does not hold yet appended.

    An example is already there when a line has its ``id`` or the same input and output (a re-run of the
    export, or a person's decision already copied by hand).

    Returns:
        The new text (existing lines untouched, in order) and the examples added.
    """
    held: set[object] = set()
    for line in split_lines(text):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            held.add(("id", value.get("id")))
            held.add(("pair", value.get("input"), value.get("output")))
    added = []
    out = text if not text or text.endswith("\n") else text + "\n"
    for example in new:
        keys = {("pair", example.input, example.output), *((("id", example.id),) if example.id else ())}
        if keys & held:
            continue
        held |= keys
        added.append(example)
        out += json.dumps(example.to_json(), ensure_ascii=False) + "\n"
    return out, added
