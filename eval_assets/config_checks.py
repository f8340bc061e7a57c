"""Checks of single config values that need more than a pydantic constraint: URLs and JSON Schemas.

Pure functions, so the config models stay declarative and each check is tested on its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

SchemaPath = tuple[str | int, ...]

_SCHEMA_BASE_URI = "urn:eval-assets:json-schema"


def check_api_base(value: str) -> str:
    """Accept an http(s) base URL with a host and without credentials; raise ValueError otherwise.

    ``file://`` (or any other scheme) would point the HTTP client at the local disk or at a handler
    nobody reviewed, and ``user:pass@`` puts a secret in git and in every report; keys belong in the
    variable named by ``api_key_env``.
    """
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in value):
        raise ValueError("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// URL, got scheme {parts.scheme or '(none)'!r}")
    if not parts.hostname:
        raise ValueError("must name a host, e.g. http://localhost:8000/v1")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (user:password@); name the key's variable in api_key_env")
    if port == 0:
        raise ValueError("port 0 is not a port")
    if parts.fragment:
        raise ValueError("must not have a #fragment")
    return value


def check_dataset_path(value: str) -> str:
    """Accept a relative ``.jsonl`` path that stays inside the data directory; raise ValueError otherwise.

    Lexical only (so the config's line can be named); ``project`` also resolves symlinks on disk.
    """
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError("must not contain control characters")
    pure = PurePosixPath(value)
    if pure.is_absolute() or value.startswith("\\") or re.match(r"^[A-Za-z]:", value):
        raise ValueError("must be a path relative to the data directory, e.g. datasets/faq.jsonl")
    if ".." in pure.parts:
        raise ValueError("must stay inside the data directory ('..' is not allowed)")
    if pure.suffix != ".jsonl":
        raise ValueError("must name a .jsonl file")
    return value


def json_schema_problem(schema: dict[str, Any]) -> tuple[SchemaPath, str] | None:
    """The first reason ``schema`` cannot be used to score outputs, with where it is, or None.

    Checked before any model call, because a broken schema would otherwise fail only when the first paid
    answer is scored: the schema must be valid against the Draft 2020-12 meta-schema, hold only finite
    numbers, and use only local ``$ref`` s that resolve (nothing is ever fetched over the network).
    """
    for path, number in _numbers(schema, ()):
        if not math.isfinite(number):
            return path, f"not a finite number: {number!r}"
    error = best_match(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema))
    if error is not None:
        where = tuple(part for part in error.path if isinstance(part, str | int))
        return where, f"not a valid JSON Schema (Draft 2020-12): {error.message}"
    refs = list(_refs(schema, ()))
    nested_ids = _has_nested_id(schema)
    resolver = (
        Registry()
        .with_resource(_SCHEMA_BASE_URI, DRAFT202012.create_resource(schema))
        .resolver(base_uri=_SCHEMA_BASE_URI)
    )
    for path, ref in refs:
        if not ref.startswith("#"):
            return path, f"only local references (#/$defs/...) are supported, got {ref!r}: nothing is fetched"
        if nested_ids:
            continue  # a nested $id changes the base of its refs: jsonschema resolves those at scoring time
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return path, f"reference {ref!r} points to nothing in this schema"
    return None


def _numbers(value: Any, path: SchemaPath) -> Iterator[tuple[SchemaPath, float]]:
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, (*path, index))


def _refs(value: Any, path: SchemaPath) -> Iterator[tuple[SchemaPath, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("$ref", "$dynamicRef") and isinstance(item, str):
                yield (*path, key), item
            else:
                yield from _refs(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _refs(item, (*path, index))


def _has_nested_id(schema: dict[str, Any]) -> bool:
    stack: list[Any] = [value for key, value in schema.items() if key != "$id"]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "$id" in value:
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
