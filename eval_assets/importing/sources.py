"""Reading other tools' files and turning their values into this project's shapes (inputs, references, tags).

Shared by the format modules, so every format reads files, chat messages and answers the same way.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from eval_assets.datasets import MAX_ID_CHARS, MAX_TAG_CHARS, split_lines
from eval_assets.importing.model import NotImportableError, Prompt, source_error

#: The first line of a Git LFS pointer file: what a clone without ``git lfs`` holds instead of the data.
_LFS_POINTER = "version https://git-lfs"
#: Sources are read whole; far above any eval set kept in git.
MAX_SOURCE_BYTES = 256 * 1024 * 1024
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
#: Chat roles of other tools, as this project's roles.
_ROLES = {
    "system": "system",
    "developer": "system",  # OpenAI's newer name for the system role
    "user": "user",
    "human": "user",  # LangChain message types
    "assistant": "assistant",
    "ai": "assistant",
}
#: openai/evals few-shot turns are system messages named example_user / example_assistant.
_FEW_SHOT_NAMES = {"example_user": "user", "example_assistant": "assistant"}


def read_text(path: Path) -> str:
    """A source file's text; a Git LFS pointer, a missing file or bad UTF-8 is a clear error.

    Raises:
        InvalidInputError: naming the file.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise source_error(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SOURCE_BYTES:
        raise source_error(path, f"larger than {MAX_SOURCE_BYTES:,} bytes")
    if raw.startswith(_LFS_POINTER.encode()):
        raise source_error(
            path,
            "this is a Git LFS pointer file, not the data: fetch the real file first "
            "(`git lfs install && git lfs pull` in the clone it comes from), then import again",
            line=1,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise source_error(path, "not valid UTF-8", line=raw[: exc.start].count(b"\n") + 1) from exc


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every non-blank line of a JSON Lines file."""
    for number, line in enumerate(split_lines(read_text(path)), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise source_error(path, f"not valid JSON: {exc.msg} at column {exc.colno}", line=number) from exc


def read_records(path: Path) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for a JSON Lines file, a JSON array (or ``{"samples"|"examples"|"items": [...]}``) or a CSV.

    ``where`` is ``line N`` (JSONL, CSV) or ``[N]`` (a JSON array).
    """
    if path.suffix.lower() == ".csv":
        for number, row in read_csv(path):
            yield f"line {number}", row
        return
    text = read_text(path)
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise source_error(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from exc
        if isinstance(value, dict):
            value = next((value[key] for key in ("samples", "examples", "items", "data") if key in value), value)
        if not isinstance(value, list):
            raise source_error(path, "expected a JSON array of records (or JSON Lines, one record a line)")
        for index, record in enumerate(value):
            yield f"[{index}]", record
        return
    for number, record in read_jsonl(path):
        yield f"line {number}", record


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for each row of a CSV file with a header row."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    try:
        for row in reader:
            if None in row:
                raise source_error(path, "more values than columns in the header", line=reader.line_num)
            yield reader.line_num, {key: value or "" for key, value in row.items()}
    except csv.Error as exc:
        raise source_error(path, f"not valid CSV: {exc}", line=reader.line_num) from exc


def read_yaml(path: Path) -> Any:
    """A YAML (or JSON) source file's value."""
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise source_error(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", line=line) from exc


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a content list (``[{"type": "text", "text": ...}]``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type") in ("text", "input_text") and "text" in part:
                parts.append(str(part["text"]))
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise NotImportableError(f"a message part of type {kind!r} (only text is imported)")
        return "\n".join(parts)
    raise NotImportableError(f"message content is {type(content).__name__}, not text")


def to_prompt(value: Any) -> Prompt:
    """A source input as a dataset ``input``: a non-empty string, or chat messages ending with the user.

    Accepts OpenAI-style messages (``role``, ``content``, optional ``name``), LangChain-style ones
    (``type: human`` with ``content`` or ``data.content``) and content-part lists.

    Raises:
        NotImportableError: when the input cannot be sent as this project sends inputs.
    """
    if isinstance(value, str):
        if not value.strip():
            raise NotImportableError("the input is empty")
        return value
    if isinstance(value, list) and value:
        turns = [_turn(message, index) for index, message in enumerate(value)]
        if turns[-1]["role"] != "user":
            raise NotImportableError(
                f"the chat ends with a {turns[-1]['role']} message; inputs here end with the user's turn"
            )
        return turns
    if isinstance(value, list):
        raise NotImportableError("the input is an empty message list")
    raise NotImportableError(f"the input is {type(value).__name__}, neither text nor chat messages")


def _turn(message: Any, index: int) -> dict[str, str]:
    if not isinstance(message, Mapping):
        raise NotImportableError(f"message {index} is not an object")
    nested = message.get("data")
    data = nested if isinstance(nested, Mapping) else message
    role = message.get("role") or message.get("type")
    if role == "system" and message.get("name") in _FEW_SHOT_NAMES:
        role = _FEW_SHOT_NAMES[str(message["name"])]
    mapped = _ROLES.get(str(role).lower()) if role is not None else None
    if mapped is None:
        raise NotImportableError(
            f"message {index} has role {role!r} (only system, user and assistant turns are imported)"
        )
    content = text_of(data.get("content"))
    if not content.strip():
        raise NotImportableError(f"message {index} has no text")
    return {"role": mapped, "content": content}


def to_references(value: Any) -> tuple[str, ...] | None:
    """A source answer as references: a string, a list of acceptable strings, a number; objects as JSON text.

    None for no answer (absent, null, empty).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, int | float):
        return (str(value),)
    if isinstance(value, str):
        return (value,) if value.strip() else None
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        kept = tuple(item for item in value if item.strip())
        return kept or None
    if isinstance(value, list | dict) and value:
        return (json.dumps(value, ensure_ascii=False),)
    return None


def pick_key(record: Mapping[str, Any], preferred: tuple[str, ...], chosen: str | None, *, what: str) -> str | None:
    """Which key of ``record`` holds the input (or the answer).

    ``chosen`` (the user's ``--input-key``) wins; else the only key; else the first of ``preferred``
    present. None when the record has no keys.

    Raises:
        NotImportableError: when ``chosen`` is missing or no key can be told apart.
    """
    if chosen is not None:
        if chosen not in record:
            raise NotImportableError(f"no {what} key {chosen!r} (keys: {', '.join(map(str, record)) or 'none'})")
        return chosen
    if not record:
        return None
    if len(record) == 1:
        return str(next(iter(record)))
    for key in preferred:
        if key in record:
            return key
    option = "--input-key" if what == "input" else "--reference-key"
    raise NotImportableError(f"which key is the {what}? {', '.join(map(str, record))} (choose with {option})")


def clean_id(value: Any, fallback: str, seen: set[str]) -> tuple[str, str | None]:
    """A usable example id (the source's if it can be one), and why the source's was replaced, if it was."""
    candidate = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    reason = None
    if not candidate:
        candidate, reason = fallback, None if value is None else f"id {value!r} is not a usable id"
    elif len(candidate) > MAX_ID_CHARS or _UNPRINTABLE.search(candidate):
        candidate, reason = fallback, f"id {candidate[:40]!r} is too long or holds control characters"
    elif candidate in seen:
        candidate, reason = fallback, f"id {candidate!r} is used twice"
    while candidate in seen:
        candidate += "_"
    seen.add(candidate)
    return candidate, reason


def clean_tags(values: Any) -> tuple[tuple[str, ...], list[str]]:
    """Usable tags from a list (or a comma-separated string), and the values that cannot be tags."""
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list):
        return (), [repr(values)]
    kept: list[str] = []
    refused: list[str] = []
    for value in values:
        tag = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if tag and len(tag) <= MAX_TAG_CHARS and not _UNPRINTABLE.search(tag):
            kept.append(tag)
        elif tag or not isinstance(value, str):
            refused.append(repr(value))
    return tuple(dict.fromkeys(kept)), refused
