"""Run metrics from score and response rows (pure Polars; defined on empty input)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class MetricValue:
    """One metric of a run, overall (``tag`` None) or for one tag slice.

    ``value`` is None when nothing could be measured (n == 0), never a made-up 0.
    """

    metric: str
    tag: str | None
    value: float | None
    n: int


@dataclass(frozen=True)
class ComparedMetric:
    """A metric next to its value in the baseline partition."""

    metric: str
    tag: str | None
    value: float | None
    n: int
    baseline_value: float | None

    @property
    def delta(self) -> float | None:
        """Current minus baseline, when both exist."""
        if self.value is None or self.baseline_value is None:
            return None
        return self.value - self.baseline_value


def _mean(series: pl.Series) -> float | None:
    clean = series.drop_nulls()
    return float(clean.cast(pl.Float64).mean()) if clean.len() else None  # type: ignore[arg-type]


def scorer_metrics(scores: pl.DataFrame) -> list[MetricValue]:
    """``<scorer>.pass_rate``, ``<scorer>.mean`` and ``<scorer>.human_labelled``, overall and per tag.

    Rows whose score is null (the model call failed, or every judge failed) are not counted: an
    infrastructure failure is not a quality failure and has its own metrics.

    Args:
        scores: Rows with columns ``scorer``, ``score``, ``passed``, ``tags``.
    """
    out: list[MetricValue] = []
    if scores.is_empty():
        return out
    scored = scores.filter(pl.col("score").is_not_null())
    for scorer in sorted(scores.get_column("scorer").unique().to_list()):
        rows = scored.filter(pl.col("scorer") == scorer)
        out.extend(_scorer_values(scorer, None, rows))
        by_tag = rows.explode("tags").filter(pl.col("tags").is_not_null())
        for tag in sorted(by_tag.get_column("tags").unique().to_list()):
            out.extend(_scorer_values(scorer, tag, by_tag.filter(pl.col("tags") == tag)))
    return out


def _scorer_values(scorer: str, tag: str | None, rows: pl.DataFrame) -> list[MetricValue]:
    n = rows.height
    values = [
        MetricValue(f"{scorer}.pass_rate", tag, _mean(rows.get_column("passed")) if n else None, n),
        MetricValue(f"{scorer}.mean", tag, _mean(rows.get_column("score")) if n else None, n),
    ]
    if "human_labelled" in rows.columns:
        people = int(rows.get_column("human_labelled").fill_null(False).sum()) if n else 0
        values.append(MetricValue(f"{scorer}.human_labelled", tag, float(people), n))
    if "repeat_index" in rows.columns and n and rows.get_column("repeat_index").max() > 0:  # type: ignore[operator]
        values.extend(repeat_values(scorer, tag, rows))
    if "judges_disagree" in rows.columns:
        verdicts = rows.get_column("judges_disagree").drop_nulls()
        if verdicts.len():
            # Agreement: share of examples whose judges stayed within the scorer's disagreement margin.
            agreed = (~verdicts).cast(pl.Float64).mean()
            values.append(MetricValue(f"{scorer}.judge_agreement", tag, float(agreed), verdicts.len()))  # type: ignore[arg-type]
    return values


def per_example_pass(rows: pl.DataFrame) -> pl.DataFrame:
    """Each example's repeats: ``samples``, ``passes`` and ``pass_probability`` (scored rows only).

    Args:
        rows: Scored rows of one scorer with ``dataset``, ``example_id`` and ``passed``.
    """
    return rows.group_by("dataset", "example_id").agg(
        samples=pl.len(),
        passes=pl.col("passed").cast(pl.Int64).sum(),
        pass_probability=pl.col("passed").cast(pl.Float64).mean(),
    )


def repeat_values(scorer: str, tag: str | None, rows: pl.DataFrame) -> list[MetricValue]:
    """pass@k, pass^k and the mean per-example pass probability of one scorer's repeated samples.

    k is each example's number of scored repeats (``runtime.repeats`` unless a call failed), so pass@k is
    "at least one passed" and pass^k "every one passed"; n is the number of examples.
    """
    examples = per_example_pass(rows)
    n = examples.height
    if not n:
        return []
    any_pass = examples.filter(pl.col("passes") > 0).height / n
    all_pass = examples.filter(pl.col("passes") == pl.col("samples")).height / n
    probability = float(examples.get_column("pass_probability").mean())  # type: ignore[arg-type]
    return [
        MetricValue(f"{scorer}.pass_at_k", tag, any_pass, n),
        MetricValue(f"{scorer}.pass_all_k", tag, all_pass, n),
        MetricValue(f"{scorer}.pass_probability", tag, probability, n),
    ]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in [0, 1]); None for no values."""
    if not values:
        return None
    return float(pl.Series(values, dtype=pl.Float64).quantile(q, interpolation="linear"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class CallCosts:
    """What the answered calls of a run cost, as far as their prices are known.

    A call is *answered* when the model (or judge) replied: a failed call has no usage to price. An
    answered call without a price (a model missing from litellm's price map) leaves the total unknown or
    partial, never a made-up 0.
    """

    usd: float | None  # sum of the known prices; None when no answered call has a price
    priced: int  # answered calls with a price
    calls: int  # answered calls
    unpriced_models: tuple[str, ...]  # models of the answered calls without a price, sorted


def call_costs(responses: pl.DataFrame, judge_verdicts: pl.DataFrame | None = None) -> CallCosts:
    """Cost of the model under test and the judges.

    Args:
        responses: Rows with ``model_id``, ``error_type`` and ``cost_usd``.
        judge_verdicts: Rows with ``judge_model``, ``raw_answer`` and ``cost_usd`` (optional).
    """
    parts = []
    if responses.height:
        parts.append(
            responses.select(
                model=pl.col("model_id") if "model_id" in responses.columns else pl.lit(None, pl.String),
                answered=pl.col("error_type").is_null() | pl.col("cost_usd").is_not_null(),
                cost=pl.col("cost_usd").cast(pl.Float64),
            )
        )
    if judge_verdicts is not None and judge_verdicts.height:
        parts.append(
            judge_verdicts.select(
                model=pl.col("judge_model") if "judge_model" in judge_verdicts.columns else pl.lit(None, pl.String),
                # An unparseable verdict was still an answer (and paid for); a failed call was not.
                answered=pl.col("raw_answer").is_not_null() | pl.col("cost_usd").is_not_null()
                if "raw_answer" in judge_verdicts.columns
                else pl.col("error").is_null() | pl.col("cost_usd").is_not_null(),
                cost=pl.col("cost_usd").cast(pl.Float64),
            )
        )
    if not parts:
        return CallCosts(None, 0, 0, ())
    calls = pl.concat(parts, how="vertical_relaxed").filter("answered")
    priced = calls.filter(pl.col("cost").is_not_null())
    unpriced = calls.filter(pl.col("cost").is_null()).get_column("model").drop_nulls().unique().sort().to_list()
    usd = float(priced.get_column("cost").sum()) if priced.height or not calls.height else None
    return CallCosts(usd, priced.height, calls.height, tuple(unpriced))


def response_metrics(responses: pl.DataFrame, judge_verdicts: pl.DataFrame | None = None) -> list[MetricValue]:
    """error_rate, latency percentiles, tokens, cost (and how much of it is priced) and judge_error_rate.

    ``cost_usd`` sums the known prices: None when no answered call has a price, a partial sum when some
    have none (``priced_calls`` < its ``n``).

    Args:
        responses: Rows with ``error_type``, ``latency_ms``, ``input_tokens``, ``output_tokens``, ``cost_usd``.
        judge_verdicts: Rows with ``error`` and ``cost_usd`` (optional).
    """
    total = responses.height
    ok = responses.filter(pl.col("error_type").is_null()) if total else responses
    latencies = ok.get_column("latency_ms").drop_nulls().to_list() if total else []
    judges = judge_verdicts if judge_verdicts is not None else pl.DataFrame()
    judge_total = judges.height
    costs = call_costs(responses, judges if judge_total else None)
    return [
        MetricValue("error_rate", None, (total - ok.height) / total if total else None, total),
        MetricValue("latency_p50_ms", None, percentile(latencies, 0.5), len(latencies)),
        MetricValue("latency_p95_ms", None, percentile(latencies, 0.95), len(latencies)),
        MetricValue(
            "tokens_in",
            None,
            float(ok.get_column("input_tokens").fill_null(0).sum()) if total else None,
            ok.height,
        ),
        MetricValue(
            "tokens_out",
            None,
            float(ok.get_column("output_tokens").fill_null(0).sum()) if total else None,
            ok.height,
        ),
        MetricValue("cost_usd", None, costs.usd if total else None, total + judge_total),
        MetricValue("priced_calls", None, float(costs.priced) if total else None, costs.calls),
        MetricValue(
            "judge_error_rate",
            None,
            judges.filter(pl.col("error").is_not_null()).height / judge_total if judge_total else None,
            judge_total,
        ),
    ]


def compare(current: Iterable[MetricValue], baseline: Iterable[MetricValue]) -> list[ComparedMetric]:
    """Pair each current metric with the same (metric, tag) of the baseline."""
    previous = {(m.metric, m.tag): m.value for m in baseline}
    return [ComparedMetric(m.metric, m.tag, m.value, m.n, previous.get((m.metric, m.tag))) for m in current]
