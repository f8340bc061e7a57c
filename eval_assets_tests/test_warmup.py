"""eval_warmup (issue 12 item 3): reproducibility hashes, references embedded ahead, litellm imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eval_assets.errors import InvalidInputError
from eval_assets.project import load_plan
from eval_assets.scoring.embeddings import EmbeddingCache, Vector
from eval_assets.warmup import WarmupError, warm_up


class CountingEncoder:
    """Stands in for the sentence-embedding model: records what it was asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> list[Vector]:
        self.texts.extend(texts)
        return [(float(len(text)), 1.0) for text in texts]


def _config(data_dir: Path, **changes: object) -> None:
    path = data_dir / "configs" / "nightly.yaml"
    config = yaml.safe_load(path.read_text())
    config["datasets"] = [{"path": "datasets/faq.jsonl", "limit": 5}, {"path": "datasets/jailbreaks.jsonl", "limit": 3}]
    config["scorers"] = [
        {"scorer": "contains", "datasets": ["faq"]},
        # Only faq: the jailbreak references must not be embedded for a scorer that never reads them.
        {"scorer": "embedding_similarity", "name": "similar", "datasets": ["faq"]},
    ]
    config["thresholds"] = []
    # An OpenAI-compatible server: the lean transport, so this warm-up has no litellm to import.
    config["model"] = {"id": "openai/served", "api_base": "http://127.0.0.1:9/v1", "max_tokens": 50}
    config.pop("review", None)
    config.pop("regression", None)
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def with_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation as if the embeddings extra were installed (these tests never load the real model)."""
    from eval_assets.scoring.scorers import embedding_similarity

    monkeypatch.setattr(embedding_similarity, "missing_packages", lambda: [])


def test_references_are_embedded_once_and_a_second_warm_up_embeds_nothing(
    data_dir: Path, tmp_path: Path, with_extra: None
) -> None:
    _config(data_dir)
    plan = load_plan(data_dir, "nightly")
    encoder = CountingEncoder()
    warm = warm_up(plan, data_dir, embedding_cache=lambda model: EmbeddingCache(tmp_path / "vectors", encode=encoder))
    expected = {r.strip() for e in plan.examples if e.dataset == "faq" for r in e.references if r.strip()}
    assert expected and sorted(encoder.texts) == sorted(expected)  # each distinct faq reference, once
    assert warm.references_embedded == len(expected) and warm.references_cached == 0
    assert warm.reproducibility == {} and not warm.litellm_imported

    # Another process (a new cache object, the same folder): everything is on disk already.
    again = CountingEncoder()
    warm = warm_up(plan, data_dir, embedding_cache=lambda model: EmbeddingCache(tmp_path / "vectors", encode=again))
    assert again.texts == [] and warm.references_embedded == 0 and warm.references_cached == len(expected)


def test_a_broken_embedding_setup_is_a_warm_up_error(data_dir: Path, tmp_path: Path, with_extra: None) -> None:
    _config(data_dir)
    plan = load_plan(data_dir, "nightly")

    def broken(texts: list[str]) -> list[Vector]:
        raise OSError("libtorch_cpu.so: cannot open shared object file")

    with pytest.raises(WarmupError, match=r"embedding warm-up failed .*libtorch_cpu\.so"):
        warm_up(plan, data_dir, embedding_cache=lambda model: EmbeddingCache(tmp_path, encode=broken))


def test_an_input_gone_since_validation_fails_the_warm_up_with_its_line(data_dir: Path) -> None:
    index = data_dir / "indexes" / "faq.idx"
    index.parent.mkdir()
    index.write_bytes(b"vectors")
    _config(
        data_dir,
        scorers=[{"scorer": "contains", "datasets": ["faq"]}],
        reproducibility={"retrieval_index": "indexes/faq.idx"},
    )
    plan = load_plan(data_dir, "nightly")
    assert warm_up(plan, data_dir).reproducibility["retrieval_index"].startswith("sha256:")
    index.unlink()  # between validation (eval_examples) and the replay
    with pytest.raises(InvalidInputError) as caught:
        warm_up(plan, data_dir)
    [problem] = caught.value.problems
    assert problem.field == "reproducibility.retrieval_index" and problem.line is not None


@pytest.mark.slow  # a fresh process importing litellm: seconds
def test_litellm_is_imported_only_for_litellm_routed_models() -> None:
    # A fresh process: whether litellm ends up imported is the claim (seconds of start-up when it is).
    script = (
        "import sys\n"
        "from eval_assets.config import ModelSpec\n"
        "from eval_assets.warmup import import_litellm_if_routed\n"
        "lean = ModelSpec(id='openai/served', api_base='http://127.0.0.1:9/v1')\n"
        "print(import_litellm_if_routed([lean]), 'litellm' in sys.modules)\n"
        "print(import_litellm_if_routed([lean, ModelSpec(id='offline/assistant-v1')]), 'litellm' in sys.modules)\n"
    )
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True", "True"]
