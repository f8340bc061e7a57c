"""From what a format module read to the files of an import: datasets, a config and judge prompts.

Scorers here apply to whole datasets, with the example's references, while other tools attach graders to
each test. So examples are grouped by the set of scorers their graders map onto: one group is one
dataset, and each scorer lists the datasets it applies to. A source whose tests all carry the same kinds
of graders (the usual case) gives one dataset named after the import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from eval_assets.config_base import SCORER_NAME_PATTERN
from eval_assets.datasets import DATASET_NAME_PATTERN
from eval_assets.importing.model import Case, Grader, Parsed, Unmapped
from eval_assets.importing.pending import unavailable
from eval_assets.outcome import UsageError
from eval_assets.scoring.registry import UnknownScorerError, scorer_named

#: Scorer of sources that carry no graders (inspect samples, dataset exports), unless ``--scorer`` says.
DEFAULT_SCORER = "contains"
DEFAULT_MODEL = "offline/assistant-v1"
DEFAULT_JUDGE = "offline/judge"
#: How many places the summary names for one kind of unmapped grader before counting the rest.
_SHOWN_PLACES = 5


@dataclass(frozen=True)
class ImportOptions:
    """What the user chose for an import.

    Attributes:
        name: Name of the config (and of the dataset, or prefix of the datasets).
        model: Model under test written into the config.
        judge: Judge model of every model-graded grader.
        scorers: Scorers of a source without graders (default: ``contains``).
        origin: Said in the config's header, e.g. ``promptfoo promptfooconfig.yaml``.
    """

    name: str
    model: str = DEFAULT_MODEL
    judge: str = DEFAULT_JUDGE
    scorers: tuple[str, ...] = ()
    origin: str = ""


@dataclass
class ImportPlan:
    """The files of an import, not yet written, and what mapped and what did not.

    Attributes:
        name: The config's name.
        files: Path relative to the data directory -> file text (datasets, prompts, then the config).
        mapped: One line per kind of grader or field carried over.
        unmapped: Every field or grader left out, with the reason.
        examples: Examples written.
    """

    name: str
    files: dict[str, str] = field(default_factory=dict)
    mapped: list[str] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    examples: int = 0

    def unmapped_lines(self) -> list[str]:
        """The unmapped entries grouped by what and why, naming up to five places each."""
        groups: dict[tuple[str, str], list[str]] = {}
        for entry in self.unmapped:
            groups.setdefault((entry.what, entry.reason), []).append(entry.where)
        lines = []
        for (what, reason), all_places in groups.items():
            places = list(dict.fromkeys(all_places))
            shown = ", ".join(place for place in places[:_SHOWN_PLACES] if place)
            more = f" and {len(places) - _SHOWN_PLACES} more" if len(places) > _SHOWN_PLACES else ""
            where = f" ({shown}{more})" if shown else ""
            lines.append(f"{what}{where}: {reason}")
        return lines


@dataclass
class _Spec:
    """One configured scorer: the graders of that signature across all examples."""

    grader: Grader
    key: str = ""
    datasets: list[str] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)


def build_plan(parsed: Parsed, options: ImportOptions) -> ImportPlan:
    """The files of an import.

    Raises:
        UsageError: for a ``--scorer`` that cannot score imported examples, or when nothing can be scored.
    """
    plan = ImportPlan(name=options.name, unmapped=list(parsed.unmapped))
    cases = parsed.cases if parsed.has_graders else [_with_default_graders(c, options.scorers) for c in parsed.cases]
    if not parsed.has_graders and options.scorers == ():
        plan.mapped.append(f"the source has no graders: scored with {DEFAULT_SCORER} (choose with --scorer)")
    specs: dict[str, _Spec] = {}
    rows: list[tuple[Case, tuple[str, ...] | None, tuple[str, ...]]] = []
    for case in cases:
        references, signatures = _resolve(case, specs, plan.unmapped)
        rows.append((case, references, signatures))
    if not specs:
        raise UsageError(
            "nothing to score: no grader of the source maps onto a scorer here"
            + ("" if not plan.unmapped else " (see what was not mapped below)\n  " + "\n  ".join(plan.unmapped_lines()))
        )
    _name_specs(specs)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for case, references, signatures in rows:
        record: dict[str, Any] = {"id": case.id, "input": case.input}
        if references:
            record["reference"] = references[0] if len(references) == 1 else list(references)
        if case.tags:
            record["tags"] = list(case.tags)
        if case.metadata:
            record["metadata"] = dict(case.metadata)
        groups.setdefault(tuple(sorted(signatures, key=lambda s: specs[s].key)), []).append(record)
    names = _dataset_names(options.name, [[specs[s].key for s in group] for group in groups])
    for (group, records), dataset in zip(groups.items(), names, strict=True):
        for signature in group:
            specs[signature].datasets.append(dataset)
        if not group:
            plan.mapped.append(
                f"{len(records)} example(s) with no grader that could be kept -> {dataset} (no scorer reads it; "
                "kept so no example is lost)"
            )
        plan.files[f"datasets/{dataset}.jsonl"] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        plan.examples += len(records)
    for spec in specs.values():
        if spec.grader.rubric is not None:
            plan.files[f"prompts/{options.name}-{spec.key}.md"] = spec.grader.rubric.render()
    config = _config(options, names, list(specs.values()), parsed.description)
    plan.files[f"configs/{options.name}.yaml"] = _config_text(config, options, plan)
    plan.mapped.extend(_mapped_lines(list(specs.values()), len(names) > 1))
    plan.mapped.extend(parsed.kept)
    return plan


def _with_default_graders(case: Case, chosen: Sequence[str]) -> Case:
    graders = []
    for scorer in chosen or (DEFAULT_SCORER,):
        try:
            entry = scorer_named(scorer)
        except UnknownScorerError as exc:
            raise UsageError(f"--scorer: {exc}") from None
        if entry.kind != "deterministic":
            raise UsageError(f"--scorer {scorer}: a judge needs a rubric; add it to the config after importing")
        needs = entry.needs_reference if isinstance(entry.needs_reference, bool) else True
        if needs and not case.reference:
            continue  # no target: the example is kept, unscored by this scorer
        graders.append(Grader(label=f"--scorer {scorer}", where="", scorer=scorer, reference=case.reference))
    return Case(case.id, case.input, case.where, case.reference, case.tags, case.metadata, tuple(graders))


def _resolve(
    case: Case, specs: dict[str, _Spec], unmapped: list[Unmapped]
) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """The example's references and the signatures of its scorers; what cannot be kept goes to ``unmapped``."""
    references: tuple[str, ...] | None = None
    owner = ""
    signatures: list[str] = []
    for grader in case.graders:
        # The conflict first: it does not depend on what is installed here, so the summary does not either.
        if grader.reference is not None and references is not None and references != grader.reference:
            unmapped.append(
                Unmapped(
                    grader.label,
                    grader.where,
                    f"this example's reference already holds {_short(references)} for {owner}, and an "
                    "example has one set of references for all its scorers",
                )
            )
            continue
        reason = unavailable(grader.scorer)
        if reason is not None:
            unmapped.append(Unmapped(grader.label, grader.where, reason))
            continue
        if grader.reference is not None and references is None:
            references, owner = grader.reference, grader.label
        signature = grader.signature()
        if signature not in signatures:
            signatures.append(signature)
        spec = specs.setdefault(signature, _Spec(grader))
        spec.labels[grader.label] = spec.labels.get(grader.label, 0) + 1
    if references is None:
        references = case.reference
    return references, tuple(signatures)


def _short(references: tuple[str, ...]) -> str:
    text = " | ".join(references)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _name_specs(specs: dict[str, _Spec]) -> None:
    """A unique scorer name per spec: the source's grader name where it is a valid name."""
    taken: set[str] = set()
    for spec in specs.values():
        hint = re.sub(r"[^a-z0-9_]+", "_", (spec.grader.name_hint or spec.grader.scorer).lower()).strip("_")
        if not re.fullmatch(SCORER_NAME_PATTERN, hint):
            hint = spec.grader.scorer
        hint = hint[:58]
        key, number = hint, 2
        while key in taken:
            key, number = f"{hint}_{number}", number + 1
        taken.add(key)
        spec.key = key


def _dataset_names(name: str, groups: list[list[str]]) -> list[str]:
    """One group: the import's name. Several: the name and the group's scorers (numbered when that is unusable)."""
    if len(groups) == 1:
        return [name]
    names: list[str] = []
    for number, keys in enumerate(groups, start=1):
        candidate = f"{name}-{'-'.join(keys)}" if keys else f"{name}-unscored"
        if not DATASET_NAME_PATTERN.match(candidate) or candidate in names:
            candidate = f"{name}-{number}"
        names.append(candidate)
    return names


def _config(options: ImportOptions, datasets: list[str], specs: list[_Spec], description: str) -> dict[str, Any]:
    scorers = []
    for spec in specs:
        grader = spec.grader
        entry: dict[str, Any] = {"scorer": grader.scorer}
        if spec.key != grader.scorer:
            entry["name"] = spec.key
        entry.update(grader.options)
        if grader.rubric is not None:
            entry["rubric"] = f"{options.name}-{spec.key}"
            entry["judges"] = [{"id": options.judge, "temperature": 0, "max_tokens": 400}]
        if len(spec.datasets) < len(datasets):
            entry["datasets"] = list(spec.datasets)
        if grader.pass_score is not None:
            entry["pass_score"] = grader.pass_score
        scorers.append(entry)
    return {
        "description": description or f"Imported from {options.origin}.",
        "schedule": "manual",
        "model": {"id": options.model, "temperature": 0, "max_tokens": 400},
        "datasets": [{"path": f"datasets/{name}.jsonl"} for name in datasets],
        "scorers": scorers,
    }


def _config_text(config: dict[str, Any], options: ImportOptions, plan: ImportPlan) -> str:
    """The config as YAML, headed by where it came from and what was left out (kept in git with it)."""
    header = [f"# Imported with `eval-assets import` from {options.origin}." if options.origin else "# Imported."]
    lines = plan.unmapped_lines()
    if lines:
        header.append("# Not imported:")
        header.extend(f"#   - {line}" for line in lines)
    body = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(header) + "\n" + body


def _mapped_lines(specs: list[_Spec], several_datasets: bool) -> list[str]:
    lines = []
    for spec in specs:
        grader = spec.grader
        settings = [f"{key}={json.dumps(value)}" for key, value in grader.options.items() if key != "json_schema"]
        if "json_schema" in grader.options:
            settings.append("json_schema=...")
        if grader.pass_score is not None:
            settings.append(f"pass_score={grader.pass_score:g}")
        target = grader.scorer + (f" as {spec.key}" if spec.key != grader.scorer else "")
        target += f" ({', '.join(settings)})" if settings else ""
        sources = ", ".join(f"{label} x{count}" for label, count in spec.labels.items())
        where = f" on {', '.join(spec.datasets)}" if several_datasets else ""
        lines.append(f"{sources} -> {target}{where}" + (f"; {grader.note}" if grader.note else ""))
    return lines
