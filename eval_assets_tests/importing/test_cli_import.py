"""Acceptance: every format's fixture is imported through the CLI, validated and scored offline end to end."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from eval_assets.cli import main
from eval_assets.scoring.embeddings import missing_packages
from eval_assets_tests.importing.helpers import FIXTURES, run_import

#: (format, source and flags, config name, the scorer names the run must score).
IMPORTS = [
    (
        "openai-evals",
        [FIXTURES / "openai_evals/registry/evals/capitals.yaml", "--eval", "capitals-concise"],
        "oe",
        {"closedqa"},
    ),
    (
        "openai-graders",
        [FIXTURES / "openai_graders/eval.json", "--items", FIXTURES / "openai_graders/items.jsonl"],
        "og",
        {"label_matches", "helpfulness", "sentiment"},  # sentiment: label_model, judged offline
    ),
    (
        "promptfoo",
        [FIXTURES / "promptfoo/promptfooconfig.yaml"],
        "pf",
        {"icontains", "json_valid", "llm_rubric", "regex_match", "starts_with"}
        # similar, on the real local model, where the embeddings extra is installed (else listed as not mapped).
        | (set() if missing_packages() else {"embedding_similarity"}),
    ),
    ("inspect", [FIXTURES / "inspect/samples.jsonl", "--scorer", "exact_match"], "ins", {"exact_match"}),
    ("langsmith", [FIXTURES / "langsmith/examples.jsonl"], "ls", {"contains"}),
    ("langfuse", [FIXTURES / "langfuse/items.json"], "lf", {"contains"}),
]


@pytest.mark.slow
def test_every_format_imports_validates_and_scores_offline(
    eval_env: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for format_name, args, name, _ in IMPORTS:
        code, out, err = run_import(capsys, data_dir, format_name, *args, "--name", name)
        assert code == 0, f"{format_name}: {err}"
        assert "mapped:" in out and "not mapped" in out
    assert main(["validate"]) == 0, capsys.readouterr().err  # every file of the data dir, bundled ones too
    argv = ["run", "--date", "2026-11-06", "--quiet"]
    for _, _, name, _ in IMPORTS:
        argv += ["--config", name]
    assert main(argv) == 0, capsys.readouterr().err
    with duckdb.connect(str(eval_env / "warehouse.duckdb"), read_only=True) as conn:
        scored = conn.execute(
            "SELECT config_name, scorer, count(*), count(score) FROM scores GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    by_config: dict[str, set[str]] = {}
    for config_name, scorer, rows, with_score in scored:
        # Every example a scorer applies to has a score: the offline model answered, nothing failed.
        assert rows == with_score > 0, (config_name, scorer)
        by_config.setdefault(config_name, set()).add(scorer)
    assert by_config == {name: scorers for _, _, name, scorers in IMPORTS}
