"""The data directory as a whole: configs, datasets and rubrics validated together before any model call."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from eval_assets.config import CONFIG_NAME_PATTERN, LoadedConfig, load_config
from eval_assets.datasets import Dataset, Example, load_dataset, select_examples
from eval_assets.errors import InputProblem, InvalidInputError
from eval_assets.reproducibility import missing_inputs
from eval_assets.rubrics import Rubric, load_rubric
from eval_assets.scoring.registry import ScorerSpec, judge_options, scorer_for
from eval_assets.yaml_lines import YamlSyntaxError, load_yaml_with_lines, read_yaml_text

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


def _visible(folder: Path, pattern: str) -> list[Path]:
    # Hidden files (editor locks such as .#nightly.yaml, ._ files from macOS) are never inputs.
    return sorted(path for path in folder.glob(pattern) if not path.name.startswith("."))


def limit_plan(plan: EvalPlan, limit: int | None) -> EvalPlan:
    """The plan with only the first ``limit`` examples of each dataset (a smoke run); unchanged for None."""
    if limit is None:
        return plan
    kept: list[Example] = []
    taken: dict[str, int] = {}
    for example in plan.examples:
        if taken.get(example.dataset, 0) < limit:
            taken[example.dataset] = taken.get(example.dataset, 0) + 1
            kept.append(example)
    return EvalPlan(config=plan.config, datasets=plan.datasets, examples=tuple(kept), rubrics=plan.rubrics)


def config_names(data_dir: Path) -> list[str]:
    """Names of the config files that can be partition keys, cheap enough for Dagster's code location load.

    A file whose name is not a valid config name (``a|b.yaml``) is left out, so it cannot stop the
    definitions (and every other config) from loading; ``validate`` reports it.
    """
    return [
        path.stem
        for path in _visible(data_dir / CONFIGS_DIR, "*.yaml")
        if CONFIG_NAME_PATTERN.match(path.stem) and path.is_file()
    ]


def config_path(data_dir: Path, name: str) -> Path:
    """The file behind a config name."""
    return data_dir / CONFIGS_DIR / f"{name}.yaml"


def inside_data_dir(data_dir: Path, path: Path) -> bool:
    """Whether ``path``, symlinks resolved, is inside the data directory (whether or not it exists)."""
    try:
        return path.resolve().is_relative_to(data_dir.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


#: Said of a path that leaves the data directory, whatever is (or is not) there: nothing is read from it.
OUTSIDE = "resolves outside the data directory (a symlink?); inputs must live inside it, nothing was read"


def load_named_config(data_dir: Path, name: str) -> LoadedConfig:
    """Load the config called ``name``, after checking the name and where its file really is.

    Raises:
        InvalidInputError: a bad or colliding name, a file outside the data directory, or a bad config.
    """
    folder = data_dir / CONFIGS_DIR
    if not CONFIG_NAME_PATTERN.match(name):
        raise InvalidInputError(
            [
                InputProblem(
                    folder,
                    None,
                    None,
                    f"{name!r} is not a config name: a config is a file {CONFIGS_DIR}/<name>.yaml, and names use "
                    "letters, digits, '-', '_' and '.' (at most 63 characters, no '/')",
                )
            ]
        )
    path = config_path(data_dir, name)
    known = config_names(data_dir)
    if name not in known:  # exact: on a case-insensitive file system "GOOD" would open good.yaml
        listed = ", ".join(known) or "none"
        raise InvalidInputError([InputProblem(path, None, None, f"no such config (known configs: {listed})")])
    if not inside_data_dir(data_dir, path):
        raise InvalidInputError([InputProblem(path, None, None, OUTSIDE)])
    twins = [other for other in known if other != name and other.casefold() == name.casefold()]
    if twins:
        # Runs folders and reports are named after configs: on macOS and Windows these are one folder.
        raise InvalidInputError(
            [
                InputProblem(
                    path,
                    None,
                    None,
                    f"config name {name!r} differs from {', '.join(map(repr, twins))} only in case; "
                    "rename one of them (their run folders would collide on case-insensitive file systems)",
                )
            ]
        )
    return load_config(path)


def declared_schedule(data_dir: Path, name: str) -> object:
    """The raw ``schedule`` value of a config, read without validating the rest (for the nightly schedule).

    Returns:
        The value, or None when the document is a mapping without one.

    Raises:
        InvalidInputError: the file cannot be read or parsed, or is not a mapping.
    """
    path = config_path(data_dir, name)
    if not inside_data_dir(data_dir, path):
        raise InvalidInputError([InputProblem(path, None, None, OUTSIDE)])
    try:
        data, _ = load_yaml_with_lines(read_yaml_text(path))
    except (OSError, YamlSyntaxError) as exc:
        raise InvalidInputError([InputProblem(path, None, None, f"cannot read config: {exc}")]) from exc
    if not isinstance(data, dict):
        raise InvalidInputError([InputProblem(path, 1, None, "a config must be a YAML mapping")])
    return data.get("schedule")


def load_plan(data_dir: Path, name: str) -> EvalPlan:
    """Load and cross-validate one config with the datasets and rubrics it uses.

    Raises:
        InvalidInputError: every problem found, each naming its file, line and field.
    """
    loaded = load_named_config(data_dir, name)
    path = loaded.path
    config = loaded.config
    problems: list[InputProblem] = []
    datasets: dict[str, Dataset] = {}
    examples: list[Example] = []
    for index, ref in enumerate(config.datasets):
        dataset_path = data_dir / ref.path
        if not inside_data_dir(data_dir, dataset_path):
            where = loaded.line_of("datasets", index, "path")
            problems.append(InputProblem(path, where, f"datasets[{index}].path", f"{ref.path!r} {OUTSIDE}"))
            continue
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
    rubrics = load_rubrics(data_dir, loaded, problems)
    problems.extend(missing_inputs(data_dir, loaded))
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


def load_rubrics(data_dir: Path, loaded: LoadedConfig, problems: list[InputProblem]) -> dict[str, Rubric]:
    """The rubrics a config's judges use, by name; problems are added to ``problems``."""
    rubrics: dict[str, Rubric] = {}
    available = [p.stem for p in _visible(data_dir / PROMPTS_DIR, "*.md")]
    for index, spec in enumerate(loaded.config.scorers):
        panel = judge_options(spec)
        if panel is None or panel.rubric in rubrics:
            continue
        rubric_path = data_dir / PROMPTS_DIR / f"{panel.rubric}.md"
        if not inside_data_dir(data_dir, rubric_path):
            where = loaded.line_of("scorers", index, "rubric")
            problems.append(InputProblem(loaded.path, where, f"scorers[{index}].rubric", OUTSIDE))
            continue
        if not rubric_path.is_file():
            problems.append(
                InputProblem(
                    loaded.path,
                    loaded.line_of("scorers", index, "rubric"),
                    f"scorers[{index}].rubric",
                    f"unknown rubric {panel.rubric!r}; available in prompts/: {', '.join(available)}",
                )
            )
            continue
        try:
            rubrics[panel.rubric] = load_rubric(rubric_path)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
    return rubrics


def _needs_reference(spec: ScorerSpec, rubrics: dict[str, Rubric]) -> bool:
    panel = judge_options(spec)
    if panel is not None:
        # A judge needs a reference when its rubric shows one to the judge ({{reference}}).
        return rubrics[panel.rubric].requires_reference
    return scorer_for(spec).requires_reference(spec)


def _reference_problems(plan: EvalPlan) -> list[InputProblem]:
    """Examples a scorer cannot score: no reference where one is needed, or references it can never use.

    Blamed on the dataset line, before any model is called: otherwise the example silently scores 0.
    """
    problems = []
    loaded = plan.config
    for index, spec in enumerate(loaded.config.scorers):
        entry = scorer_for(spec)
        needed = _needs_reference(spec, plan.rubrics)
        where = f"{loaded.path.name} line {loaded.line_of('scorers', index)}"
        for example in plan.examples:
            if spec.datasets and example.dataset not in spec.datasets:
                continue
            path = plan.datasets[example.dataset].path
            if not example.references:
                if needed:
                    message = f"example {example.id!r} has no reference, but scorer {spec.key!r} ({where}) needs one"
                    problems.append(InputProblem(path, example.line, "reference", message))
                continue
            for position, message in entry.reference_problems(spec, example.references):
                single = position is None or len(example.references) == 1
                field = "reference" if single else f"reference[{position}]"
                problems.append(InputProblem(path, example.line, field, f"scorer {spec.key!r} ({where}) {message}"))
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
        problems.extend(ignored_config_files(data_dir))
        # Files no config uses yet must still be valid: the next config to use them should not discover it.
        for dataset_path in _visible(data_dir / DATASETS_DIR, "*.jsonl"):
            _collect(data_dir, dataset_path, load_dataset, problems)
        for rubric_path in _visible(data_dir / PROMPTS_DIR, "*.md"):
            _collect(data_dir, rubric_path, load_rubric, problems)
    if problems:
        raise InvalidInputError(problems)
    return plans


def ignored_config_files(data_dir: Path) -> list[InputProblem]:
    """Files in configs/ that are not loaded, each as a problem: bad names (no partition can hold them), ``.yml``."""
    problems = []
    for path in _visible(data_dir / CONFIGS_DIR, "*"):
        if path.suffix == ".yaml" and not path.is_file():
            problems.append(InputProblem(path, None, None, "not a regular file; this config is not loaded"))
        elif path.suffix == ".yaml" and not CONFIG_NAME_PATTERN.match(path.stem):
            problems.append(
                InputProblem(
                    path,
                    None,
                    None,
                    "config file names may use letters, digits, '-', '_' and '.' (at most 63 characters); "
                    "this file is not loaded",
                )
            )
        elif path.suffix.lower() in (".yml", ".yaml") and path.suffix != ".yaml":
            problems.append(InputProblem(path, None, None, "config files end in .yaml; this file is not loaded"))
    return problems


def _collect(data_dir: Path, path: Path, load: Callable[[Path], object], problems: list[InputProblem]) -> None:
    found = None
    if not inside_data_dir(data_dir, path):
        found = InputProblem(path, None, None, OUTSIDE)
    elif not path.is_file():  # a directory or a named pipe (reading one would wait forever)
        found = InputProblem(path, None, None, "not a regular file; nothing was read")
    if found is not None:
        if found not in problems:
            problems.append(found)
        return
    try:
        load(path)
    except InvalidInputError as exc:
        problems.extend(p for p in exc.problems if p not in problems)
