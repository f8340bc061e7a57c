"""Issue 7, item 4: a cell's inputs are read once; later stages work on the examples as stored."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from eval_assets import datasets as datasets_module
from eval_assets.assets.partitions import cell_key
from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings
from eval_assets.stored_inputs import StoredExamples
from eval_assets_tests.helpers import edit_config, limit_datasets

pytestmark = pytest.mark.slow

DAY = "2026-11-07"
LATER = [dg.AssetKey(name) for name in ("model_responses", "example_scores", "run_metrics", "eval_report")]


@pytest.fixture
def settings(data_dir: Path, tmp_path: Path) -> Settings:
    limit_datasets(data_dir, "nightly", 4)
    edit_config(data_dir, "nightly", thresholds=[])
    return Settings(data_dir, tmp_path / "w.duckdb", tmp_path / "runs", dagster_home=None)


def materialize(settings: Settings, selection: list[dg.AssetKey] | None = None) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            partition_key=cell_key(DAY, "nightly"), instance=instance, asset_selection=selection, raise_on_error=False
        )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    return " ".join(
        (e.step_failure_data.user_failure_data.description or "")
        for e in result.get_step_failure_events()
        if e.step_failure_data.user_failure_data is not None
    )


def test_each_dataset_is_parsed_once_per_cell(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: Counter[str] = Counter()
    real = datasets_module.load_dataset

    def counting(path: Path) -> datasets_module.Dataset:
        loads[path.name] += 1
        return real(path)

    monkeypatch.setattr(datasets_module, "load_dataset", counting)
    monkeypatch.setattr("eval_assets.project.load_dataset", counting)
    assert materialize(settings, [dg.AssetKey("eval_examples"), *LATER]).success
    # Five stages used to load and validate every dataset five times; now only eval_examples reads them.
    assert loads == Counter({"faq.jsonl": 1, "jailbreaks.jsonl": 1})


def test_later_stages_use_the_stored_examples_even_if_the_files_change(settings: Settings) -> None:
    assert materialize(settings, [dg.AssetKey("eval_examples")]).success
    # The dataset is edited (or broken) mid-night: the night goes on with the examples it started with.
    (settings.data_dir / "datasets" / "faq.jsonl").write_text("not json\n")
    assert materialize(settings, LATER).success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        counts = conn.execute("SELECT count(*), count(DISTINCT dataset_hash) FROM responses").fetchall()
    assert counts == [(8, 2)]


def test_a_config_changed_mid_night_is_named_as_the_config(settings: Settings) -> None:
    assert materialize(settings, [dg.AssetKey("eval_examples")]).success
    edit_config(settings.data_dir, "nightly", description="edited after the examples were stored")
    result = materialize(settings, LATER)
    assert not result.success
    message = failure_text(result)
    # Only the config changed: the datasets are not blamed (they once were).
    assert "nightly.yaml changed since eval_examples stored" in message and "re-materialize" in message
    assert "faq" not in message and "jailbreaks" not in message


def test_a_later_stage_before_its_upstream_says_which_to_run(settings: Settings) -> None:
    result = materialize(settings, [dg.AssetKey("model_responses")])
    assert not result.success and "materialize eval_examples first" in failure_text(result)


def test_the_later_stages_of_one_run_decode_the_stored_examples_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    decodes: list[int] = []
    real = StoredExamples.from_rows.__func__  # type: ignore[attr-defined]

    def counting(cls: type[StoredExamples], rows: Any) -> StoredExamples:
        stored = real(cls, rows)
        decodes.append(len(stored.examples))
        return stored

    monkeypatch.setattr(StoredExamples, "from_rows", classmethod(counting))
    assert materialize(settings, [dg.AssetKey("eval_examples"), *LATER]).success
    assert decodes == [8]  # four later stages, one decode


def test_examples_rewritten_by_another_run_between_stages_are_decoded_again(settings: Settings) -> None:
    def faq_hashes(table: str) -> set[str]:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            rows = conn.execute(f"SELECT DISTINCT dataset_hash FROM {table} WHERE dataset = 'faq'").fetchall()
        return {row[0] for row in rows}

    assert materialize(settings).success  # this process now holds the first night's decoded examples
    first_night = faq_hashes("responses")
    # Same number of examples, other content: only the run that wrote them tells the two apart.
    faq = settings.data_dir / "datasets" / "faq.jsonl"
    lines = faq.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["input"] = "Edited: what does the Plus plan cost?"
    faq.write_text("\n".join([json.dumps(edited), *lines[1:]]) + "\n")
    assert materialize(settings, [dg.AssetKey("eval_examples")]).success
    assert materialize(settings, LATER).success
    stored = faq_hashes("examples")
    assert stored != first_night
    assert faq_hashes("responses") == faq_hashes("scores") == stored
