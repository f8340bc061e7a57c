"""eval_warmup through ``eval-assets run`` (issue 12 item 3).

Done means: a config with ``reproducibility.retrieval_index`` shows the index hash on every response and
score row and in the report, and one changed byte of the index changes it. A warm-up that fails (a missing
index, a broken embedding setup) fails the night before any paid call: the provider sees no request.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets.reproducibility import content_hash
from eval_assets.scoring import embeddings as embeddings_module
from eval_assets.scoring.scorers import embedding_similarity as scorer_module
from eval_assets_tests.fake_openai import FakeOpenAIServer

pytestmark = pytest.mark.slow
SECRET = "sk-warmup-test"


def query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def edit(path: Path, **changes: object) -> None:
    config = yaml.safe_load(path.read_text())
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_the_index_hash_is_on_every_row_and_in_the_report_and_follows_one_byte(
    data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = data_dir / "indexes" / "faq"
    index.mkdir(parents=True)
    (index / "vectors.bin").write_bytes(bytes(range(256)) * 4)
    (index / "ids.json").write_text('["faq-001", "faq-002"]')
    edit(
        data_dir / "configs" / "nightly.yaml",
        datasets=[{"path": "datasets/faq.jsonl", "limit": 4}, {"path": "datasets/jailbreaks.jsonl", "limit": 2}],
        reproducibility={"retrieval_index": "indexes/faq"},
    )
    warehouse = eval_env / "warehouse.duckdb"
    seen = {}
    for date in ("2026-11-07", "2026-11-08"):
        expected = {"retrieval_index": content_hash(index)}
        assert main(["run", "--config", "nightly", "--date", date, "--quiet"]) in (0, 1), capsys.readouterr().out
        for table in ("responses", "scores"):
            stored = query(warehouse, f"SELECT reproducibility_json FROM {table} WHERE eval_date = '{date}'")
            assert stored and all(json.loads(str(value)) == expected for (value,) in stored), (table, stored)
        for report in ("report.md", "report.html"):
            text = (eval_env / "runs" / date / "nightly" / report).read_text()
            assert "Reproducibility inputs" in text and expected["retrieval_index"] in text
        seen[date] = expected["retrieval_index"]
        # One byte of the index changes before the next night.
        data = bytearray((index / "vectors.bin").read_bytes())
        data[100] ^= 1
        (index / "vectors.bin").write_bytes(bytes(data))
    assert seen["2026-11-07"] != seen["2026-11-08"]


def _fake_config(data_dir: Path, base_url: str, **changes: object) -> Path:
    lines = [json.dumps({"id": f"q{i}", "input": f"Question {i}?", "reference": f"fact {i}"}) for i in range(4)]
    (data_dir / "datasets" / "facts.jsonl").write_text("\n".join(lines) + "\n")
    config = {
        "model": {"id": "openai/fake-model", "api_base": base_url, "api_key_env": "EVAL_TEST_KEY", "max_tokens": 20},
        "datasets": [{"path": "datasets/facts.jsonl"}],
        "scorers": [{"scorer": "contains"}],
        **changes,
    }
    path = data_dir / "configs" / "local.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_a_missing_index_fails_the_night_before_any_call(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET) as server:
        path = _fake_config(data_dir, server.base_url, reproducibility={"retrieval_index": "indexes/gone"})
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) != 0
        captured = capsys.readouterr()
        assert server.requests == []
    text = captured.out + captured.err
    line = next(n for n, row in enumerate(path.read_text().splitlines(), 1) if "retrieval_index" in row)
    assert f"local.yaml:{line}" in text and "reproducibility.retrieval_index" in text and "does not exist" in text


def test_a_broken_embedding_setup_fails_the_night_before_any_call(
    data_dir: Path,
    eval_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The extra looks installed (its packages are found) but the model cannot load: torch broken, say.
    monkeypatch.setattr(scorer_module, "missing_packages", lambda: [])

    def broken_model() -> None:
        raise OSError("libtorch_cpu.so: cannot open shared object file")

    monkeypatch.setattr(embeddings_module, "_model", broken_model)
    monkeypatch.setenv(scorer_module.ENV_EMBEDDING_CACHE, str(tmp_path / "vectors"))
    scorer_module.shared_cache.cache_clear()
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET) as server:
        _fake_config(data_dir, server.base_url, scorers=[{"scorer": "embedding_similarity", "name": "similar"}])
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) != 0
        captured = capsys.readouterr()
        assert server.requests == []
    scorer_module.shared_cache.cache_clear()
    text = captured.out + captured.err
    assert "eval_warmup" in text and "libtorch_cpu.so" in text
    assert query(eval_env / "warehouse.duckdb", "SELECT count(*) FROM responses") == [(0,)]
