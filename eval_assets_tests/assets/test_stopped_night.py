"""Issue 8.10: a night that stops before its report stage still writes the report explaining why.

The outage case (a failed blocking gate) is in test_provider_graph.py, beside the outage it reuses.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from eval_assets.assets.partitions import cell_key
from eval_assets.automation import EVAL_JOB
from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings
from eval_assets_tests.assets.test_provider_graph import SECRET, _configure, write_inputs
from eval_assets_tests.fake_openai import FakeOpenAIServer

pytestmark = pytest.mark.slow

DAY = "2026-11-07"


def test_issue8_10_a_stage_that_raises_in_dagster_still_reports_the_night(
    data_dir: Path, eval_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI shape: no CLI pre-check, a real DAGSTER_HOME instance, the key variable unset."""
    monkeypatch.delenv("EVAL_TEST_KEY", raising=False)
    with FakeOpenAIServer(api_key=SECRET) as server:
        write_inputs(data_dir, server.base_url, n=5)
        _configure(data_dir)
        home = tmp_path / "dagster_home"
        home.mkdir()
        defs = build_definitions(Settings.from_env())
        with dg.DagsterInstance.from_config(str(home)) as instance:
            result = defs.resolve_job_def(EVAL_JOB).execute_in_process(
                partition_key=cell_key(DAY, "local"), instance=instance, raise_on_error=False
            )
        assert not result.success and server.requests == []
    folder = eval_env / "runs" / DAY / "local"
    markdown = (folder / "report.md").read_text()
    assert "model_responses" in markdown and "$EVAL_TEST_KEY" in markdown
    outputs = json.loads((folder / "outputs.json").read_text())
    assert outputs["stored"] == {"examples": 5, "responses": 0, "scores": 0}
