"""promptfoo: ``promptfooconfig.yaml`` (``prompts``, ``tests`` with ``vars`` and ``assert``, ``defaultTest``),
a tests file (a YAML list), or the CSV form (vars as columns; ``__expected``, ``__expected1``..., ``__description``,
``__prefix``, ``__suffix``, ``__metadata:<key>``, ``__tags``).

The prompt (the config's first) is filled with the test's vars, as promptfoo's Nunjucks does for plain
``{{ var }}`` slots; without prompts the test's only var (or its ``input`` / ``prompt`` / ``question`` /
``query`` var) is the input. Assertion values are filled with the vars too (``value: "{{expected}}"``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eval_assets.importing import asserts
from eval_assets.importing.model import Case, Grader, NotImportableError, Parsed, Prompt, source_error
from eval_assets.importing.sources import clean_tags, read_csv, read_text, read_yaml, to_prompt

_SLOT = re.compile(r"\{\{\s*([A-Za-z_][\w]*)\s*\}\}")
_NUNJUCKS = re.compile(r"\{%|\{\{[^}]*[|(][^}]*\}\}")
_INPUT_VARS = ("input", "prompt", "question", "query")
_TEST_FIELDS = frozenset({"description", "vars", "assert", "metadata", "threshold"})


def parse(source: Path) -> Parsed:
    """Read a promptfoo config, tests file or tests CSV.

    Raises:
        InvalidInputError: for an unreadable source or one with no tests.
    """
    parsed = Parsed()
    if source.suffix.lower() == ".csv":
        tests = _csv_tests(source, parsed)
        config: dict[str, Any] = {}
    else:
        value = read_yaml(source)
        config = value if isinstance(value, dict) else {"tests": value}
        tests = _tests(config.get("tests"), source, parsed)
    parsed.description = str(config.get("description") or "")
    for key in sorted(set(config) - {"description", "prompts", "tests", "defaultTest"}):
        parsed.skip(key, source.name, "the model under test is --model" if key == "providers" else "not imported")
    prompt = _prompt(config.get("prompts"), source, parsed)
    found = config.get("defaultTest")
    default: dict[str, Any] = found if isinstance(found, dict) else {}
    for key in sorted(set(default) - {"vars", "assert"}):
        parsed.skip(f"defaultTest.{key}", source.name, "not imported")
    if not tests:
        raise source_error(source, "no tests found (tests: in the config, a tests file, or CSV rows)")
    for index, (where, test) in enumerate(tests):
        _add_case(index, where, test, prompt, default, parsed)
    return parsed


def _tests(value: Any, source: Path, parsed: Parsed) -> list[tuple[str, dict[str, Any]]]:
    """Every test, from inline lists, ``file://`` references (YAML or CSV) or a CSV path."""
    if value is None:
        return []
    references = value if isinstance(value, list) else [value]
    tests: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(references):
        if isinstance(entry, dict):
            tests.append((f"tests[{index}]", entry))
        elif isinstance(entry, str):
            path = source.parent / entry.removeprefix("file://")
            if any(ch in entry for ch in "*?["):
                parsed.skip(f"tests {entry}", source.name, "globs are not expanded; import each file")
            elif path.suffix.lower() == ".csv":
                tests.extend(_csv_tests(path, parsed))
            else:
                loaded = read_yaml(path)
                items = loaded if isinstance(loaded, list) else [loaded]
                tests.extend((f"{path.name}[{i}]", t) for i, t in enumerate(items) if isinstance(t, dict))
        else:
            parsed.skip("test", f"tests[{index}]", "not a test object")
    return tests


def _csv_tests(path: Path, parsed: Parsed) -> list[tuple[str, dict[str, Any]]]:
    tests = []
    for line, row in read_csv(path):
        test: dict[str, Any] = {"vars": {}, "assert": [], "metadata": {}}
        for column, cell in row.items():
            if column.startswith("__expected") or column.startswith("expected_"):
                if cell.strip():
                    test["assert"].append(asserts.from_csv(cell))
            elif column == "__description":
                test["description"] = cell
            elif column == "__tags":
                test["tags"] = cell
            elif column in ("__prefix", "__suffix"):
                test[column] = cell
            elif column.startswith("__metadata:"):
                test["metadata"][column.removeprefix("__metadata:")] = cell
            elif column == "__threshold":
                test["threshold"] = cell
            elif column.startswith("__"):
                parsed.skip(f"CSV column {column}", f"{path.name}:{line}", "not imported")
            else:
                test["vars"][column] = cell
        tests.append((f"{path.name}:{line}", test))
    return tests


def _prompt(value: Any, source: Path, parsed: Parsed) -> Prompt | None:
    if value is None:
        return None
    prompts = value if isinstance(value, list) else [value]
    for index in range(1, len(prompts)):
        parsed.skip(f"prompts[{index}]", source.name, "one prompt per import (promptfoo runs each test per prompt)")
    first = prompts[0] if prompts else None
    if isinstance(first, dict):
        first = first.get("raw") or first.get("id")
    if not isinstance(first, str):
        raise source_error(source, "prompts[0] is not a prompt text or file:// reference", field_name="prompts")
    if first.startswith("file://"):
        path = source.parent / first.removeprefix("file://")
        if path.suffix.lower() not in (".txt", ".md", ".json", ".j2", ""):
            raise source_error(source, f"prompts[0] {first}: only text and JSON chat prompt files are importable")
        first = read_text(path)
    stripped = first.strip()
    if stripped.startswith("["):
        try:
            messages = json.loads(stripped)
        except json.JSONDecodeError:
            return first
        if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
            return [{"role": str(m.get("role")), "content": str(m.get("content", ""))} for m in messages]
    return first


def _fill(template: str, variables: dict[str, Any]) -> str:
    if _NUNJUCKS.search(template):
        raise NotImportableError("the template uses Nunjucks filters or tags, which are not rendered here")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise NotImportableError(f"the template uses {{{{{name}}}}}, which the test does not set")
        item = variables[name]
        return item if isinstance(item, str) else json.dumps(item)

    return _SLOT.sub(value, template)


def _input(prompt: Prompt | None, variables: dict[str, Any], test: dict[str, Any]) -> Prompt:
    if prompt is None:
        if len(variables) == 1:
            text = next(iter(variables.values()))
        else:
            name = next((n for n in _INPUT_VARS if n in variables), None)
            if name is None:
                raise NotImportableError(
                    f"no prompt in the config, and no var tells the input ({', '.join(variables)})"
                )
            text = variables[name]
        filled: Prompt = text if isinstance(text, str) else json.dumps(text)
    elif isinstance(prompt, str):
        filled = _fill(prompt, variables)
    else:
        filled = [{"role": m["role"], "content": _fill(m["content"], variables)} for m in prompt]
    if isinstance(filled, str):
        filled = f"{test.get('__prefix', '')}{filled}{test.get('__suffix', '')}"
    return to_prompt(filled)


def _add_case(
    index: int, where: str, test: dict[str, Any], prompt: Prompt | None, default: dict[str, Any], parsed: Parsed
) -> None:
    variables = {**(default.get("vars") or {}), **(test.get("vars") or {})}
    for name, item in variables.items():
        if isinstance(item, list):
            parsed.skip(f"vars.{name}", where, "a list var (promptfoo runs the test once per value) is not expanded")
            return
    try:
        prompt_value = _input(prompt, variables, test)
    except NotImportableError as exc:
        parsed.skip("test", where, str(exc))
        return
    for key in sorted(set(test) - _TEST_FIELDS - {"tags", "__prefix", "__suffix"}):
        parsed.skip(key, where, "not imported")
    if test.get("threshold") not in (None, ""):
        reason = "a test's threshold over its weighted asserts: each scorer passes on its own here"
        parsed.skip("threshold", where, reason)
    graders: list[Grader] = []
    entries = [(f"defaultTest.assert[{i}]", a) for i, a in enumerate(default.get("assert") or [])]
    entries += [(f"{where}.assert[{i}]", a) for i, a in enumerate(test.get("assert") or [])]
    for place, entry in entries:
        grader = asserts.to_grader(entry, place, parsed, lambda text: _fill(text, variables))
        if grader is not None:
            graders.append(grader)
    tags, refused = clean_tags(test.get("tags", []))
    for value in refused:
        parsed.skip(f"tag {value}", where, "not a usable tag (at most 100 characters, no control characters)")
    metadata = dict(test.get("metadata") or {})
    if test.get("description"):
        metadata["description"] = test["description"]
    if variables:
        metadata["vars"] = variables
    parsed.cases.append(
        Case(
            id=f"test-{index + 1}",
            input=prompt_value,
            where=where,
            tags=tags,
            metadata=metadata,
            graders=tuple(graders),
        )
    )
