"""What the report shows of people in the loop, from the night's stored rows (pure)."""

from __future__ import annotations

from collections import Counter

import polars as pl

from eval_assets.reporting.model import CalibrationLine, ReviewSummary, review_url
from eval_assets.review.policy import ReviewPolicy


def review_summary(policy: ReviewPolicy, tasks: pl.DataFrame, *, config_name: str, eval_date: str) -> ReviewSummary:
    """The night's new tasks (``review_tasks`` rows) by most urgent reason, with the review page's link."""
    counted = Counter(str(reason) for reason in tasks.get_column("reason").to_list()) if tasks.height else Counter()
    by_reason: dict[str, int] = {reason: counted[reason] for reason in policy.reasons if counted[reason]}
    return ReviewSummary(by_reason, review_url(policy.page_url, config_name=config_name, eval_date=eval_date))


def calibration_lines(rows: pl.DataFrame) -> list[CalibrationLine]:
    """One line per stored ``calibration`` row: people's decisions first, then the anchors."""
    if not rows.height:
        return []
    ordered = rows.sort(["sample", "scorer", "judge_model"], descending=[True, False, False])
    return [
        CalibrationLine(
            r["scorer"],
            r["judge_model"],
            r["sample"],
            r["n"],
            r["agreement"],
            r["kappa"],
            r["kappa_low"],
            r["kappa_high"],
            r["weighting"],
            r["calibrated"],
            r["reason"],
        )
        for r in ordered.iter_rows(named=True)
    ]
