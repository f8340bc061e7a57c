"""Errors about user input (configs, datasets, rubrics) that name the file, line and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with one file.

    Attributes:
        path: The file at fault.
        line: 1-based line number, or None when the problem concerns the whole file.
        field: Dotted path of the field at fault (``scorers[1].rubric``), or None.
        message: What is wrong and, where possible, how to fix it.
    """

    path: Path
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class InvalidInputError(Exception):
    """Raised when configs, datasets or rubrics fail validation; nothing has been called or written."""

    def __init__(self, problems: Iterable[InputProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self._summary())

    def _summary(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in evaluation inputs:"
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])
