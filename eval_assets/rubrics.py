"""Rubric (LLM-as-judge) prompt templates in ``data/prompts/*.md``.

A rubric is Markdown with a YAML front matter block::

    ---
    scale: [1, 5]            # the judge's integer scale, lowest to highest
    requires_reference: true
    ---
    ...prompt text with {{input}}, {{output}} and {{reference}} slots...

The judge must answer with a JSON object ``{"score": <number on the scale>, "rationale": "<text>"}``.
Slots are filled in a single pass, so text inside a model's output (``{{input}}``, Jinja syntax, ...)
is never expanded again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_assets.datasets import file_hash, split_lines
from eval_assets.errors import InputProblem, InvalidInputError
from eval_assets.rubric_examples import ANCHORS_SUFFIX, EXAMPLES_SUFFIX, LabelledExample, parse_labelled, read_raw
from eval_assets.yaml_lines import MAX_FILE_BYTES, YamlSyntaxError, format_field_path, load_yaml_with_lines

SLOT_PATTERN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
KNOWN_SLOTS = frozenset({"input", "output", "reference"})
FRONT_MATTER_FIELDS = frozenset({"scale", "requires_reference", "description"})
#: A judge prompt is sent with every judged example; a megabyte is far above any real rubric.
MAX_RUBRIC_BYTES = 1_048_576


@dataclass(frozen=True)
class Rubric:
    """A parsed rubric template.

    Attributes:
        name: File name without ``.md`` (what configs refer to).
        path: Where it was loaded from.
        template: The prompt body, after the front matter.
        scale_min: Lowest score the judge may give.
        scale_max: Highest score the judge may give.
        requires_reference: Whether examples must carry a reference.
        content_hash: Hash of the whole file and of its calibration examples (the ``prompt_hash`` lineage
            column): a new calibration example makes every judge re-run.
        description: One line for reports.
        examples: Human-labelled calibration examples (``<name>.examples.jsonl``), sent as few-shot turns.
        anchors: The frozen human-labelled anchor set (``<name>.anchors.jsonl``), re-graded every night.
    """

    name: str
    path: Path
    template: str
    scale_min: float
    scale_max: float
    requires_reference: bool
    content_hash: str
    description: str = ""
    examples: tuple[LabelledExample, ...] = field(default=(), repr=False)
    anchors: tuple[LabelledExample, ...] = field(default=(), repr=False)

    def render(self, *, input_text: str, output: str, reference: str) -> str:
        """Fill the slots in one pass; slot-like text inside the values stays literal."""
        values = {"input": input_text, "output": output, "reference": reference}
        return SLOT_PATTERN.sub(lambda match: values[match.group(1)], self.template)

    def normalize(self, score: float) -> float:
        """Map a score on the rubric's scale to [0, 1]."""
        return (score - self.scale_min) / (self.scale_max - self.scale_min)


def _finite(value: Any) -> bool:
    # .inf would make every normalized score 0, and an int too large for a float cannot be normalized.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def load_rubric(path: Path) -> Rubric:
    """Parse and validate a rubric file.

    Raises:
        InvalidInputError: naming the file, line and field at fault.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RUBRIC_BYTES + 1)
    except OSError as exc:
        raise InvalidInputError([InputProblem(path, None, None, f"cannot read rubric: {exc}")]) from exc
    if len(raw) > MAX_RUBRIC_BYTES:
        raise InvalidInputError([InputProblem(path, None, None, f"rubric is larger than {MAX_RUBRIC_BYTES:,} bytes")])
    try:
        text = raw.decode("utf-8-sig")  # an editor's byte-order mark is not part of the '---' line
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInputError([InputProblem(path, line, None, "not valid UTF-8")]) from exc
    problems: list[InputProblem] = []
    lines = split_lines(text, keepends=True)
    if not lines or lines[0].strip() != "---":
        raise InvalidInputError(
            [
                InputProblem(
                    path,
                    1,
                    None,
                    "a rubric starts with a '---' front matter block declaring at least 'scale: [min, max]'",
                )
            ]
        )
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise InvalidInputError([InputProblem(path, 1, None, "front matter is not closed by a '---' line")]) from None
    front_matter = "".join(lines[1:end])
    if len(front_matter) > MAX_FILE_BYTES:
        too_long = f"front matter is longer than {MAX_FILE_BYTES:,} characters"
        raise InvalidInputError([InputProblem(path, 2, None, too_long)])
    try:
        meta, field_lines = load_yaml_with_lines(front_matter)
    except YamlSyntaxError as exc:
        line = exc.line + 1 if exc.line is not None else 1
        field = format_field_path(exc.field) if exc.field else None
        raise InvalidInputError([InputProblem(path, line, field, str(exc))]) from exc
    meta = meta or {}
    if not isinstance(meta, dict):
        raise InvalidInputError([InputProblem(path, 2, None, "front matter must be a YAML mapping")])

    def line_of(key: str) -> int:
        return field_lines.get((key,), 1) + 1

    for unknown in sorted(set(meta) - FRONT_MATTER_FIELDS):
        problems.append(
            InputProblem(
                path,
                line_of(unknown),
                unknown,
                f"unknown field; allowed: {', '.join(sorted(FRONT_MATTER_FIELDS))}",
            )
        )
    scale = meta.get("scale")
    scale_ok = isinstance(scale, list) and len(scale) == 2 and all(_finite(v) for v in scale) and scale[0] < scale[1]
    if not scale_ok:
        problems.append(
            InputProblem(
                path,
                line_of("scale") if "scale" in meta else 1,
                "scale",
                "required: [lowest, highest] finite numbers, lowest < highest, e.g. [1, 5]",
            )
        )
    description = meta.get("description", "")
    if not isinstance(description, str):
        problems.append(InputProblem(path, line_of("description"), "description", "must be a string"))
    requires_reference = meta.get("requires_reference", False)
    if not isinstance(requires_reference, bool):
        problems.append(
            InputProblem(path, line_of("requires_reference"), "requires_reference", "must be true or false")
        )
    body = "".join(lines[end + 1 :])
    body_first_line = end + 2
    for match in SLOT_PATTERN.finditer(body):
        if match.group(1) not in KNOWN_SLOTS:
            line = body_first_line + body[: match.start()].count("\n")
            problems.append(
                InputProblem(
                    path,
                    line,
                    None,
                    f"unknown slot {{{{{match.group(1)}}}}}; "
                    f"allowed: {', '.join('{{' + s + '}}' for s in sorted(KNOWN_SLOTS))}",
                )
            )
    slots = {match.group(1) for match in SLOT_PATTERN.finditer(body)}
    if "output" not in slots:
        problems.append(InputProblem(path, None, None, "the template never shows the judge the output: add {{output}}"))
    if requires_reference is True and "reference" not in slots:
        problems.append(InputProblem(path, None, None, "requires_reference is true but there is no {{reference}} slot"))
    if problems:
        raise InvalidInputError(problems)
    assert isinstance(scale, list)
    low, high = float(scale[0]), float(scale[1])
    examples_path, anchors_path = beside(path, EXAMPLES_SUFFIX), beside(path, ANCHORS_SUFFIX)
    examples_raw, anchors_raw = read_raw(examples_path), read_raw(anchors_path)
    examples = parse_labelled(examples_path, examples_raw, scale_min=low, scale_max=high) if examples_raw else ()
    anchors = parse_labelled(anchors_path, anchors_raw, scale_min=low, scale_max=high) if anchors_raw else ()
    # The examples are part of the prompt; a rubric without any keeps the hash it always had.
    hashed = raw + b"\x00examples\x00" + examples_raw if examples and examples_raw else raw
    return Rubric(
        name=path.stem,
        path=path,
        template=body,
        scale_min=low,
        scale_max=high,
        requires_reference=bool(requires_reference),
        content_hash=file_hash(hashed),
        description=str(description),
        examples=examples,
        anchors=anchors,
    )


def beside(rubric_path: Path, suffix: str) -> Path:
    """The file of labelled examples beside a rubric (``rubric-tone.md`` -> ``rubric-tone.examples.jsonl``)."""
    return rubric_path.with_name(rubric_path.stem + suffix)
