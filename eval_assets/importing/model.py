"""What every importer produces: examples with the graders they carry, and what could not be mapped.

A format module reads another tool's files into :class:`Parsed`: one :class:`Case` per example, each with
the :class:`Grader` entries the source applies to it (a promptfoo test's ``assert``, an openai/evals
spec's class, an Evals API ``testing_criteria`` entry), and an :class:`Unmapped` entry for every field or
grader that has no equivalent here. :mod:`eval_assets.importing.build` turns that into files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_assets.errors import InputProblem, InvalidInputError

#: A dataset ``input``: a string or chat messages (``role`` and ``content`` only).
Prompt = str | list[dict[str, str]]


@dataclass(frozen=True)
class RubricDraft:
    """A judge prompt to write under ``prompts/`` for a model-graded grader.

    Attributes:
        template: The prompt with ``{{input}}``, ``{{output}}`` and ``{{reference}}`` slots.
        scale: The judge's score range, lowest first.
        requires_reference: Whether the prompt shows the reference (then every example needs one).
        description: One line for reports.
    """

    template: str
    scale: tuple[float, float]
    requires_reference: bool
    description: str

    def render(self) -> str:
        """The rubric file: front matter, then the template."""
        low, high = (int(v) if float(v).is_integer() else v for v in self.scale)
        front = [
            "---",
            f"scale: [{low}, {high}]",
            f"requires_reference: {'true' if self.requires_reference else 'false'}",
            f"description: {json.dumps(self.description)}",
            "---",
        ]
        return "\n".join(front) + "\n" + self.template.rstrip("\n") + "\n"


@dataclass(frozen=True)
class Grader:
    """One grader of the source, mapped onto a scorer of this project.

    Attributes:
        label: The source's name for the grader kind (``promptfoo icontains``), grouping the summary.
        where: Where it sits in the source (``tests[3].assert[0]``).
        scorer: The registered scorer it maps onto.
        options: That scorer's options.
        pass_score: The normalized score at which an example passes (None: the scorer's default).
        reference: The references this grader compares with, for this example; None if it reads none.
        rubric: The judge prompt, for judge scorers.
        name_hint: Preferred scorer name in the config (metrics are ``<name>.pass_rate``).
        note: How the mapping differs from the source's behaviour, said once in the summary.
    """

    label: str
    where: str
    scorer: str
    options: Mapping[str, Any] = field(default_factory=dict)
    pass_score: float | None = None
    reference: tuple[str, ...] | None = None
    rubric: RubricDraft | None = None
    name_hint: str = ""
    note: str = ""

    def signature(self) -> str:
        """What makes two graders the same configured scorer (the reference is per example, so not it)."""
        rubric = None if self.rubric is None else [self.rubric.template, list(self.rubric.scale)]
        return json.dumps(
            [self.scorer, dict(self.options), self.pass_score, rubric, self.reference is not None], sort_keys=True
        )


@dataclass(frozen=True)
class Case:
    """One example of the source.

    Attributes:
        id: Its id (the source's when it has a usable one).
        input: The prompt.
        where: Where it sits in the source, for messages.
        reference: References with no grader reading them (an inspect ``target``), else None.
        tags: Labels used to slice metrics.
        metadata: Source fields kept for reviewers.
        graders: The source's graders of this example.
    """

    id: str
    input: Prompt
    where: str
    reference: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    graders: tuple[Grader, ...] = ()


@dataclass(frozen=True)
class Unmapped:
    """A field or grader of the source with no equivalent here (listed, never silently dropped).

    Attributes:
        what: The field or grader (``promptfoo not-contains``, ``weight``).
        where: Where it sits in the source.
        reason: Why it is not imported.
    """

    what: str
    where: str
    reason: str


@dataclass
class Parsed:
    """What a format module read from the source.

    Attributes:
        cases: The examples, in source order.
        unmapped: Everything not imported, with the reason.
        kept: Source fields carried over as-is (into ``metadata``), e.g. ``"LangSmith metadata -> metadata"``.
        has_graders: Whether the source format carries graders at all (inspect samples and dataset exports
            do not: their examples are scored by the ``--scorer`` of the import).
        description: For the config's ``description``.
    """

    cases: list[Case] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    has_graders: bool = True
    description: str = ""

    def skip(self, what: str, where: str, reason: str) -> None:
        """Record something not imported."""
        self.unmapped.append(Unmapped(what, where, reason))


class NotImportableError(ValueError):
    """An example that cannot be imported (reported as unmapped with this message)."""


def source_error(path: Path, message: str, *, line: int | None = None, field_name: str | None = None) -> Exception:
    """An error about the source file, in the shape every command reports (file, line, field)."""
    return InvalidInputError([InputProblem(path, line, field_name, message)])
