"""RunFolder (the one spelling of the runs folder layout) and Links (what people can open)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets.reporting.folder import Links, RunFolder, RunsFolder, base_url, run_file_stem
from eval_assets.settings import Settings


def test_run_folder_layout(tmp_path: Path) -> None:
    folder = RunsFolder(tmp_path).run("2026-11-07", "nightly")
    assert folder == RunFolder(tmp_path, "2026-11-07", "nightly")
    assert folder.path == tmp_path / "2026-11-07" / "nightly"
    assert folder.report_md == folder.path / "report.md"
    assert folder.report_html == folder.path / "report.html"
    assert folder.outputs_json == folder.path / "outputs.json"
    assert folder.run_outputs("0f3c-run") == folder.path / "outputs" / "0f3c-run.json"
    assert folder.examples_page(2) == folder.path / "examples" / "0002.html"
    assert folder.runs.dashboard == tmp_path / "dashboard.html"
    assert folder.runs.assets == tmp_path / "_assets"


def test_dates_are_taken_as_iso_strings(tmp_path: Path) -> None:
    import datetime as dt

    assert RunsFolder(tmp_path).run(dt.date(2026, 11, 7), "c").path == tmp_path / "2026-11-07" / "c"


@pytest.mark.parametrize(
    ("run_id", "safe"),
    [
        ("3f2a9c1e-8d4b-4e0a-9f1c-2b7d5e6a8c90", True),  # Dagster's run ids are kept as they are
        ("../../etc/passwd", False),
        ("a/b", False),
        ("", False),
    ],
)
def test_run_ids_cannot_leave_the_outputs_folder(run_id: str, safe: bool) -> None:
    stem = run_file_stem(run_id)
    assert (stem == run_id) is safe
    assert "/" not in stem and ".." not in stem and stem
    assert run_file_stem("x/1") != run_file_stem("x/2")  # made safe, still distinct


def test_clear_reports_removes_the_report_stages_files_but_keeps_every_runs_outputs(tmp_path: Path) -> None:
    folder = RunsFolder(tmp_path).run("2026-11-07", "nightly")
    for path in (folder.report_md, folder.report_html, folder.outputs_json, folder.examples_page(1)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("old")
    kept = folder.run_outputs("run-1")
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")

    folder.clear_reports()
    assert not folder.report_md.exists() and not folder.report_html.exists()
    assert not folder.outputs_json.exists() and not (folder.path / "examples").exists()
    assert kept.read_text() == "{}"  # "raw outputs plus metadata for each run" (issue 8 item 13)
    folder.clear_reports()  # nothing left to clear: no error


def test_issue8_5_links_without_a_base_url_say_where_the_file_is(tmp_path: Path) -> None:
    folder = RunsFolder(tmp_path / "runs").run("2026-11-07", "nightly")
    links = Links()
    assert links.folder_url(folder) is None
    assert links.report(folder) == str((tmp_path / "runs" / "2026-11-07" / "nightly" / "report.html").resolve())
    assert links.file(folder, "report.html#ex-faq") == links.report(folder) + "#ex-faq"
    assert links.dagster_run("r1") is None
    assert links.dashboard(folder.runs) == str((tmp_path / "runs" / "dashboard.html").resolve())


def test_issue8_5_links_with_a_base_url_are_absolute(tmp_path: Path) -> None:
    folder = RunsFolder(tmp_path).run("2026-11-07", "night ly/x")
    links = Links(report_base_url="https://evals.example/runs", dagster_url="http://dagster.internal:3000")
    # Each segment is quoted whole: a "/" in a name cannot add a directory.
    assert links.folder_url(folder) == "https://evals.example/runs/2026-11-07/night%20ly%2Fx"
    assert links.report(folder) == "https://evals.example/runs/2026-11-07/night%20ly%2Fx/report.html"
    assert links.dagster_run("3f2a-9c") == "http://dagster.internal:3000/runs/3f2a-9c"
    assert links.dagster_run(None) is None
    assert links.dashboard(folder.runs) == "https://evals.example/runs/dashboard.html"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("https://evals.example/runs/", "https://evals.example/runs"),
        ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
    ],
)
def test_base_urls(value: str | None, expected: str | None) -> None:
    assert base_url(value, variable="X") == expected


@pytest.mark.parametrize("value", ["evals.example/runs", "file:///srv/runs", "javascript:alert(1)", "https://a b/"])
def test_a_base_url_that_is_no_web_address_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="EVAL_ASSETS_REPORT_BASE_URL must be an http"):
        base_url(value, variable="EVAL_ASSETS_REPORT_BASE_URL")


def test_settings_read_both_urls_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVAL_ASSETS_REPORT_BASE_URL", "https://ci.example/artifacts/runs/")
    monkeypatch.setenv("EVAL_ASSETS_DAGSTER_URL", "http://127.0.0.1:3000/")
    settings = Settings.from_env(data_dir=tmp_path)
    assert settings.report_base_url == "https://ci.example/artifacts/runs"
    assert settings.dagster_url == "http://127.0.0.1:3000"
    assert settings.links() == Links("https://ci.example/artifacts/runs", "http://127.0.0.1:3000")
    monkeypatch.delenv("EVAL_ASSETS_REPORT_BASE_URL")
    monkeypatch.delenv("EVAL_ASSETS_DAGSTER_URL")
    assert Settings.from_env(data_dir=tmp_path).links() == Links()
