"""Judge prompts of other tools rewritten as rubrics: their placeholders become this project's slots.

A rubric shows the judge ``{{input}}``, ``{{output}}`` and ``{{reference}}``, each inside a tagged block
(``<output>`` ... ``</output>``) so a judge (and the offline judge) can tell data from instructions, and
ends with the answer format every judge here must follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from eval_assets.importing.model import RubricDraft

SLOTS = ("input", "output", "reference")


def block(slot: str) -> str:
    """A slot inside its tagged block, on lines of their own."""
    return f"\n<{slot}>\n{{{{{slot}}}}}\n</{slot}>\n"


def answer_format(low: float, high: float, *, choices: Mapping[str, float] | None = None) -> str:
    """The closing instruction: the JSON verdict this project parses (``{"score", "rationale"}``)."""
    if choices:
        listed = ", ".join(f'"{choice}" = {score:g}' for choice, score in choices.items())
        return (
            "\n\nReport your choice as its score (" + listed + f"; scores range from {low:g} to {high:g}). "
            'Respond with only a JSON object, no other text and no code fence:\n{"score": <the score of your '
            'choice>, "rationale": "<your reasoning, then the letter you chose>"}\n'
        )
    return (
        f"\n\nGive a score from {low:g} to {high:g}. Respond with only a JSON object, no other text and no code "
        f'fence:\n{{"score": <number from {low:g} to {high:g}>, "rationale": "<one or two sentences>"}}\n'
    )


def convert(
    template: str, placeholder: re.Pattern[str], slot_of: Callable[[str], str | None]
) -> tuple[str, list[str], set[str]]:
    """Replace the source's placeholders with tagged slots.

    Args:
        template: The source's prompt.
        placeholder: Matches one placeholder; group 1 is its name.
        slot_of: The slot a placeholder name stands for, or None when it has none.

    Returns:
        The rewritten text, the placeholder names with no slot, and the slots used.
    """
    unknown: list[str] = []
    used: set[str] = set()
    pieces: list[str] = []
    position = 0
    for match in placeholder.finditer(template):
        # Literal "{{" outside the placeholders would read as a slot here: keep it visibly apart.
        pieces.append(_literal(template[position : match.start()]))
        position = match.end()
        slot = slot_of(match.group(1).strip())
        if slot is None:
            unknown.append(match.group(1).strip())
            pieces.append(_literal(match.group(0)))
        else:
            used.add(slot)
            pieces.append(block(slot))
    pieces.append(_literal(template[position:]))
    return "".join(pieces), unknown, used


def _literal(text: str) -> str:
    return text.replace("{{", "{ {").replace("}}", "} }")


def draft(text: str, used: set[str], scale: tuple[float, float], description: str) -> RubricDraft:
    """A rubric from a converted prompt; adds the output block when the source prompt never showed it."""
    if "output" not in used:
        text += "\n\nThe answer to grade:" + block("output")
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return RubricDraft(
        template="\n".join(lines),
        scale=scale,
        requires_reference="reference" in used,
        description=description,
    )
