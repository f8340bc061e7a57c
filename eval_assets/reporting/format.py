"""Numbers and verdicts as people read them: the one formatting module of every output (pure).

Markdown and HTML reports, the dashboard, the CLI summary, the CI gate and the alert payloads all format
values, deltas, p-values, intervals and costs here, from the metric catalogue
(:mod:`eval_assets.scoring.catalogue`), so the same number reads the same everywhere. Results are plain
text; each renderer escapes them for its own syntax.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from eval_assets.reporting.model import ComparisonLine, Cost, MetricLine
from eval_assets.reporting.sanitize import cell_text
from eval_assets.scoring.catalogue import kind_of

MISSING = "—"
FAIL_MARK = "❌"

#: Header of the comparison tables (the tag table puts "Tag" in front).
COMPARISON_HEADER = (
    "Scorer",
    "Test",
    "n",
    "Baseline",
    "Current",
    "Delta",
    "95% CI",
    "p-value",
    "BH-adjusted p",
    "Detectable drop (n needed)",
    "Flips (↓ to fail / ↑ to pass)",
    "Verdict",
)
#: Which of :data:`COMPARISON_HEADER` hold numbers (right-aligned).
COMPARISON_NUMERIC = (False, False, True, True, True, True, True, True, True, True, True, False)
#: The paired test behind each comparison kind, in words.
TEST_NAMES = {"pass_fail": "McNemar (exact)", "graded": "paired bootstrap"}


def signed(value: float, decimals: int) -> str:
    """``+1.2`` / ``-0.3`` with thousands separators; a value that rounds to zero reads ``+0.0``, never ``-0.0``."""
    # round() then + 0.0 turns -0.0 into 0.0.
    return f"{round(value, decimals) + 0.0:+,.{decimals}f}"


def format_value(metric: str, value: float | None) -> str:
    """A metric value for humans: ``72.5%``, ``0.812``, ``1,234 ms``, ``$0.0123``, ``12,345``, or ``—``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    kind = kind_of(metric)
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "mean":
        return f"{value:.3f}"
    if kind == "latency":
        return f"{value:,.0f} ms"
    if kind == "cost":
        return f"${value:,.4f}"
    if kind in ("tokens", "count"):
        return f"{value:,.0f}"
    return f"{value:.4g}"


def format_delta(metric: str, delta: float | None) -> str:
    """A signed change: ``+1.2 pp`` for rates (percentage points), ``-0.013``, ``+12 ms``, ``-$0.0010``."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return MISSING
    kind = kind_of(metric)
    if kind == "rate":
        return f"{signed(delta * 100, 1)} pp"
    if kind == "mean":
        return signed(delta, 3)
    if kind == "latency":
        return f"{signed(delta, 0)} ms"
    if kind == "cost":
        sign = "-" if round(delta, 4) < 0 else "+"
        return f"{sign}${abs(delta):,.4f}"
    if kind in ("tokens", "count"):
        return signed(delta, 0)
    return f"{delta:+.4g}"


def format_interval(kind: str, low: float | None, high: float | None) -> str:
    """A 95% interval of a delta: ``[-8.1, +2.3] pp`` for pass/fail, ``[-0.034, +0.012]`` for graded."""
    if low is None or high is None:
        return MISSING
    if kind == "pass_fail":
        return f"[{signed(low * 100, 1)}, {signed(high * 100, 1)}] pp"
    return f"[{signed(low, 3)}, {signed(high, 3)}]"


def format_p_value(p: float | None) -> str:
    """``0.0021``, or ``<0.0001`` below what four decimals can show; ``—`` when there is none."""
    if p is None or math.isnan(p):
        return MISSING
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def p_phrase(p: float | None) -> str:
    """``p=0.0021``, ``p<0.0001`` or ``p n/a`` (too few pairs for a test)."""
    text = format_p_value(p)
    if text == MISSING:
        return "p n/a"
    return f"p{'' if text.startswith('<') else '='}{text}"


def format_metadata(key: str, value: object) -> str:
    """A check's metadata value in one short line: p-values as p-values, floats to 4 significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if key == "p_value" and isinstance(value, float):
        return format_p_value(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# --- cost ----------------------------------------------------------------------------------------


def cost_of(metrics: Mapping[str, tuple[float | None, int | None]], *, model_id: str | None = None) -> Cost:
    """The run's cost from its overall metrics ``{metric: (value, n)}`` (``cost_usd`` and ``priced_calls``).

    Args:
        metrics: Overall metric values and their n.
        model_id: The model under test; named as unpriced when no call at all has a price (the metrics
            alone cannot say which models lack one when only some do).
    """
    usd = metrics.get("cost_usd", (None, None))[0]
    priced, calls = metrics.get("priced_calls", (None, None))
    cost = Cost(
        usd=usd,
        priced_calls=int(priced) if priced is not None else None,
        calls=int(calls) if calls is not None and priced is not None else None,
    )
    if cost.state == "unknown" and model_id and (cost.calls or 0) > 0:
        return replace(cost, unpriced_models=(model_id,))
    return cost


def format_cost(cost: Cost) -> str:
    """``$0.0123``, ``$0.0123 (partial: 40 of 80 calls priced)``, ``unknown: no price for openai/fake``."""
    models = ", ".join(cell_text(m, limit=80) for m in cost.unpriced_models[:3])
    if len(cost.unpriced_models) > 3:
        models += f" and {len(cost.unpriced_models) - 3:,} more"
    state = cost.state
    if state == "unknown":
        return f"unknown: no price for {models}" if models else "unknown"
    amount = format_value("cost_usd", cost.usd)
    if state == "partial":
        unpriced = f"; no price for {models}" if models else ""
        return f"{amount} (partial: {cost.priced_calls:,} of {cost.calls:,} calls priced{unpriced})"
    return amount


def cost_phrase(cost: Cost) -> str:
    """:func:`format_cost` for running text: an unknown cost says ``cost unknown: ...``."""
    text = format_cost(cost)
    return text if text.startswith("$") else f"cost {text}"


def cost_note(cost: Cost) -> str:
    """What qualifies the amount, without it: ``partial: 40 of 80 calls priced``, ``no price for ...``, ``""``."""
    text = format_cost(cost)
    if text.startswith("$"):
        return text.partition(" (")[2].removesuffix(")")
    return text.removeprefix("unknown").removeprefix(": ")


# --- verdicts ------------------------------------------------------------------------------------


def delta_direction(line: MetricLine) -> Literal["better", "worse", "same", "unknown"]:
    """Whether the change is good news, given ``higher_is_better``."""
    if line.delta is None:
        return "unknown"
    if line.delta == 0:
        return "same"
    return "better" if (line.delta > 0) == line.higher_is_better else "worse"


def gate_verdict(severity: str | None, passed: bool) -> str:
    """``✅ pass``, ``❌ FAIL`` (error gate) or ``⚠️ WARN`` (warn gate)."""
    if passed:
        return "✅ pass"
    return "⚠️ WARN" if severity == "warn" else f"{FAIL_MARK} FAIL"


def comparison_metric(kind: str) -> str:
    """The metric a comparison is shown as: pass/fail ones are rates (% and pp), graded ones mean scores."""
    return "<scorer>.pass_rate" if kind == "pass_fail" else "<scorer>.mean"


def comparison_verdict(line: ComparisonLine) -> str:
    """``❌ regression`` (fails the gate), ``⚠️ regression (not gated)``, ``✅ no significant drop``, or ``—``."""
    if line.n == 0:
        return MISSING
    if line.regression:
        return f"{FAIL_MARK} regression" if line.gated else "⚠️ regression (not gated)"
    if line.verdict == "INCONCLUSIVE":
        return "❔ inconclusive (cannot detect the minimum effect at this n)"
    return "✅ no significant drop"


def format_power(line: ComparisonLine) -> str:
    """``62.0 pp (n ≥ 939)``: the smallest drop the test could detect, and the n that min_effect needs."""
    if line.mde is None:
        return MISSING
    size = "pp" if line.kind == "pass_fail" else ""
    drop = f"{line.mde * 100:.1f} pp" if size else f"{line.mde:.3f}"
    return f"{drop} (n ≥ {line.n_needed:,})" if line.n_needed is not None else drop


def comparison_status(line: ComparisonLine) -> Literal["fail", "warn", "pass", "unknown"]:
    """The verdict as a status: a gated regression fails like a failing gate, another one warns."""
    if line.n == 0:
        return "unknown"
    if line.regression:
        return "fail" if line.gated else "warn"
    if line.verdict == "INCONCLUSIVE":
        return "unknown"
    return "pass"


def comparison_cells(line: ComparisonLine) -> list[str]:
    """Plain-text cells after "Scorer" in :data:`COMPARISON_HEADER` (the renderer escapes them)."""
    metric = comparison_metric(line.kind)
    return [
        TEST_NAMES.get(line.kind, cell_text(line.kind)),
        f"{line.n:,}",
        format_value(metric, line.baseline),
        format_value(metric, line.current),
        format_delta(metric, line.delta),
        format_interval(line.kind, line.ci_low, line.ci_high),
        format_p_value(line.p_value),
        format_p_value(line.p_adjusted),
        format_power(line),
        f"↓ {line.flipped_to_fail:,} / ↑ {line.flipped_to_pass:,}",
        comparison_verdict(line),
    ]


def regression_summary(line: ComparisonLine) -> str:
    """``refusal -11.4 pp (p=0.0030)``: a comparison in a few words (the scorer is cleaned, not escaped)."""
    change = format_delta(comparison_metric(line.kind), line.delta)
    return f"{cell_text(line.scorer)} {change} ({p_phrase(line.p_value)})"


def describe_comparison(line: ComparisonLine) -> str:
    """``refusal -11.4 pp (p=0.0030, n=120, 9 flipped to fail)``: a comparison with its evidence."""
    change = format_delta(comparison_metric(line.kind), line.delta)
    return (
        f"{cell_text(line.scorer)} {change} ({p_phrase(line.p_value)}, n={line.n:,}, "
        f"{line.flipped_to_fail:,} flipped to fail)"
    )


def describe_power(line: ComparisonLine, min_effect: float) -> str:
    """``refusal: n=10 detects only drops of 62.0 pp or more; 939 needed for 5.0 pp``."""
    size = f"{line.mde * 100:.1f} pp" if line.kind == "pass_fail" and line.mde is not None else f"{line.mde or 1.0:.3f}"
    effect = f"{min_effect * 100:.1f} pp" if line.kind == "pass_fail" else f"{min_effect:.3f}"
    needed = f"; {line.n_needed:,} needed for {effect}" if line.n_needed is not None else ""
    return f"{cell_text(line.scorer)}: n={line.n:,} detects only drops of {size} or more{needed}"


def headline_text(metric: str, value: float | None, delta: float | None) -> str:
    """One headline figure for a one-line summary: ``contains 75.0% (+1.2 pp)``, ``errors 1.5%``, ``p95 1,234 ms``."""
    shown = format_value(metric, value)
    change = f" ({format_delta(metric, delta)})" if delta is not None else ""
    if metric.endswith(".pass_rate"):
        return f"{metric.removesuffix('.pass_rate')} {shown}{change}"
    if metric == "error_rate":
        return f"errors {shown}"
    if metric == "latency_p95_ms":
        return f"p95 {shown}"
    return f"{metric} {shown}"
