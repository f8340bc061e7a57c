"""The charts as plotly.js reads them, pinned: the JSON of every figure equals the golden file's.

``chart_golden.json`` was written by the ``go.Figure`` charts (plotly's validated objects, before the
charts became plain figure dicts), so it proves the dicts draw the same charts: traces, colours, dashes,
hover templates, axes, subplot domains, titles and the expanded ``plotly_white`` template (kept once, under
``"template"``). Regenerate it only when a chart is meant to change:
``EVAL_ASSETS_UPDATE_CHART_GOLDEN=1 pytest eval_assets_tests/reporting/test_chart_golden.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import plotly.io as pio
import polars as pl
import pytest
from plotly.io.json import to_json_plotly

from eval_assets.reporting.charts import trend_figures
from eval_assets.reporting.people_chart import calibration_figure
from eval_assets_tests.reporting.test_charts import trend_history

GOLDEN = Path(__file__).with_name("chart_golden.json")
HOSTILE = '<a href="javascript:alert(1)">x</a>\u202e'


def _calibration(configs: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "eval_date": date(2026, 11, day),
                "config_name": config,
                "scorer": scorer,
                "judge_model": HOSTILE if scorer == "faithfulness" else "openai/gpt-4o",
                "n": 10 * day,
                "kappa": None if (day, scorer) == (2, "rubric") else round(0.1 * day - 0.2, 3),
            }
            for day in (1, 2, 3, 4)
            for config in configs
            for scorer in ("faithfulness", "rubric")
        ]
    )


def _gaps() -> pl.DataFrame:
    # A NaN, a null, and a night missing one token count (unknown tokens, not half of them).
    rows = trend_history(days=4, configs={"nightly-qa": (["contains"], ["helpfulness"], ["geography"])})
    value = pl.col("value")
    day = pl.col("eval_date") == date(2025, 3, 3)
    return rows.with_columns(
        value=pl.when(day & (pl.col("metric") == "helpfulness.mean")).then(float("nan")).otherwise(value)
    ).filter(~(day & (pl.col("metric") == "tokens_out")) & ~((pl.col("metric") == "cost_usd") & day))


def _long_span() -> pl.DataFrame:
    # Over 90 days: plotly picks the date ticks itself.
    rows = trend_history(days=2, configs={"nightly-qa": (["contains"], [], ["geography"])})
    return rows.with_columns(
        eval_date=pl.when(pl.col("eval_date") > date(2025, 3, 1))
        .then(pl.col("eval_date") + timedelta(days=120))
        .otherwise(pl.col("eval_date"))
    )


def _many_configs() -> pl.DataFrame:
    # Seven configs and eleven scorers: colours and dashes wrap around their palettes.
    scorers = [f"s{i:02d}" for i in range(11)]
    configs = {f"c{i}": (scorers if i == 0 else ["s00"], [], ["t"] if i < 2 else []) for i in range(7)}
    return trend_history(days=2, configs=configs)


def _only_cost() -> pl.DataFrame:
    return trend_history(days=3).filter(pl.col("metric").is_in(["cost_usd", "contains.pass_rate"]))


CASES: dict[str, Callable[[], list[Any]]] = {
    "two-configs": lambda: trend_figures(trend_history(days=5)),
    "one-config": lambda: trend_figures(trend_history(days=5), config_name="nightly-qa"),
    "one-night": lambda: trend_figures(trend_history(days=1)),
    "one-night-one-config": lambda: trend_figures(trend_history(days=1), config_name="nightly-math"),
    "hostile-names": lambda: trend_figures(trend_history(days=2, configs={HOSTILE: (["contains"], [], [HOSTILE])})),
    "mean-without-pass-rate": lambda: trend_figures(
        trend_history(days=3).filter(pl.col("metric") != "contains.pass_rate"), config_name="nightly-qa"
    ),
    "gaps": lambda: trend_figures(_gaps()),
    "long-span": lambda: trend_figures(_long_span()),
    "many-configs": lambda: trend_figures(_many_configs()),
    "ops-only": lambda: trend_figures(trend_history(days=3, configs={"ops-only": ([], [], [])})),
    "only-cost": lambda: trend_figures(_only_cost()),
    "calibration-one-config": lambda: [calibration_figure(_calibration(["nightly"]))],
    "calibration-two-configs": lambda: [calibration_figure(_calibration(["nightly", "candidate"]))],
}


def as_plotly_reads_it(figure: Any) -> dict[str, Any]:
    """The figure's JSON as ``figures_html`` writes it into the page (a dict is not validated again)."""
    return json.loads(pio.to_json(figure, validate=False))


def _split_template(figures: list[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    parsed = [as_plotly_reads_it(f) for f in figures]
    return parsed, [f["layout"].pop("template", None) for f in parsed]


def test_every_figure_is_the_json_the_golden_file_holds() -> None:
    actual: dict[str, list[dict[str, Any]]] = {}
    templates: list[Any] = []
    for name, build in CASES.items():
        actual[name], used = _split_template(build())
        templates += used
    if os.environ.get("EVAL_ASSETS_UPDATE_CHART_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps({"template": templates[0], "cases": actual}, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert all(t == golden["template"] for t in templates), "every chart embeds the plotly_white template"
    assert sorted(actual) == sorted(golden["cases"])
    for name, figures in actual.items():
        assert len(figures) == len(golden["cases"][name]), name
        for index, (figure, expected) in enumerate(zip(figures, golden["cases"][name], strict=True)):
            assert figure == expected, f"{name}: figure {index + 1}"


def test_the_golden_template_is_plotly_white() -> None:
    # The template came from plotly itself; an upgrade that changes it shows here, not as a chart diff.
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert golden["template"] == json.loads(to_json_plotly(pio.templates["plotly_white"]))


@pytest.mark.parametrize("name", list(CASES))
def test_each_case_draws_something(name: str) -> None:
    # A case that built no figure would pin nothing.
    assert CASES[name]() and all(CASES[name]())
