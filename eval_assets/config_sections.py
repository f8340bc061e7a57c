"""The sections of a run config (``data/configs/*.yaml``) other than models and scorers.

Datasets, thresholds, runtime, budget, baseline, regression policy and notification targets: each a strict
pydantic model, re-exported by ``eval_assets.config``, which assembles them into ``EvalConfig``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from eval_assets.config_base import (
    CONFIG_NAME_PATTERN as CONFIG_NAME_PATTERN,  # re-exported for project, cli
    SCORER_NAME_PATTERN,
    Label,
    ModelSpec as ModelSpec,  # re-exported: the llm layer imports it from here
    Seed,
    StrictModel as _Strict,
)
from eval_assets.config_checks import check_dataset_path
from eval_assets.scoring.registry import ScorerSpec as ScorerSpec  # re-exported for callers of the config


class DatasetRef(_Strict):
    """A dataset file replayed by the run, optionally filtered by tag."""

    path: str = Field(
        min_length=1, max_length=1024, description="JSONL file, relative to the data directory (inside it)."
    )
    include_tags: list[Label] = Field(
        default_factory=list, description="Keep only examples carrying at least one of these tags."
    )
    exclude_tags: list[Label] = Field(default_factory=list, description="Drop examples carrying any of these tags.")
    limit: int | None = Field(
        default=None, gt=0, le=10_000_000, description="Keep only the first N examples after filtering."
    )

    @field_validator("path")
    @classmethod
    def _relative_jsonl_path(cls, value: str) -> str:
        return check_dataset_path(value)

    @property
    def name(self) -> str:
        """The dataset's name: its file name without the extension."""
        return Path(self.path).stem


class Threshold(_Strict):
    """A quality gate on one metric of the run; becomes an asset check."""

    metric: str = Field(description="e.g. contains.pass_rate, faithfulness.mean, error_rate, latency_p95_ms.")
    tag: Label | None = Field(default=None, description="Gate the metric on examples with this tag only.")
    min: float | None = Field(default=None, description="Fail when the metric is below this value.")
    max: float | None = Field(default=None, description="Fail when the metric is above this value.")
    severity: Literal["error", "warn"] = Field(
        default="error", description="error blocks downstream assets; warn only reports."
    )

    @model_validator(mode="after")
    def _has_a_bound(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs 'min' and/or 'max'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    @property
    def check_name(self) -> str:
        """Stable asset-check name for this threshold, e.g. ``threshold_contains_pass_rate_billing``."""
        raw = f"threshold_{self.metric}" + (f"_{self.tag}" if self.tag else "")
        return re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_")

    def describe(self) -> str:
        """Human-readable bound, e.g. ``contains.pass_rate >= 0.8``."""
        target = self.metric + (f" [tag={self.tag}]" if self.tag else "")
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        return f"{target} {' and '.join(bounds)}"


class BatchMode(_Strict):
    """Provider batch endpoints (OpenAI-style files + batches) for large runs."""

    enabled: bool = Field(default=False, description="Send calls through the provider's batch API.")
    min_calls: int = Field(
        default=1000, ge=1, le=100_000_000, description="Use the batch API only when at least this many calls."
    )
    # At least 0.01 s: 1e-9 would poll the provider in a busy loop (local test servers answer in milliseconds).
    poll_interval_s: float = Field(default=30.0, ge=0.01, le=3600, description="Seconds between batch status polls.")
    max_wait_s: float = Field(
        default=86_400.0, gt=0, le=7 * 86_400, description="Give up waiting for a batch after this long (<= 7 days)."
    )


class Runtime(_Strict):
    """How the replay talks to the provider."""

    concurrency: int = Field(default=8, ge=1, le=1024, description="Model calls in flight at once.")
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="Per-request timeout in seconds.")
    max_retries: int = Field(default=3, ge=0, le=20, description="Retries of a retryable failure per call.")
    cache: bool = Field(default=True, description="Reuse stored responses for identical requests.")
    max_error_rate: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Blocking gate: most failed calls (after retries) tolerated before scoring is stopped.",
    )
    # Lower bounds: below one request a minute a run of a hundred examples takes days (1e-6 never ends).
    requests_per_minute: float | None = Field(
        default=None, ge=1, le=1_000_000, description="Client-side request rate limit (1 .. 1,000,000)."
    )
    tokens_per_minute: float | None = Field(
        default=None,
        ge=100,
        le=1e10,
        description="Client-side token rate limit (prompt estimate + max_tokens); at least every model's max_tokens.",
    )
    max_retry_time_s: float = Field(
        default=600.0, gt=0, le=86_400, description="Stop retrying a call after this long in total (<= a day)."
    )
    max_judge_error_rate: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Blocking gate: most judge verdicts per judge that may fail or be unparseable before the "
        "night fails (a broken judge must not look like a healthy night).",
    )
    min_scored_share: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="Blocking gate: least share of the examples a scorer applies to that must get a score.",
    )
    batch: BatchMode = Field(default_factory=BatchMode, description="Provider batch endpoints for large runs.")
    # Up to 100: each repeat is a paid call per example (and per judge), and budgets count every one.
    repeats: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Samples per example (1 .. 100); each repeat is its own call and cache entry, metrics gain "
        "pass@k, pass^k and per-example pass probability, and comparisons cluster by example.",
    )


class Budget(_Strict):
    """Spending cap of one run, model under test and judges together."""

    max_usd: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Stop launching calls once this is spent."
    )
    max_tokens: int | None = Field(
        default=None, gt=0, le=10**12, description="Stop launching calls once this many tokens."
    )


class Baseline(_Strict):
    """What a run is compared with (default: the previous successful run of the same config)."""

    config: str | None = Field(
        default=None,
        pattern=CONFIG_NAME_PATTERN.pattern,
        description="Compare with this config instead (e.g. production).",
    )
    date: dt.date | None = Field(default=None, description="Compare with this date instead of the previous run.")


class RegressionPolicy(_Strict):
    """When a drop against the baseline fails the regression gate."""

    min_effect: float = Field(default=0.05, ge=0.0, le=1.0, description="Smallest drop that matters (0.05 = 5 pp).")
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0, description="Significance level of the paired test.")
    severity: Literal["error", "warn"] = Field(default="error", description="error blocks downstream; warn reports.")
    power: float = Field(
        default=0.8, gt=0.0, lt=1.0, description="Power at which the minimum detectable effect is computed."
    )
    inconclusive: Literal["warn", "error", "pass"] = Field(
        default="warn",
        description="What the gate does when the data cannot detect min_effect (INCONCLUSIVE): warn, "
        "error (blocks like a failure) or pass.",
    )
    scorers: list[str] = Field(
        default_factory=list,
        description="Primary scorers, gated at alpha (default: all); the others are advisory, FDR-corrected.",
    )
    resamples: int = Field(default=2000, ge=100, le=100_000, description="Bootstrap resamples for graded scores.")
    seed: Seed = Field(default=0, description="Seed of the bootstrap, for reproducible verdicts.")
    flaky_window: int = Field(
        default=14,
        ge=2,
        le=365,
        description="Nights of history the flakiness ledger classes each example on (2 .. 365).",
    )
    gate_flaky: bool = Field(
        default=False,
        description="Let examples the ledger classes flaky count in the regression gate (default: set apart, "
        "reported and counted on their own, so one coin-flip example cannot fail the night).",
    )


Severity = Literal["error", "warn"]
#: A ``reproducibility:`` input's name (it becomes a key of the recorded hashes) and its path.
ReproducibilityName = Annotated[str, Field(pattern=SCORER_NAME_PATTERN)]
ReproducibilityPath = Annotated[str, Field(min_length=1, max_length=1024)]


def _all_severities() -> list[Severity]:
    return ["error", "warn"]


class NotificationTarget(_Strict):
    """Where failed gates are announced."""

    type: Literal["webhook", "slack", "log"] = Field(description="Generic JSON webhook, Slack-compatible, or log only.")
    url_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the webhook URL (URLs are secrets: never in git).",
    )
    on: list[Severity] = Field(default_factory=_all_severities, description="Severities of failed checks to send.")

    @model_validator(mode="after")
    def _url_for_http_targets(self) -> NotificationTarget:
        if self.type != "log" and not self.url_env:
            raise ValueError(f"a {self.type} target needs 'url_env' (the variable holding the URL)")
        return self
