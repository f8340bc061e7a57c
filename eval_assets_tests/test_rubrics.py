"""Rubric templates: front matter, slots, and single-pass rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets.errors import InvalidInputError
from eval_assets.rubrics import load_rubric

RUBRIC = """---
scale: [1, 5]
requires_reference: true
---
Grade it.
<input>
{{input}}
</input>
<reference>
{{ reference }}
</reference>
<output>
{{output}}
</output>
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric-x.md"
    path.write_text(text)
    return path


def test_render_fills_slots_once(tmp_path: Path) -> None:
    rubric = load_rubric(write(tmp_path, RUBRIC))
    # Slot syntax inside a model's output must stay literal: no second expansion, no template injection.
    text = rubric.render(input_text="Q {{output}}", output="A {{reference}} {% raw %}", reference="R")
    assert "Q {{output}}" in text and "A {{reference}} {% raw %}" in text and "\nR\n" in text
    assert rubric.normalize(5) == 1.0 and rubric.normalize(1) == 0.0 and rubric.normalize(3) == 0.5


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (RUBRIC.replace("scale: [1, 5]", "scale: [5, 1]"), "rubric-x.md:2: scale:"),
        (RUBRIC.replace("scale: [1, 5]\n", ""), "scale: required"),
        (
            RUBRIC.replace("requires_reference: true", "requires_reference: true\nscael: 1"),
            "rubric-x.md:4: scael: unknown field",
        ),
        (RUBRIC.replace("{{input}}", "{{question}}"), "rubric-x.md:7: unknown slot {{question}}"),
        (RUBRIC.replace("{{output}}", "OUTPUT"), "add {{output}}"),
        (RUBRIC.replace("{{ reference }}", "none"), "no {{reference}} slot"),
        (RUBRIC.removeprefix("---\n"), "rubric-x.md:1: a rubric starts with"),
        (RUBRIC.replace("---\nGrade", "Grade"), "front matter is not closed"),
    ],
)
def test_rubric_problems(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        load_rubric(write(tmp_path, text))
    assert any(fragment in str(p) for p in info.value.problems), [str(p) for p in info.value.problems]
