"""Run configs (``data/configs/*.yaml``): typed models, loading, and per-field validation.

The key names ``model.id``, ``model.api_base``, ``model.api_key_env``, ``model.temperature``,
``model.max_tokens``, ``runtime.concurrency``, ``datasets[].path``, ``scorers[]``, ``thresholds[]`` and
``schedule`` are a public interface that other tooling reads: never rename them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eval_assets.config_base import (
    CONFIG_NAME_PATTERN as CONFIG_NAME_PATTERN,  # re-exported for project, cli
    Label,
    ModelSpec as ModelSpec,  # re-exported: the llm layer imports it from here
    Retention,
    StrictModel as _Strict,
)
from eval_assets.config_errors import problems_from_validation
from eval_assets.config_sections import (  # re-exported: callers import every section from here
    Baseline as Baseline,
    BatchMode as BatchMode,
    Budget as Budget,
    DatasetRef as DatasetRef,
    NotificationTarget as NotificationTarget,
    RegressionPolicy as RegressionPolicy,
    ReproducibilityName as ReproducibilityName,
    ReproducibilityPath as ReproducibilityPath,
    Runtime as Runtime,
    Severity as Severity,
    Threshold as Threshold,
)
from eval_assets.errors import InputProblem, InvalidInputError
from eval_assets.review.policy import ReviewPolicy, review_problems
from eval_assets.scoring import catalogue
from eval_assets.scoring.registry import (
    ScorerSpec as ScorerSpec,  # re-exported for callers of the config
    judge_options,
    scorer_for,
    scorer_spec_type,
)
from eval_assets.yaml_lines import (
    FieldPath,
    YamlSyntaxError,
    format_field_path,
    line_for,
    load_yaml_with_lines,
    read_yaml_text,
)

if TYPE_CHECKING:
    AnyScorerSpec = ScorerSpec
else:
    #: One ``scorers[]`` entry: a union of every registered scorer's spec, discriminated by ``scorer``.
    AnyScorerSpec = scorer_spec_type()


class EvalConfig(_Strict):
    """One run config: what to replay, against which model, how to score and gate it."""

    description: str = Field(default="", description="What this config evaluates, shown in reports.")
    schedule: Literal["nightly", "manual"] = Field(
        default="manual", description="nightly: materialized by the nightly schedule; manual: on demand only."
    )
    model: ModelSpec = Field(description="The model under test.")
    datasets: list[DatasetRef] = Field(min_length=1, description="Datasets to replay.")
    scorers: list[AnyScorerSpec] = Field(min_length=1, description="Scorers applied to every output.")
    thresholds: list[Threshold] = Field(default_factory=list, description="Quality gates (asset checks).")
    runtime: Runtime = Field(default_factory=Runtime, description="Concurrency, timeouts, retries, cache.")
    budget: Budget = Field(default_factory=Budget, description="Spending cap of a run.")
    baseline: Baseline = Field(default_factory=Baseline, description="What runs are compared with.")
    regression: RegressionPolicy = Field(default_factory=RegressionPolicy, description="The regression gate.")
    notifications: list[NotificationTarget] = Field(
        default_factory=list, description="Where failed gates are sent (always also logged)."
    )
    owners: list[Label] = Field(default_factory=list, max_length=100, description="Who to tell when a gate fails.")
    review: ReviewPolicy = Field(default_factory=ReviewPolicy, description="Which examples need a person each night.")
    retention: Retention = Field(default_factory=Retention, description="How long per-example detail is kept.")
    reproducibility: dict[ReproducibilityName, ReproducibilityPath] = Field(
        default_factory=dict,
        max_length=50,
        description="Inputs outside the prompt that shape answers (e.g. retrieval_index: indexes/faq), a file or "
        "directory relative to the data directory; each one's content hash is recorded on every row.",
    )

    def all_models(self) -> list[ModelSpec]:
        """The model under test and every judge."""
        panels = (judge_options(spec) for spec in self.scorers)
        return [self.model, *(judge for panel in panels if panel is not None for judge in panel.judges)]


class LoadedConfig(BaseModel):
    """A validated config with where it came from."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: Path
    config: EvalConfig
    content_hash: str
    field_lines: dict[FieldPath, int]

    def line_of(self, *path: str | int) -> int | None:
        """Line of a field in the config file, for error messages raised after loading."""
        return line_for(self.field_lines, path)


def config_hash(config: EvalConfig) -> str:
    """Hash of the config's meaning: comments and key order do not change it."""
    dumped = config.model_dump(mode="json")
    if config.review == ReviewPolicy():
        del dumped["review"]  # added in schema 3: a config without a review block keeps the hash it had
    del dumped["retention"]  # how long rows are kept changes no result: not part of what a run measured
    if not config.reproducibility:
        del dumped["reproducibility"]  # added in schema 7: a config without inputs keeps its hash
    # Added with repeats and the flakiness ledger: at their defaults a config keeps the hash it had.
    if config.runtime.repeats == 1:
        del dumped["runtime"]["repeats"]
    for name in ("flaky_window", "gate_flaky"):
        if dumped["regression"][name] == RegressionPolicy.model_fields[name].default:
            del dumped["regression"][name]
    canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def produced_metrics(config: EvalConfig) -> set[str]:
    """Every metric name a run of this config produces (what thresholds may refer to)."""
    names = set(catalogue.run_metric_names())
    for spec in config.scorers:
        names.update(f"{spec.key}.{suffix}" for suffix in catalogue.scorer_metric_suffixes())
        panel = judge_options(spec)
        if panel is not None and len(panel.judges) >= 2:
            names.update(f"{spec.key}.{suffix}" for suffix in catalogue.several_judges_suffixes())
        if config.runtime.repeats > 1:
            names.update(f"{spec.key}.{suffix}" for suffix in catalogue.repeats_suffixes())
    return names


def load_config(path: Path) -> LoadedConfig:
    """Read and validate one config file on its own (cross-file checks live in ``project``).

    Raises:
        InvalidInputError: naming the file, line and field of every problem found.
    """
    name = path.stem
    problems: list[InputProblem] = []
    if not CONFIG_NAME_PATTERN.match(name):
        problems.append(
            InputProblem(
                path, None, None, "config file names may use letters, digits, '-', '_' and '.' (at most 63 characters)"
            )
        )
    try:
        text = read_yaml_text(path)
    except OSError as exc:
        raise InvalidInputError([*problems, InputProblem(path, None, None, f"cannot read config: {exc}")]) from exc
    except YamlSyntaxError as exc:
        raise InvalidInputError([*problems, InputProblem(path, exc.line, None, str(exc))]) from exc
    try:
        data, lines = load_yaml_with_lines(text)
    except YamlSyntaxError as exc:
        field = format_field_path(exc.field) if exc.field else None
        raise InvalidInputError([*problems, InputProblem(path, exc.line, field, str(exc))]) from exc
    if not isinstance(data, dict):
        raise InvalidInputError([InputProblem(path, 1, None, "a config must be a YAML mapping")])
    try:
        config = EvalConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, path, lines))
        raise InvalidInputError(problems) from exc
    problems.extend(_internal_consistency(config, path, lines))
    if problems:
        raise InvalidInputError(problems)
    return LoadedConfig(name=name, path=path, config=config, content_hash=config_hash(config), field_lines=lines)


def _internal_consistency(config: EvalConfig, path: Path, lines: dict[FieldPath, int]) -> list[InputProblem]:
    problems: list[InputProblem] = []

    def add(loc: FieldPath, message: str) -> None:
        problems.append(InputProblem(path, line_for(lines, loc), format_field_path(loc), message))

    seen_scorers: dict[str, int] = {}
    for index, spec in enumerate(config.scorers):
        if spec.key in seen_scorers:
            add(
                ("scorers", index),
                f"duplicate scorer name {spec.key!r} (also scorers[{seen_scorers[spec.key]}]); "
                "give one of them a distinct 'name'",
            )
        seen_scorers.setdefault(spec.key, index)
    dataset_names = [ref.name for ref in config.datasets]
    for index, ref in enumerate(config.datasets):
        first = dataset_names.index(ref.name)
        if first == index:
            continue
        if PurePosixPath(config.datasets[first].path) == PurePosixPath(ref.path):
            add(("datasets", index, "path"), f"dataset {ref.name!r} is listed twice (also datasets[{first}])")
        else:
            # Rows, scorers' `datasets:` and reports key examples by the file name without .jsonl.
            add(
                ("datasets", index, "path"),
                f"dataset name {ref.name!r} (the file name without .jsonl) is also the name of "
                f"datasets[{first}] ({config.datasets[first].path}); rename one of the files",
            )
    for index, spec in enumerate(config.scorers):
        for where, message in scorer_for(spec).option_problems(spec):
            add(("scorers", index, *where), message)
    tokens_per_minute = config.runtime.tokens_per_minute
    if tokens_per_minute is not None:
        largest = max(model.max_tokens for model in config.all_models())
        if tokens_per_minute < largest:
            add(
                ("runtime", "tokens_per_minute"),
                f"{tokens_per_minute:g} is below a single call's max_tokens ({largest}): "
                "each call would wait minutes for its tokens",
            )
    for index, spec in enumerate(config.scorers):
        for position, dataset in enumerate(spec.datasets):
            if dataset not in dataset_names:
                add(
                    ("scorers", index, "datasets", position),
                    f"unknown dataset {dataset!r}; this config replays {sorted(dataset_names)}",
                )
    for position, scorer in enumerate(config.regression.scorers):
        if scorer not in seen_scorers:
            add(("regression", "scorers", position), f"unknown scorer {scorer!r}; scorers: {sorted(seen_scorers)}")
    judged = {spec.key for spec in config.scorers if judge_options(spec) is not None}
    for where, message in review_problems(config.review, deterministic=set(seen_scorers) - judged, judges=judged):
        add(("review", *where), message)
    metrics = produced_metrics(config)
    seen_checks: dict[str, int] = {}
    for index, threshold in enumerate(config.thresholds):
        if threshold.metric not in metrics:
            add(
                ("thresholds", index, "metric"),
                f"no scorer produces metric {threshold.metric!r}; known metrics: {', '.join(sorted(metrics))}",
            )
        if threshold.check_name in seen_checks:
            add(
                ("thresholds", index),
                f"duplicate threshold on {threshold.metric!r}"
                + (f" for tag {threshold.tag!r}" if threshold.tag else "")
                + f" (also thresholds[{seen_checks[threshold.check_name]}]); merge min/max into one entry",
            )
        seen_checks.setdefault(threshold.check_name, index)
    return problems


def check_specs_needed(configs: list[LoadedConfig]) -> dict[str, str]:
    """Threshold check names across all configs, with a description of each."""
    names: dict[str, str] = {}
    for loaded in configs:
        for threshold in loaded.config.thresholds:
            names.setdefault(
                threshold.check_name,
                f"Threshold gate: {threshold.metric}" + (f" on tag {threshold.tag}" if threshold.tag else ""),
            )
    return names
