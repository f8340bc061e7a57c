"""Load YAML while remembering the line of every key, so errors can point at a line.

This is the one YAML loader of the package (configs and rubric front matter): it is also where YAML's
cost is bounded. Anchors and aliases share one node, so a few hundred bytes can describe billions of
values (the "billion laughs" bomb); everything downstream (line maps, pydantic, hashing) walks the
expanded document. The loader therefore counts the document as it would be expanded and refuses it
past a small size, depth or text length, long before the expansion costs anything. Sane use of
anchors, such as one judge spec repeated for several scorers, stays well inside the limits.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

FieldPath = tuple[str | int, ...]

#: Values (mappings, sequences, scalars) in the document once aliases are expanded. The bundled configs
#: have about 200; a large hand-written config with a JSON schema has a few thousand.
MAX_NODES = 10_000
#: Nesting of the expanded document (a config is about 6 levels deep, a JSON schema a few more).
MAX_DEPTH = 64
#: Characters of scalar text in the expanded document (aliases of one long string count each time).
MAX_EXPANDED_CHARS = 1_048_576
#: Size of a YAML file read from disk; configs are hand-written (the bundled ones are under 10 kB), and
#: the pure-Python parser takes seconds per megabyte.
MAX_FILE_BYTES = 262_144

_SHOWN_PATH_PARTS = 8
#: Parsed YAML texts kept per process (each at most :data:`MAX_FILE_BYTES`).
_PARSED_TEXTS_KEPT = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BOOL_TAG = "tag:yaml.org,2002:bool"


class YamlSyntaxError(ValueError):
    """The file is not valid YAML, or is too large once expanded.

    Attributes:
        line: 1-based line, when known.
        field: Path of the value at fault (``scorers[1].judges``), when known.
    """

    def __init__(self, message: str, line: int | None, field: FieldPath | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.field = field


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that measures the expanded document while composing it and stops past the limits."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # id(node) -> (values, scalar characters, depth) of the node once expanded.
        self._expanded: dict[int, tuple[int, int, int]] = {}
        self._values = 0
        self._chars = 0
        self._depth = 0
        self._open_anchors: set[str] = set()
        self._path: list[str | int] = []

    def _refuse(self, message: str, mark: Any) -> NoReturn:
        error = ComposerError(None, None, message, mark)
        # The first levels are enough to find the place (a too-deep path would fill the screen).
        error.field_path = tuple(self._path[:_SHOWN_PATH_PARTS])  # type: ignore[attr-defined]
        raise error

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, counting aliases at their full expansion."""
        pushed = isinstance(index, int | yaml.ScalarNode)
        if pushed:
            self._path.append(index if isinstance(index, int) else str(index.value))
        try:
            return self._compose_counted(parent, index)
        finally:
            if pushed:
                self._path.pop()

    def _compose_counted(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML's parser is not annotated
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                recursive = f"alias *{event.anchor} is used inside its own anchor (a recursive value)"
                self._refuse(recursive, event.start_mark)
            aliased = super().compose_node(parent, index)
            assert aliased is not None  # an alias always names a composed node
            values, chars, depth = self._expanded[id(aliased)]
            self._add(values, chars, self._depth + depth, event.start_mark, alias=event.anchor)
            return aliased
        if self._depth >= MAX_DEPTH:
            self._refuse(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        self._depth += 1
        try:
            composed = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor or "")
        assert composed is not None  # compose_node is only called where a node follows
        node: yaml.Node = composed
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        own_chars = len(node.value) if isinstance(node, yaml.ScalarNode) else 0
        if own_chars and _SURROGATE.search(node.value):
            # A "\ud800" escape decodes to a lone surrogate, which no file, database or HTTP body can encode.
            self._refuse("a lone surrogate escape (\\ud800-\\udfff) is not text", event.start_mark)
        stats = [self._expanded[id(child)] for child in children]
        self._expanded[id(node)] = (
            1 + sum(s[0] for s in stats),
            own_chars + sum(s[1] for s in stats),
            1 + max((s[2] for s in stats), default=0),
        )
        self._add(1, own_chars, self._depth + 1, event.start_mark, alias=None)
        return node

    def _add(self, values: int, chars: int, depth: int, mark: Any, *, alias: str | None) -> None:
        self._values += values
        self._chars += chars
        via = f"alias *{alias}" if alias is not None else "this value"
        if self._values > MAX_NODES:
            self._refuse(
                f"the document has more than {MAX_NODES:,} values once YAML aliases are expanded "
                f"({via} adds {values:,})",
                mark,
            )
        if self._chars > MAX_EXPANDED_CHARS:
            self._refuse(
                f"the document has more than {MAX_EXPANDED_CHARS:,} characters of text once YAML aliases are "
                f"expanded ({via} adds {chars:,})",
                mark,
            )
        if depth > MAX_DEPTH:
            self._refuse(f"nested deeper than {MAX_DEPTH} levels once YAML aliases are expanded", mark)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one value; a conversion that fails (a 5,000-digit int...) names its line."""
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, f"invalid value: {exc}", node.start_mark) from exc


# Dates stay strings: pydantic parses the fields that are dates and reports a bad one ("2026-13-45") with
# its field; PyYAML's own conversion raises a bare ValueError, and a description that happens to look like
# a date must stay text. Set on the subclass only: yaml.SafeLoader itself is untouched.
# Booleans follow YAML 1.2: only true/false. YAML 1.1 also reads on/off/yes/no/y/n as booleans, which
# turns the `on:` key of a notification target into True and a dataset tag `no` into False.
_BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_TIMESTAMP_TAG, _BOOL_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BoundedLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_yaml_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The text of a YAML file, refused before parsing when it is larger than any hand-written file.

    Raises:
        OSError: the file cannot be read.
        YamlSyntaxError: it is larger than ``max_bytes``, or not UTF-8 (with the line of the first bad byte).
    """
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise YamlSyntaxError(f"file is larger than {max_bytes:,} bytes", None)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlSyntaxError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", line) from None


def load_yaml_with_lines(text: str) -> tuple[Any, dict[FieldPath, int]]:
    """Parse YAML text and map each field path to the 1-based line where it starts.

    Args:
        text: The YAML document (errors carry its line numbers; the caller names the file).

    Returns:
        The parsed document and a mapping from field paths such as ``("scorers", 1, "rubric")``
        to line numbers.

    Raises:
        YamlSyntaxError: the text is not a single valid YAML document, or is too large once its aliases
            are expanded (see :data:`MAX_NODES`, :data:`MAX_DEPTH`, :data:`MAX_EXPANDED_CHARS`).
    """
    data, lines = _parsed(text)
    # The parse is shared between callers (a config is read by every stage of a run): each gets its own copy.
    return copy.deepcopy(data), dict(lines)


@functools.lru_cache(maxsize=_PARSED_TEXTS_KEPT)
def _parsed(text: str) -> tuple[Any, dict[FieldPath, int]]:
    # The pure-Python parser costs ~60 ms for a bundled config, and one nightly cell reads its config about
    # ten times (the definitions, every stage's stored inputs): the same text is parsed once per process.
    # Errors are not kept (lru_cache stores returns only), so a broken file is reported every time.
    loader: _BoundedLoader | None = None
    lines: dict[FieldPath, int] = {}
    try:
        loader = _BoundedLoader(text)
        node = loader.get_single_node()
        if node is not None:
            _collect_lines(node, (), lines)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:  # also raised for several documents in one file
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = f"{exc.context}, {exc.problem}" if exc.context and exc.problem else (exc.problem or str(exc))
        field = getattr(exc, "field_path", None) or _deepest_path_on(lines, line)
        raise YamlSyntaxError(f"invalid YAML: {problem}", line, field) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, most control characters)
        line = text[: exc.position].count("\n") + 1
        raise YamlSyntaxError(f"invalid YAML: {exc.reason} (character #x{exc.character:04x})", line) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid YAML: {exc}", None) from exc
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, YamlSyntaxError):
            raise
        raise YamlSyntaxError(f"invalid YAML: {exc}", None) from exc
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


def _deepest_path_on(lines: dict[FieldPath, int], line: int | None) -> FieldPath | None:
    # A value that cannot be constructed is known by its line only; the longest path starting there names it.
    paths = [path for path, at in lines.items() if at == line and path]
    return max(paths, key=len) if paths else None


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
    # Recursion is safe: the loader has already bounded the expanded size and depth.
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
