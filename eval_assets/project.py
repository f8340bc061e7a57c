"""The data directory as a whole: configs, datasets and rubrics validated together before any model call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from eval_assets.config import SCORERS_NEEDING_REFERENCE, LoadedConfig, ScorerSpec, load_config
from eval_assets.datasets import Dataset, Example, load_dataset, select_examples
from eval_assets.errors import InputProblem, InvalidInputError
from eval_assets.rubrics import Rubric, load_rubric

CONFIGS_DIR = "configs"
DATASETS_DIR = "datasets"
PROMPTS_DIR = "prompts"


@dataclass(frozen=True)
class EvalPlan:
    """Everything one run of one config needs, validated across files.

    Attributes:
        config: The run config.
        datasets: Datasets replayed, by name.
        examples: Examples kept by the config's filters, in config then file order.
        rubrics: Rubrics used by the config's judges, by name.
    """

    config: LoadedConfig
    datasets: dict[str, Dataset]
    examples: tuple[Example, ...]
    rubrics: dict[str, Rubric]

    def scorers_for(self, example: Example) -> list[ScorerSpec]:
        """The scorers that apply to an example (a scorer without ``datasets`` applies to all)."""
        return [s for s in self.config.config.scorers if not s.datasets or example.dataset in s.datasets]


def config_names(data_dir: Path) -> list[str]:
    """Names of the config files, cheap enough to run when Dagster loads the code location."""
    return sorted(path.stem for path in (data_dir / CONFIGS_DIR).glob("*.yaml"))


def config_path(data_dir: Path, name: str) -> Path:
    """The file behind a config name."""
    return data_dir / CONFIGS_DIR / f"{name}.yaml"


def load_plan(data_dir: Path, name: str) -> EvalPlan:
    """Load and cross-validate one config with the datasets and rubrics it uses.

    Raises:
        InvalidInputError: every problem found, each naming its file, line and field.
    """
    path = config_path(data_dir, name)
    if not path.exists():
        known = ", ".join(config_names(data_dir)) or "none"
        raise InvalidInputError([InputProblem(path, None, None, f"no such config (known configs: {known})")])
    loaded = load_config(path)
    config = loaded.config
    problems: list[InputProblem] = []
    datasets: dict[str, Dataset] = {}
    examples: list[Example] = []
    for index, ref in enumerate(config.datasets):
        dataset_path = data_dir / ref.path
        if not dataset_path.is_file():
            problems.append(
                InputProblem(
                    path,
                    loaded.line_of("datasets", index, "path"),
                    f"datasets[{index}].path",
                    f"dataset file {dataset_path} does not exist",
                )
            )
            continue
        try:
            dataset = load_dataset(dataset_path)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
            continue
        datasets[dataset.name] = dataset
        for key in ("include_tags", "exclude_tags"):
            for position, tag in enumerate(getattr(ref, key)):
                if tag not in dataset.tags:
                    problems.append(
                        InputProblem(
                            path,
                            loaded.line_of("datasets", index, key, position),
                            f"datasets[{index}].{key}[{position}]",
                            f"tag {tag!r} is not used in {dataset_path.name} "
                            f"(tags there: {', '.join(sorted(dataset.tags))})",
                        )
                    )
        selected = select_examples(
            dataset, include_tags=ref.include_tags, exclude_tags=ref.exclude_tags, limit=ref.limit
        )
        if not selected:
            problems.append(
                InputProblem(
                    path,
                    loaded.line_of("datasets", index),
                    f"datasets[{index}]",
                    f"no example of {dataset_path.name} is left after the tag filters",
                )
            )
        examples.extend(selected)
    rubrics = _load_rubrics(data_dir, loaded, problems)
    pinned = config.baseline.config
    if pinned is not None and pinned not in config_names(data_dir):
        # A typo here would silently turn the regression gate off ("no baseline yet") every night.
        problems.append(
            InputProblem(
                path,
                loaded.line_of("baseline", "config"),
                "baseline.config",
                f"no config named {pinned!r} (known: {', '.join(config_names(data_dir))})",
            )
        )
    plan = EvalPlan(config=loaded, datasets=datasets, examples=tuple(examples), rubrics=rubrics)
    if not problems:
        problems.extend(_reference_problems(plan))
        problems.extend(_threshold_tag_problems(plan))
    if problems:
        raise InvalidInputError(problems)
    return plan


def _load_rubrics(data_dir: Path, loaded: LoadedConfig, problems: list[InputProblem]) -> dict[str, Rubric]:
    rubrics: dict[str, Rubric] = {}
    available = sorted(p.stem for p in (data_dir / PROMPTS_DIR).glob("*.md"))
    for index, spec in enumerate(loaded.config.scorers):
        if spec.rubric is None or spec.rubric in rubrics:
            continue
        rubric_path = data_dir / PROMPTS_DIR / f"{spec.rubric}.md"
        if not rubric_path.is_file():
            problems.append(
                InputProblem(
                    loaded.path,
                    loaded.line_of("scorers", index, "rubric"),
                    f"scorers[{index}].rubric",
                    f"unknown rubric {spec.rubric!r}; available in prompts/: {', '.join(available)}",
                )
            )
            continue
        try:
            rubrics[spec.rubric] = load_rubric(rubric_path)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
    return rubrics


def _needs_reference(spec: ScorerSpec, rubrics: dict[str, Rubric]) -> bool:
    if spec.scorer in SCORERS_NEEDING_REFERENCE:
        return True
    if spec.scorer == "regex_match":
        return spec.pattern is None
    return spec.scorer == "rubric_judge" and spec.rubric is not None and rubrics[spec.rubric].requires_reference


def _reference_problems(plan: EvalPlan) -> list[InputProblem]:
    problems = []
    loaded = plan.config
    for index, spec in enumerate(loaded.config.scorers):
        if not _needs_reference(spec, plan.rubrics):
            continue
        for example in plan.examples:
            if example.references or (spec.datasets and example.dataset not in spec.datasets):
                continue
            problems.append(
                InputProblem(
                    plan.datasets[example.dataset].path,
                    example.line,
                    "reference",
                    f"example {example.id!r} has no reference, but scorer {spec.key!r} "
                    f"({loaded.path.name} line {loaded.line_of('scorers', index)}) needs one",
                )
            )
    return problems


def _threshold_tag_problems(plan: EvalPlan) -> list[InputProblem]:
    tags = {tag for example in plan.examples for tag in example.tags}
    loaded = plan.config
    return [
        InputProblem(
            loaded.path,
            loaded.line_of("thresholds", index, "tag"),
            f"thresholds[{index}].tag",
            f"no example in this run carries tag {threshold.tag!r}",
        )
        for index, threshold in enumerate(loaded.config.thresholds)
        if threshold.tag is not None and threshold.tag not in tags
    ]


def validate_data_dir(data_dir: Path, *, names: Iterable[str] | None = None) -> dict[str, EvalPlan]:
    """Validate every (or the named) config together with its datasets and rubrics, and every other file.

    Raises:
        InvalidInputError: with all problems across all files.
    """
    problems: list[InputProblem] = []
    plans: dict[str, EvalPlan] = {}
    selected = list(names) if names is not None else config_names(data_dir)
    if not selected:
        problems.append(InputProblem(data_dir / CONFIGS_DIR, None, None, "no config files (*.yaml) found"))
    for name in selected:
        try:
            plans[name] = load_plan(data_dir, name)
        except InvalidInputError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    if names is None:
        # Files no config uses yet must still be valid: the next config to use them should not discover it.
        for dataset_path in sorted((data_dir / DATASETS_DIR).glob("*.jsonl")):
            _collect(lambda p=dataset_path: load_dataset(p), problems)
        for rubric_path in sorted((data_dir / PROMPTS_DIR).glob("*.md")):
            _collect(lambda p=rubric_path: load_rubric(p), problems)
    if problems:
        raise InvalidInputError(problems)
    return plans


def _collect(load: object, problems: list[InputProblem]) -> None:
    try:
        load()  # type: ignore[operator]
    except InvalidInputError as exc:
        problems.extend(p for p in exc.problems if p not in problems)
