"""Load YAML while remembering the line of every key, so errors can point at a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FieldPath = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    """The file is not valid YAML; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def load_yaml_with_lines(text: str, *, source: Path) -> tuple[Any, dict[FieldPath, int]]:
    """Parse YAML text and map each field path to the 1-based line where it starts.

    Args:
        text: The YAML document.
        source: The file it came from (only used in error messages).

    Returns:
        The parsed document and a mapping from field paths such as ``("scorers", 1, "rubric")``
        to line numbers.

    Raises:
        YamlSyntaxError: the text is not a single valid YAML document.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:  # also raised for several documents in one file
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(f"invalid YAML in {source}: {exc.problem or exc}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid YAML in {source}: {exc}", None) from exc
    lines: dict[FieldPath, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return data, lines


def _check_duplicate_keys(node: yaml.MappingNode, path: FieldPath) -> None:
    # PyYAML keeps the last of two equal keys without a word: a silently ignored setting is worse than an error.
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        line = key_node.start_mark.line + 1
        if key_node.value in seen:
            where = format_field_path((*path, key_node.value))
            raise YamlSyntaxError(f"duplicate key {where!r} (first on line {seen[key_node.value]})", line)
        seen[key_node.value] = line


def _collect_lines(node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        _check_duplicate_keys(node, path)
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*path, key)
            # A key's own line is where people look, even when its value starts on the next line.
            lines[child] = key_node.start_mark.line + 1
            _collect_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*path, index), lines)


def line_for(lines: dict[FieldPath, int], path: FieldPath) -> int | None:
    """The line of ``path``, or of its nearest ancestor that exists in the file."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def format_field_path(path: FieldPath) -> str:
    """``("scorers", 1, "rubric")`` -> ``scorers[1].rubric``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
