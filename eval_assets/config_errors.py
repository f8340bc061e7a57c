"""Pydantic's validation errors of a run config, said as file:line:field problems a person can act on.

Pydantic reports locations inside the ``scorers[]`` union with the discriminator's value in them and says
patterns as regular expressions; this module turns each error into an :class:`InputProblem` that names the
line in the YAML file, the field as written there, and what is wrong in words.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from eval_assets.config_base import (
    CONFIG_NAME_PATTERN,
    LABEL_PATTERN,
    MODEL_ID_PATTERN,
    RUBRIC_NAME_PATTERN,
    SCORER_NAME_PATTERN,
)
from eval_assets.errors import InputProblem
from eval_assets.scoring.registry import COMMON_FIELDS, all_scorers, scorer_named
from eval_assets.yaml_lines import FieldPath, format_field_path, line_for

#: What each name pattern means, said in words instead of as a regular expression.
_PATTERN_MEANINGS = {
    CONFIG_NAME_PATTERN.pattern: "a config name: letters, digits, '-', '_' and '.' (at most 63 characters)",
    SCORER_NAME_PATTERN: "lowercase letters, digits and '_', starting with a letter (at most 63 characters)",
    RUBRIC_NAME_PATTERN: "a file name in prompts/ without .md: letters, digits, '-', '_' and '.' (no '/')",
    LABEL_PATTERN: "must not contain control or invisible formatting characters",
    MODEL_ID_PATTERN: "a model id: no spaces or control characters, at most 256 characters",
}


def problems_from_validation(exc: ValidationError, path: Path, lines: dict[FieldPath, int]) -> list[InputProblem]:
    """One problem per pydantic error, located by ``lines`` (field path -> line in ``path``)."""
    problems = []
    for error in exc.errors():
        loc, scorer = _without_union_tag(tuple(part for part in error["loc"] if isinstance(part, str | int)))
        message = error["msg"].removeprefix("Value error, ")
        option = loc[2] if scorer is not None and len(loc) == 3 else None
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "scorer")
            known = ", ".join(entry.name for entry in all_scorers())
            tag = error.get("ctx", {}).get("tag")
            message = (
                f"unknown scorer {tag!r}; known scorers: {known}"
                if error["type"] == "union_tag_invalid"
                else f"missing: which scorer to apply (one of: {known})"
            )
        elif error["type"] == "extra_forbidden":
            message = (
                _not_an_option(scorer, str(option))
                if scorer is not None and option is not None
                else "unknown field (check the spelling; see README 'Config format')"
            )
        elif error["type"] == "missing" and scorer is not None and option is not None:
            described = scorer_named(scorer).options.model_fields[str(option)].description or ""
            message = f"{scorer} needs {option!r}: {described[:1].lower()}{described[1:]}"
        elif error["type"] == "model_attributes_type" and len(loc) == 2 and loc[0] == "scorers":
            message = "each scorer is a mapping with a 'scorer' key, e.g. '- scorer: contains'"
        elif error["type"] == "literal_error":
            message = f"{message}, got {error.get('input')!r}"
        elif error["type"] == "string_pattern_mismatch":
            message = _PATTERN_MEANINGS.get(str(error.get("ctx", {}).get("pattern")), message)
        problems.append(InputProblem(path, line_for(lines, loc), format_field_path(loc) or None, message))
    return problems


def _without_union_tag(loc: FieldPath) -> tuple[FieldPath, str | None]:
    """``("scorers", 0, "contains", "pattern")`` -> ``(("scorers", 0, "pattern"), "contains")``.

    Pydantic puts the discriminator's value into the location of errors inside a union member; the file
    has no such key, so it would hide the line and garble the field.
    """
    tagged = len(loc) >= 3 and loc[0] == "scorers" and isinstance(loc[1], int) and isinstance(loc[2], str)
    if tagged and loc[2] in {entry.name for entry in all_scorers()}:
        return (*loc[:2], *loc[3:]), str(loc[2])
    return loc, None


def _not_an_option(scorer: str, option: str) -> str:
    """Why ``option`` is refused on ``scorer``, naming the scorers that do take it and what this one takes."""
    takers = [entry.name for entry in all_scorers() if option in entry.options.model_fields]
    takes = ", ".join(sorted(scorer_named(scorer).options.model_fields)) or "no options"
    common = ", ".join(sorted(COMMON_FIELDS - {"scorer"}))
    why = (
        f"{option!r} only applies to {' and '.join(takers)}, not {scorer}"
        if takers
        else f"{scorer} has no option {option!r} (check the spelling)"
    )
    return f"unknown field: {why}; {scorer} takes {takes} (and {common})"
