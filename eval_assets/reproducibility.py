"""The config's ``reproducibility:`` inputs: files or directories outside the prompt that shape the answers.

A retrieval index, a tool's fixture data, a vector store snapshot: none of them is in the request, yet a
changed one changes the answers. A config names them::

    reproducibility:
      retrieval_index: indexes/faq        # a file or a directory, relative to the data directory

and every response and score row of the night, and the report header, carry the content hash of each one,
so two nights that differ only in their index can be told apart. A path that does not exist is a config
error (file, line and field), found when the config is validated and again before the first model call.

The hash is of content, never of timestamps or inode order: a file hashes its bytes; a directory hashes
each regular file's path relative to it (POSIX separators, sorted) with the file's own hash, so renaming,
adding, removing or changing one byte of any file changes it, and copying the tree elsewhere does not.
Hidden files count too: an index's ``.meta`` is as much a part of it as its vectors. Symlinks are followed
for the named path itself; inside a directory a symlink to a file hashes its target's bytes and a symlink to
a directory is refused (it could loop, or pull half a disk into the hash).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from eval_assets.config import LoadedConfig
from eval_assets.errors import InputProblem, InvalidInputError

_CHUNK = 1 << 20


def input_path(data_dir: Path, value: str) -> Path:
    """Where a ``reproducibility:`` path points: relative to the data directory unless absolute."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else data_dir / path


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(path: Path) -> str:
    """The content hash of a file or a directory tree (``sha256:`` and 16 hex digits).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the path is neither a regular file nor a directory, or a directory holds a symlink to a
            directory or something that is not a regular file.
        OSError: a file cannot be read.
    """
    if path.is_file():
        return f"sha256:{_file_hash(path)[:16]}"
    if not path.is_dir():
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        raise ValueError(f"{path} is neither a file nor a directory")
    entries: list[tuple[str, str]] = []
    for folder, subfolders, files in os.walk(path):
        here = Path(folder)
        for name in subfolders:
            if (here / name).is_symlink():
                raise ValueError(f"{here / name} is a symlink to a directory: name the target instead")
        for name in files:
            member = here / name
            if not member.is_file():
                raise ValueError(f"{member} is not a regular file")
            entries.append((member.relative_to(path).as_posix(), _file_hash(member)))
    listing = json.dumps(sorted(entries), separators=(",", ":"))
    return f"sha256:{hashlib.sha256(listing.encode()).hexdigest()[:16]}"


def reproducibility_hashes(data_dir: Path, loaded: LoadedConfig) -> dict[str, str]:
    """The content hash of each of the config's ``reproducibility:`` inputs, by name (sorted).

    Raises:
        InvalidInputError: naming the config file, line and field of every input that is missing or unreadable.
    """
    hashes: dict[str, str] = {}
    problems: list[InputProblem] = []
    for name, value in sorted(loaded.config.reproducibility.items()):
        where = loaded.line_of("reproducibility", name)
        path = input_path(data_dir, value)
        try:
            hashes[name] = content_hash(path)
        except FileNotFoundError:
            problems.append(
                InputProblem(loaded.path, where, f"reproducibility.{name}", f"{value!r} does not exist ({path})")
            )
        except (OSError, ValueError) as exc:
            problems.append(
                InputProblem(loaded.path, where, f"reproducibility.{name}", f"cannot hash {value!r}: {exc}")
            )
    if problems:
        raise InvalidInputError(problems)
    return hashes


def missing_inputs(data_dir: Path, loaded: LoadedConfig) -> list[InputProblem]:
    """The config's ``reproducibility:`` inputs that do not exist (cheap: validation does not hash them)."""
    return [
        InputProblem(
            loaded.path,
            loaded.line_of("reproducibility", name),
            f"reproducibility.{name}",
            f"{value!r} does not exist ({input_path(data_dir, value)})",
        )
        for name, value in sorted(loaded.config.reproducibility.items())
        if not input_path(data_dir, value).exists()
    ]


def hashes_json(hashes: Mapping[str, str]) -> str | None:
    """The column value: ``{name: hash}`` as JSON with sorted keys, or None for a config without inputs."""
    return json.dumps(dict(sorted(hashes.items())), separators=(",", ":")) if hashes else None


def stored_hashes(values: Iterable[str | None]) -> dict[str, str]:
    """The hashes a night's rows carry (their ``reproducibility_json``): {} when none carries any."""
    for value in values:
        if value:
            return {str(name): str(digest) for name, digest in json.loads(value).items()}
    return {}
