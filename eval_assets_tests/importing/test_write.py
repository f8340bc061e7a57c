"""Writing an import: never over existing files without --force, validated first, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets.importing import pending
from eval_assets_tests.importing.helpers import FIXTURES, records, run_import

LANGFUSE = FIXTURES / "langfuse" / "items.json"
INSPECT = FIXTURES / "inspect" / "samples.jsonl"


def snapshot(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def test_existing_files_are_kept_unless_forced(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_import(capsys, data_dir, "langfuse", LANGFUSE, "--name", "support")[0] == 0
    before = snapshot(data_dir)
    # Same name, another source: refused, naming the files, and nothing changes.
    code, _, err = run_import(capsys, data_dir, "inspect", INSPECT, "--name", "support")
    assert code == 2
    assert "datasets/support.jsonl" in err and "configs/support.yaml" in err and "--force" in err
    assert snapshot(data_dir) == before
    code, _, err = run_import(capsys, data_dir, "inspect", INSPECT, "--name", "support", "--force")
    assert code == 0, err
    assert records(data_dir, "support")[0]["id"] == "arith-1"


def test_a_name_clashing_with_a_bundled_dataset_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # data/datasets/faq.jsonl belongs to the bundled configs: an import must not replace it by accident.
    before = snapshot(data_dir)
    code, _, err = run_import(capsys, data_dir, "langfuse", LANGFUSE, "--name", "faq")
    assert code == 2 and "faq.jsonl already exists" in err
    assert snapshot(data_dir) == before


def test_an_import_that_does_not_validate_writes_nothing(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(data_dir)
    # A model id with a space fails the config's validation: the error names the file the config would
    # have been, and no dataset is left behind without its config (nor a staging directory).
    code, _, err = run_import(capsys, data_dir, "langfuse", LANGFUSE, "--name", "broken", "--model", "not a model")
    assert code == 2
    assert f"{data_dir / 'configs' / 'broken.yaml'}:" in err and "model.id" in err
    assert ".import-" not in err
    assert snapshot(data_dir) == before
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".import-")]


def test_dry_run_validates_and_writes_nothing(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(data_dir)
    code, out, err = run_import(capsys, data_dir, "langfuse", LANGFUSE, "--name", "support", "--dry-run")
    assert code == 0, err
    assert f"would write {data_dir / 'configs' / 'support.yaml'}" in out
    assert snapshot(data_dir) == before


def test_a_bad_name_is_a_usage_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("bad/name", "support.yaml", "a" * 64):
        code, _, err = run_import(capsys, data_dir, "langfuse", LANGFUSE, "--name", name)
        assert code == 2 and "--name" in err


def test_pending_scorers_are_one_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    # Listed: the reason says what is missing. Registered: importable. Neither: said so.
    monkeypatch.setitem(pending.PENDING_SCORERS, "contains", "needs a better contains")
    assert pending.unavailable("contains") == "needs a better contains"
    monkeypatch.delitem(pending.PENDING_SCORERS, "contains")
    assert pending.unavailable("contains") is None
    assert pending.unavailable("text_similarity") is None and pending.unavailable("label_model") is None
    assert pending.unavailable("no_such_scorer") == "needs a no_such_scorer scorer, which this project does not have"


def test_embedding_similarity_is_importable_only_with_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from eval_assets.scoring import embeddings

    monkeypatch.setattr(embeddings, "missing_packages", lambda: ["sentence_transformers"])
    assert pending.unavailable("embedding_similarity") == (
        f"embedding_similarity needs sentence_transformers: {embeddings.EXTRA_HINT}"
    )
    monkeypatch.setattr(embeddings, "missing_packages", lambda: [])
    assert pending.unavailable("embedding_similarity") is None


def test_the_command_s_help_ends_with_examples_and_formats() -> None:
    from eval_assets.cli import build_parser

    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    text = subcommands["import"].format_help()
    assert "examples:\n  eval-assets import" in text
    for name in ("openai-evals", "openai-graders", "promptfoo", "inspect", "langsmith", "langfuse"):
        assert f"\n  {name} " in text
