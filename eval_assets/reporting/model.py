"""What a run report shows, as plain data (built by the Dagster glue, rendered by pure functions)."""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from eval_assets.reporting.changes import FactorChange
from eval_assets.reporting.stability import StabilityLine


@dataclass(frozen=True)
class Cost:
    """What a run cost, as far as prices are known.

    Attributes:
        usd: Sum of the known prices; None when no call has a price.
        priced_calls: Answered calls with a known price (None: not recorded, as in runs before it was).
        calls: Answered calls in all (model under test and judges).
        unpriced_models: Models whose calls had no price, when known.
    """

    usd: float | None
    priced_calls: int | None = None
    calls: int | None = None
    unpriced_models: tuple[str, ...] = ()

    @property
    def state(self) -> Literal["known", "partial", "unknown"]:
        """``unknown`` (no price at all), ``partial`` (some calls unpriced) or ``known``."""
        if self.usd is None or (isinstance(self.usd, float) and math.isnan(self.usd)):
            return "unknown"
        if self.priced_calls is not None and self.calls is not None and self.priced_calls < self.calls:
            return "partial"
        return "known"


def error_share(errors: int, *, calls: int | None, examples: int) -> float | None:
    """Failed calls over calls, as the ``error_rate`` metric counts them (None: no call).

    With repeats an example is called several times, so dividing by examples could pass 100%; without the
    calls known (a pruned night, older rows) there is one call per example, as without repeats.
    """
    total = calls if calls else examples
    return errors / total if total else None


@dataclass(frozen=True)
class RunSummary:
    """Identity and lineage of the run."""

    config_name: str
    eval_date: str  # ISO date of the partition
    description: str
    model_id: str
    model_version: str | None  # what the provider reported (most common value)
    run_id: str
    git_sha: str
    config_hash: str
    dataset_hashes: dict[str, str]  # dataset name -> content hash
    prompt_hashes: dict[str, str]  # rubric name -> content hash
    baseline_date: str | None  # ISO date of the partition compared against, None for the first run
    n_examples: int
    n_errors: int  # model calls that failed
    cost_usd: float | None  # sum of the known prices (None: no call has a price)
    simulated: bool  # the model under test is the built-in offline simulator
    priced_calls: int | None = None  # answered calls with a known price (None: not recorded)
    cost_calls: int | None = None  # answered calls, model under test and judges
    unpriced_models: tuple[str, ...] = ()  # models whose answers had no price
    reproducibility: dict[str, str] = field(default_factory=dict)  # reproducibility input -> content hash
    n_calls: int | None = None  # model calls, repeats included (None: not known, e.g. the night's detail pruned)

    @property
    def error_rate(self) -> float | None:
        """Failed calls over calls (see :func:`error_share`)."""
        return error_share(self.n_errors, calls=self.n_calls, examples=self.n_examples)

    @property
    def cost(self) -> Cost:
        """The run's cost with how much of it is priced."""
        return Cost(self.cost_usd, self.priced_calls, self.cost_calls, self.unpriced_models)


@dataclass(frozen=True)
class MetricLine:
    """One row of the Metric | Prev | Current | Delta table."""

    metric: str  # e.g. "contains.pass_rate", "latency_p95_ms"
    tag: str | None  # None: whole run
    current: float | None
    previous: float | None
    n: int
    higher_is_better: bool  # colours the delta (latency, cost, error rates: lower is better)
    threshold: str | None = None  # e.g. ">= 0.7" when a gate exists on this metric/tag
    gate_failed: bool = False
    gate_severity: str | None = None  # "error" | "warn" when a gate exists
    cost: Cost | None = None  # on the cost_usd row: whether the amount is known, partial or unknown
    human_labelled: int = 0  # examples behind the value whose verdict is a person's, not the evaluator's

    @property
    def delta(self) -> float | None:
        """Current minus previous."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


@dataclass(frozen=True)
class GateLine:
    """A quality gate's verdict."""

    name: str  # asset check name
    description: str  # e.g. "contains.pass_rate >= 0.7"
    severity: str  # "error" | "warn"
    passed: bool
    detail: str


@dataclass(frozen=True)
class ExampleLine:
    """An example shown in the worst-examples list (all text is untrusted model/user content)."""

    dataset: str
    example_id: str
    scorer: str
    score: float | None
    passed: bool | None
    input_text: str
    output_text: str | None
    reference: list[str]
    detail: str  # matched reference / judge rationale / error
    error_type: str | None = None

    @property
    def anchor(self) -> str:
        """Fragment id of this example in the HTML report and key in outputs.json."""
        return f"{self.dataset}/{self.example_id}"


@dataclass(frozen=True)
class ComparisonLine:
    """One scorer (overall or on a tag) against the baseline, example by example."""

    scorer: str
    tag: str | None  # None: whole run
    kind: str  # "pass_fail" (exact McNemar) | "graded" (paired bootstrap of the mean score)
    n: int  # examples scored in both runs
    baseline: float | None  # pass rate (pass_fail) or mean normalized score (graded) on those examples
    current: float | None
    delta: float | None  # current - baseline
    ci_low: float | None  # 95% interval of delta
    ci_high: float | None
    p_value: float | None
    flipped_to_fail: int
    flipped_to_pass: int
    regression: bool  # verdict FAIL: drop > min_effect and p < alpha (secondary: BH-adjusted p)
    gated: bool  # primary: takes part in the regression gate
    verdict: str | None = None  # PASS | FAIL | INCONCLUSIVE (None: nothing paired, or stored before schema 3)
    mde: float | None = None  # minimum detectable drop at the configured alpha and power
    n_needed: int | None = None  # pairs needed to detect regression.min_effect
    p_adjusted: float | None = None  # Benjamini-Hochberg over the night's comparisons


@dataclass(frozen=True)
class FlipLine:
    """An example whose verdict changed against the baseline (all text untrusted)."""

    dataset: str
    example_id: str
    scorer: str
    direction: str  # "pass_to_fail" | "fail_to_pass"
    input_text: str
    baseline_output: str | None
    current_output: str | None
    baseline_detail: str | None
    current_detail: str | None

    @property
    def anchor(self) -> str:
        """Key of this example in outputs.json and the HTML report."""
        return f"{self.dataset}/{self.example_id}"


#: Flipped examples listed per direction in a report; the warehouse ``flips`` table has them all.
MAX_FLIPS_SHOWN = 20
#: Flip directions in the order every report lists them, with their headings.
FLIP_DIRECTIONS = (("pass_to_fail", "Pass → fail"), ("fail_to_pass", "Fail → pass"))


def flips_by_direction(flips: Sequence[FlipLine]) -> list[tuple[str, list[FlipLine]]]:
    """(heading, flips) per direction in :data:`FLIP_DIRECTIONS` order, leaving out empty directions."""
    grouped = [(title, [x for x in flips if x.direction == direction]) for direction, title in FLIP_DIRECTIONS]
    return [(title, items) for title, items in grouped if items]


@dataclass(frozen=True)
class ReviewSummary:
    """The night's new review tasks: how many for each reason, and where people decide them."""

    by_reason: Mapping[str, int]
    url: str

    @property
    def total(self) -> int:
        """Tasks in all (a task with several reasons counts once, under its most urgent)."""
        return sum(self.by_reason.values())


def review_url(base: str, *, config_name: str, eval_date: str) -> str:
    """The review page filtered on one night of one config."""
    query = urllib.parse.urlencode({"config": config_name, "date": eval_date})
    return f"{base.rstrip('/')}/?{query}"


@dataclass(frozen=True)
class CalibrationLine:
    """One judge of one judge scorer against people (a ``calibration`` row)."""

    scorer: str
    judge_model: str
    sample: str  # decisions | anchors
    n: int
    agreement: float | None
    kappa: float | None
    kappa_low: float | None
    kappa_high: float | None
    weighting: str
    calibrated: bool
    reason: str


@dataclass(frozen=True)
class ReportData:
    """Everything the Markdown and HTML reports show."""

    summary: RunSummary
    metrics: list[MetricLine]  # overall rows (tag None)
    tag_metrics: list[MetricLine]  # per-tag rows (scorer pass rates by tag)
    gates: list[GateLine]
    worst: list[ExampleLine]
    outputs_file: str = "outputs.json"  # relative link to the raw outputs
    notes: list[str] = field(default_factory=list)
    baseline_label: str | None = None  # e.g. "candidate 2026-11-06" (None: no baseline yet)
    baseline_reason: str | None = None  # why that baseline (or why none), e.g. "accepted by alice on ..."
    #: Factors that differ from the baseline (model, prompt, datasets, ...); None: no baseline, or one stored
    #: before factors were recorded.
    changes: tuple[FactorChange, ...] | None = None
    comparisons: list[ComparisonLine] = field(default_factory=list)  # overall first, then by tag
    flips: list[FlipLine] = field(default_factory=list)  # pass -> fail first
    alerts: list[str] = field(default_factory=list)  # headline: the night's scoring failed (e.g. a broken judge)
    #: Example key -> where its full entry is, relative to the run folder (``examples/0002.html#ex-...``), for
    #: examples listed on separate pages; examples not in it have their entry in report.html (``#ex-...``).
    entry_links: Mapping[str, str] = field(default_factory=dict)
    #: "All outputs" split into pages (large runs): one line per page; empty when listed in report.html.
    example_pages: tuple[ExamplesPageLink, ...] = ()
    folder_url: str | None = None  # absolute URL of the run folder (report base URL set): links become absolute
    folder_path: str | None = None  # where the run folder is on the machine that ran
    dagster_run_url: str | None = None  # the run in the Dagster UI, when its URL is configured
    #: Why the night lists no examples: retention removed its per-example detail (None: it has them).
    details_pruned: str | None = None
    review: ReviewSummary | None = None  # the night's new review tasks (None: the queue did not run)
    calibration: list[CalibrationLine] = field(default_factory=list)  # judges against people tonight
    #: The flakiness ledger's newly broken, flaky and fixed examples, most urgent first (issue 11).
    stability: list[StabilityLine] = field(default_factory=list)

    def href(self, relative: str) -> str:
        """A link to a file of the run folder: absolute under :attr:`folder_url`, else relative."""
        return f"{self.folder_url}/{relative}" if self.folder_url else relative


@dataclass(frozen=True)
class ExamplesPageLink:
    """One page of "All outputs" as the report lists it."""

    href: str  # relative to the run folder, e.g. "examples/0001.html"
    first: str  # key of its first example
    last: str  # key of its last example
    count: int
