"""Golden datasets (``data/datasets/*.jsonl``): parsing, per-line validation, filtering and hashing.

One JSON object a line: ``{"id", "input", "reference", "tags", "metadata"}``. ``input`` is a string or a
list of chat messages; ``reference`` a string, a list of acceptable answers, or absent.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_assets.errors import InputProblem, InvalidInputError

KNOWN_FIELDS = frozenset({"id", "input", "reference", "tags", "metadata"})
CHAT_ROLES = frozenset({"system", "user", "assistant"})
#: Dataset names (file names without .jsonl) key rows, scorers' ``datasets:`` and report links.
DATASET_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: One example a line: 8 MiB of text is far above any model's context window, so a longer line is a
#: mistake (or a trap), refused before it is parsed.
MAX_LINE_CHARS = 8 * 1024 * 1024
#: Nesting of a line's JSON (chat inputs are 3 levels deep; metadata gets some room). Python's parser
#: fails with a bare RecursionError near 1,000 levels, and every later stage walks the value again.
MAX_JSON_DEPTH = 32
MAX_ID_CHARS = 256
MAX_TAG_CHARS = 100
#: Control and format characters (C0, C1, zero-width, bidi overrides, line separators, BOM): invisible or
#: terminal-controlling in an id or a tag, where nobody expects them.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: What a line must contain for :func:`_unencodable` to find anything: a ``\\u`` escape of a surrogate (valid
#: UTF-8 holds none, so only an escape makes one), or a number with a 3-digit exponent or 309 digits (the
#: only ways to leave float range). Strings that merely look so only cost the full walk.
_UNENCODABLE_HINT = re.compile(r"\\u[dD][89a-fA-F]|[eE][+-]?\d{3}|\d{309}")
#: Datasets parsed in this process, by path and full content digest, the newest last: the CLI validates a
#: config's datasets before its run, whose first stage loads them again (3 s of a 100,000-example run).
_PARSED: OrderedDict[tuple[Path, bytes], Dataset] = OrderedDict()
_PARSED_KEEP = 4


@dataclass(frozen=True)
class Example:
    """One golden example.

    Attributes:
        dataset: Name of the dataset (file stem) it belongs to.
        id: Unique id within the dataset.
        input: The prompt: a string or a list of ``{"role", "content"}`` chat messages.
        references: Acceptable answers; empty when the example has no reference.
        tags: Labels used to slice metrics.
        line: 1-based line in the dataset file.
        metadata: Free-form extra fields kept for reports.
    """

    dataset: str
    id: str
    input: str | tuple[dict[str, str], ...]
    references: tuple[str, ...]
    tags: tuple[str, ...]
    line: int
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def transcript(self) -> str:
        """The whole input as readable text: multi-turn chats keep every turn (judges need the context)."""
        if isinstance(self.input, str):
            return self.input
        return "\n".join(f"{turn['role']}: {turn['content']}" for turn in self.input)

    def messages(self, system_prompt: str | None) -> list[dict[str, str]]:
        """Chat messages to send to the model, with the config's system prompt first."""
        turns = [{"role": "user", "content": self.input}] if isinstance(self.input, str) else list(self.input)
        has_system = any(turn["role"] == "system" for turn in turns)
        if system_prompt and not has_system:
            turns.insert(0, {"role": "system", "content": system_prompt})
        return [dict(turn) for turn in turns]


@dataclass(frozen=True)
class Dataset:
    """A parsed dataset file and its content hash."""

    name: str
    path: Path
    content_hash: str
    examples: tuple[Example, ...]

    @property
    def tags(self) -> frozenset[str]:
        """Every tag used in the file."""
        return frozenset(tag for example in self.examples for tag in example.tags)


def file_hash(data: bytes) -> str:
    """Short content hash used for lineage columns."""
    return hashlib.sha256(data).hexdigest()[:16]


def split_lines(text: str, *, keepends: bool = False) -> list[str]:
    """Split on ``\\n`` only (a ``\\r`` before it is dropped unless ``keepends``).

    ``str.splitlines`` also splits on U+2028, U+2029, U+0085 and form feeds, which JSON allows raw inside a
    string: it would cut a valid line in two and shift every later line number.
    """
    parts = text.split("\n")
    if keepends:
        lines = [part + "\n" for part in parts[:-1]]
        return [*lines, parts[-1]] if parts[-1] else lines
    if parts[-1] == "":
        parts.pop()
    return [part.removesuffix("\r") for part in parts]


def load_dataset(path: Path) -> Dataset:
    """Parse and validate a JSONL dataset, reporting every bad line at once.

    Raises:
        InvalidInputError: naming the file, the line and the field of each problem.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError([InputProblem(path, None, None, f"cannot read dataset: {exc}")]) from exc
    key = (path, hashlib.sha256(raw).digest())
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _PARSED[key]
    dataset = _parse_dataset(path, raw)
    _PARSED[key] = dataset
    while len(_PARSED) > _PARSED_KEEP:
        _PARSED.popitem(last=False)
    return dataset


def _parse_dataset(path: Path, raw: bytes) -> Dataset:
    problems: list[InputProblem] = []
    if not DATASET_NAME_PATTERN.match(path.stem):
        problems.append(
            InputProblem(
                path,
                None,
                None,
                "dataset file names may use letters, digits, '-', '_' and '.' (at most 100 characters); "
                "the name without .jsonl identifies the dataset in configs, rows and reports",
            )
        )
    examples: list[Example] = []
    first_line_of_id: dict[str, int] = {}
    try:
        text = raw.decode("utf-8-sig")  # editors on Windows add a byte-order mark; it is not part of line 1
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInputError([InputProblem(path, line, None, "not valid UTF-8")]) from exc
    for number, line_text in enumerate(split_lines(text), start=1):
        if len(line_text) > MAX_LINE_CHARS:
            problems.append(InputProblem(path, number, None, f"line is longer than {MAX_LINE_CHARS:,} characters"))
            continue
        if not line_text.strip():
            continue
        example = _parse_line(line_text, path=path, dataset=path.stem, line=number, problems=problems)
        if example is None:
            continue
        if example.id in first_line_of_id:
            problems.append(
                InputProblem(
                    path,
                    number,
                    "id",
                    f"duplicate id {example.id!r} (first used on line {first_line_of_id[example.id]})",
                )
            )
            continue
        first_line_of_id[example.id] = number
        examples.append(example)
    if not examples and not problems:
        problems.append(InputProblem(path, None, None, "dataset has no examples"))
    if problems:
        raise InvalidInputError(problems)
    return Dataset(name=path.stem, path=path, content_hash=file_hash(raw), examples=tuple(examples))


def _parse_line(text: str, *, path: Path, dataset: str, line: int, problems: list[InputProblem]) -> Example | None:
    def problem(field_name: str | None, message: str) -> None:
        problems.append(InputProblem(path, line, field_name, message))

    try:
        record = _loads(text)
    except json.JSONDecodeError as exc:
        problem(None, f"not valid JSON: {exc.msg} at column {exc.colno}")
        return None
    except RecursionError:
        problem(_field_too_deep(text), f"nested deeper than {MAX_JSON_DEPTH} levels")
        return None
    except ValueError as exc:  # NaN/Infinity, duplicate keys, integers of thousands of digits
        problem(None, f"not valid JSON: {exc}")
        return None
    if not isinstance(record, dict):
        problem(None, f"each line must be a JSON object, got {type(record).__name__}")
        return None
    count_before = len(problems)
    found = _unencodable(record) if _may_be_unencodable(text) else None
    if found is not None:
        problem(*found)
        return None
    for unknown in sorted(set(record) - KNOWN_FIELDS):
        problem(unknown, f"unknown field; allowed fields are {', '.join(sorted(KNOWN_FIELDS))}")
    example_id = record.get("id")
    if isinstance(example_id, bool) or not isinstance(example_id, str | int) or str(example_id).strip() == "":
        problem("id", "required: a non-empty string (or integer)")
    else:
        id_problem = _label_problem(str(example_id), MAX_ID_CHARS)
        if id_problem:
            problem("id", id_problem)
    prompt = _parse_input(record.get("input"), problem)
    references = _parse_reference(record.get("reference"), problem)
    tags = record.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) and tag.strip() for tag in tags):
        problem("tags", "must be a list of non-empty strings")
        tags = []
    for position, tag in enumerate(tags):
        tag_problem = _label_problem(tag, MAX_TAG_CHARS)
        if tag_problem:
            problem(f"tags[{position}]", tag_problem)
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        problem("metadata", "must be a JSON object")
    if len(problems) > count_before or prompt is None:
        return None
    return Example(
        dataset=dataset,
        id=str(example_id),
        input=prompt,
        references=references,
        tags=tuple(dict.fromkeys(tags)),
        line=line,
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, but they are not JSON and other tools reject them.
    raise ValueError(f"{name} is not a JSON value")


def _loads(text: str) -> Any:
    """``json.loads(text, parse_constant=..., object_pairs_hook=...)`` with its decoder built once, not per line."""
    if text.startswith("\ufeff"):  # what json.loads checks before decoding
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODER.decode(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys without a word ({"input": "a", "input": "b"}).
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate key {duplicate!r}")
    return record


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


def _may_be_unencodable(text: str) -> bool:
    """Whether :func:`_unencodable` could find anything in the record parsed from ``text`` (False for most lines).

    A value nested ``d`` levels deep sits inside ``d`` brackets of the line (the record's own included), so a
    line with fewer brackets than the limit cannot nest too deeply.
    """
    return text.count("[") + text.count("{") > MAX_JSON_DEPTH or _UNENCODABLE_HINT.search(text) is not None


def _unencodable(record: dict[str, Any]) -> tuple[str, str] | None:
    """(field, message) for the first value no later stage could store or send, else None.

    Lone surrogates (a JSON ``"\\ud800"`` escape) decode fine but fail when encoded for the warehouse or
    a provider; over-deep nesting and numbers out of float range fail later too. Walked with a stack,
    not recursion, whatever the depth.
    """
    stack: list[tuple[Any, str, int]] = [(value, key, 1) for key, value in record.items()]
    for key in record:
        if _SURROGATE.search(key):
            return "(field name)", "contains a lone surrogate escape (\\ud800-\\udfff), which is not text"
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return where.split("[")[0].split(".")[0], f"nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return where, "contains a lone surrogate escape (\\ud800-\\udfff), which is not text"
        elif isinstance(value, float):
            if not math.isfinite(value):
                return where, "number out of range"
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return where, "a key contains a lone surrogate escape (\\ud800-\\udfff), which is not text"
                stack.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value))
    return None


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _field_too_deep(text: str) -> str | None:
    """The top-level field whose value nests too deeply, found without parsing (the parser gave up)."""
    depth, key = 0, None
    for token in _JSON_TOKEN.finditer(text):
        kind = token.group(0)[0]
        if kind in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return key
        elif kind in "]}":
            depth -= 1
        elif depth == 1:
            # In valid JSON the last string at the top level before a nested value is that value's key.
            key = token.group(0)[1:-1]
    return key


def _label_problem(text: str, max_chars: int) -> str | None:
    if len(text) > max_chars:
        return f"at most {max_chars} characters, got {len(text):,}"
    if _UNPRINTABLE.search(text):
        return "must not contain control or invisible formatting characters"
    if text != text.strip():
        return "must not start or end with whitespace"
    return None


def _parse_input(value: Any, problem: Any) -> str | tuple[dict[str, str], ...] | None:
    if isinstance(value, str):
        if not value.strip():
            problem("input", "must not be empty")
            return None
        return value
    if isinstance(value, list):
        if not value:
            problem("input", "a chat input needs at least one message")
            return None
        turns: list[dict[str, str]] = []
        for index, turn in enumerate(value):
            where = f"input[{index}]"
            if not isinstance(turn, dict) or set(turn) - {"role", "content"}:
                problem(where, "each message must be an object with only 'role' and 'content'")
                return None
            if turn.get("role") not in CHAT_ROLES:
                problem(f"{where}.role", f"must be one of {sorted(CHAT_ROLES)}, got {turn.get('role')!r}")
                return None
            content = turn.get("content")
            if not isinstance(content, str) or not content.strip():
                problem(f"{where}.content", "must be a non-empty string")
                return None
            turns.append({"role": turn["role"], "content": content})
        if turns[-1]["role"] != "user":
            problem(f"input[{len(turns) - 1}].role", "the last message of a chat input must be from the user")
            return None
        return tuple(turns)
    if value is None:
        problem("input", "required: a string or a list of chat messages")
    else:
        problem("input", f"must be a string or a list of chat messages, got {type(value).__name__}")
    return None


def _parse_reference(value: Any, problem: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        if not value.strip():
            problem("reference", "must not be empty (omit the field when there is no reference)")
        return (value,) if value.strip() else ()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (str(value),)
    if isinstance(value, list) and value and all(isinstance(item, str) and item.strip() for item in value):
        return tuple(value)
    problem("reference", "must be a non-empty string or a non-empty list of non-empty strings")
    return ()


def select_examples(
    dataset: Dataset,
    *,
    include_tags: Sequence[str] = (),
    exclude_tags: Sequence[str] = (),
    limit: int | None = None,
) -> tuple[Example, ...]:
    """Examples of ``dataset`` kept by the config's tag filters, in file order."""
    include, exclude = set(include_tags), set(exclude_tags)
    kept = [
        example
        for example in dataset.examples
        if (not include or include.intersection(example.tags)) and not exclude.intersection(example.tags)
    ]
    return tuple(kept[:limit] if limit is not None else kept)
