"""The presentation modules stay pure: no Dagster anywhere, and the text renderers load without Polars or plotly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Everything that presents results: payloads, renderers, the catalogue, paths and links.
NO_DAGSTER = [
    "eval_assets.scoring.catalogue",
    "eval_assets.scoring.regressions",
    "eval_assets.reporting.format",
    "eval_assets.reporting.folder",
    "eval_assets.reporting.slack",
    "eval_assets.reporting.page",
    "eval_assets.reporting.html",
    "eval_assets.reporting.html_examples",
    "eval_assets.reporting.markdown",
    "eval_assets.reporting.markdown_text",
    "eval_assets.reporting.gate",
    "eval_assets.reporting.charts",
    "eval_assets.reporting.chart_style",
    "eval_assets.reporting.dashboard",
    "eval_assets.reporting.publish",
    "eval_assets.reporting.build",
    "eval_assets.messages",
    "eval_assets.notify",
    "eval_assets.alerts",
    "eval_assets.gating",
    "eval_assets.settings",
]
#: Text renderers: testable (and usable from a notebook) without the data frame or chart libraries.
TEXT_ONLY = [
    "eval_assets.scoring.catalogue",
    "eval_assets.scoring.regressions",
    "eval_assets.reporting.format",
    "eval_assets.reporting.folder",
    "eval_assets.reporting.slack",
    "eval_assets.reporting.html",
    "eval_assets.reporting.markdown",
    "eval_assets.reporting.markdown_text",
    "eval_assets.reporting.gate",
    "eval_assets.messages",
]


def _loaded(modules: list[str], roots: set[str]) -> list[str]:
    code = (
        "import json, sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(roots)!r}))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    names: list[str] = json.loads(result.stdout)
    return names


@pytest.mark.parametrize(
    ("modules", "roots"), [(NO_DAGSTER, {"dagster", "litellm"}), (TEXT_ONLY, {"polars", "plotly"})]
)
def test_presentation_modules_import_no_heavy_framework(modules: list[str], roots: set[str]) -> None:
    assert _loaded(modules, roots) == []
