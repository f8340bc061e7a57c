"""The metric catalogue: every metric a run produces, what it means and how people should read it (pure).

This is the one place that knows whether a metric is a rate, which way is better, its unit, whether it
is a headline number and in which order. The code that computes the metrics (:mod:`eval_assets.scoring.metrics`)
produces exactly these names; the config validation, every renderer, the CLI, the CI gate and the alerts
read them from here.

Names are either fixed (``error_rate``) or per scorer (``<scorer>.pass_rate``: the scorer's name, a dot,
the suffix). Scorer names cannot contain a dot, so the last dot splits a per-scorer name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

MetricKind = Literal["rate", "mean", "latency", "cost", "tokens", "count", "number"]
Produced = Literal["every_run", "every_scorer", "several_judges", "repeats"]


@dataclass(frozen=True)
class MetricSpec:
    """What one metric (or one per-scorer family of metrics) is.

    Attributes:
        name: The metric's name, or the suffix after ``<scorer>.`` when ``per_scorer``.
        per_scorer: Named ``<scorer>.<name>``, one per scorer of the config.
        kind: How values are shown: rates in %, means to 3 decimals, latency in ms, cost in USD...
        unit: The unit in words, for documentation and tooltips.
        higher_is_better: Whether an increase is good news (colours deltas, orders drops).
        description: One sentence for people.
        produced: When a run has it: every run, once per scorer, for judges with several models, or per
            scorer when ``runtime.repeats`` is above 1.
        headline: Rank among the headline numbers (CLI summary, gate, alerts); None: not a headline.
        gateable: Whether a config threshold may refer to it.
        in_table: Whether the report's metrics table lists it (some are folded into another figure).
    """

    name: str
    per_scorer: bool
    kind: MetricKind
    unit: str
    higher_is_better: bool
    description: str
    produced: Produced
    headline: int | None = None
    gateable: bool = True
    in_table: bool = True

    @property
    def pattern(self) -> str:
        """The name as documented: ``error_rate`` or ``<scorer>.pass_rate``."""
        return f"<scorer>.{self.name}" if self.per_scorer else self.name


CATALOGUE: tuple[MetricSpec, ...] = (
    MetricSpec(
        "pass_rate",
        True,
        "rate",
        "share of scored examples",
        True,
        "share of scored examples that passed",
        "every_scorer",
        headline=0,
    ),
    MetricSpec(
        "mean", True, "mean", "normalized score in [0, 1]", True, "mean normalized score in [0, 1]", "every_scorer"
    ),
    MetricSpec(
        "human_labelled",
        True,
        "count",
        "examples",
        True,
        "scored examples whose verdict is a person's (a decided review task on the same output), not the evaluator's",
        "every_scorer",
        gateable=False,
        in_table=False,  # shown beside the scorer's pass rate and mean instead
    ),
    MetricSpec(
        "judge_agreement",
        True,
        "rate",
        "share of judged examples",
        True,
        "share of examples whose judges agree (within disagreement_margin, on the same side of the pass line)",
        "several_judges",
    ),
    # With runtime.repeats K > 1: each example is sampled K times (k = K in pass@k and pass^k).
    MetricSpec(
        "pass_at_k",
        True,
        "rate",
        "share of scored examples",
        True,
        "pass@k: share of examples with at least one passing repeat (k = runtime.repeats)",
        "repeats",
    ),
    MetricSpec(
        "pass_all_k",
        True,
        "rate",
        "share of scored examples",
        True,
        "pass^k: share of examples whose every repeat passed (k = runtime.repeats); what a user relying on "
        "one answer sees every time",
        "repeats",
    ),
    MetricSpec(
        "pass_probability",
        True,
        "rate",
        "mean per-example pass probability",
        True,
        "mean over examples of each example's share of passing repeats (each example weighs the same)",
        "repeats",
    ),
    MetricSpec(
        "error_rate",
        False,
        "rate",
        "share of examples",
        False,
        "share of examples whose model call failed (infrastructure, not quality)",
        "every_run",
        headline=1,
    ),
    MetricSpec(
        "judge_error_rate",
        False,
        "rate",
        "share of judge verdicts",
        False,
        "share of judge verdicts that failed or could not be parsed",
        "every_run",
    ),
    MetricSpec(
        "latency_p50_ms", False, "latency", "ms", False, "median latency of successful model calls", "every_run"
    ),
    MetricSpec(
        "latency_p95_ms",
        False,
        "latency",
        "ms",
        False,
        "95th percentile latency of successful model calls",
        "every_run",
        headline=3,
    ),
    MetricSpec(
        "cost_usd",
        False,
        "cost",
        "USD",
        False,
        "total cost of the run (model under test and judges) at known prices; null when no call has a price",
        "every_run",
        headline=2,
    ),
    MetricSpec("tokens_in", False, "tokens", "tokens", False, "prompt tokens of the model under test", "every_run"),
    MetricSpec(
        "tokens_out", False, "tokens", "tokens", False, "completion tokens of the model under test", "every_run"
    ),
    MetricSpec(
        "priced_calls",
        False,
        "count",
        "calls",
        True,
        "answered calls (model and judges) with a known price; n is every answered call, so value < n means "
        "cost_usd is a partial sum",
        "every_run",
        gateable=False,
        in_table=False,
    ),
)

_FIXED = {spec.name: spec for spec in CATALOGUE if not spec.per_scorer}
_PER_SCORER = {spec.name: spec for spec in CATALOGUE if spec.per_scorer}

#: What an unknown metric name is taken to be: a plain number, higher is better, never a headline.
UNKNOWN = MetricSpec("", False, "number", "", True, "not in the catalogue", "every_run", gateable=False)


def spec_for(metric: str) -> MetricSpec | None:
    """The catalogue entry of a metric name, or None for a name the catalogue does not know."""
    fixed = _FIXED.get(metric)
    if fixed is not None:
        return fixed
    scorer, dot, suffix = metric.rpartition(".")
    return _PER_SCORER.get(suffix) if dot and scorer else None


def spec_or_unknown(metric: str) -> MetricSpec:
    """:func:`spec_for`, with :data:`UNKNOWN` for names it does not know."""
    return spec_for(metric) or UNKNOWN


def kind_of(metric: str) -> MetricKind:
    """How the metric's values are shown."""
    return spec_or_unknown(metric).kind


def higher_is_better(metric: str) -> bool:
    """Whether an increase of the metric is an improvement."""
    return spec_or_unknown(metric).higher_is_better


def scorer_of(metric: str) -> str | None:
    """``contains`` for ``contains.pass_rate``; None for a run metric."""
    spec = spec_for(metric)
    return metric.rpartition(".")[0] if spec is not None and spec.per_scorer else None


def run_metric_names(*, gateable_only: bool = True) -> list[str]:
    """Metrics every run produces, whatever its scorers (by default only those a threshold may use)."""
    return [s.name for s in CATALOGUE if s.produced == "every_run" and (s.gateable or not gateable_only)]


def scorer_metric_suffixes(*, gateable_only: bool = True) -> list[str]:
    """Suffixes of the metrics every scorer produces, as ``<scorer name>.<suffix>`` (by default gateable ones)."""
    return [s.name for s in CATALOGUE if s.produced == "every_scorer" and (s.gateable or not gateable_only)]


def several_judges_suffixes() -> list[str]:
    """Suffixes that only rubric judges with several judge models produce."""
    return [s.name for s in CATALOGUE if s.produced == "several_judges"]


def repeats_suffixes() -> list[str]:
    """Suffixes every scorer produces when ``runtime.repeats`` is above 1."""
    return [s.name for s in CATALOGUE if s.produced == "repeats"]


Row = TypeVar("Row", bound=Sequence[object])


def headline_rows(rows: Iterable[Row]) -> list[Row]:
    """The headline subset of ``(metric, ...)`` rows, in headline order: pass rates (by scorer), error
    rate, cost, p95 latency. Each row's first item is the metric name."""
    kept = [(spec_or_unknown(str(row[0])).headline, str(row[0]), row) for row in rows]
    return [row for rank, _, row in sorted((k for k in kept if k[0] is not None), key=lambda k: (k[0], k[1]))]


def in_report_table(metric: str) -> bool:
    """Whether the report's metrics table lists the metric (unknown names are listed, to hide nothing)."""
    return spec_or_unknown(metric).in_table
