"""The scorer registry: every fact about a scorer, declared once, beside its code.

Each module in :mod:`eval_assets.scoring.scorers` registers one family of scorers (inspect_ai's
``@scorer`` is the model): its name, version, options model, whether it needs a reference, and its score
function. Everything else asks the registry:

* the config's ``scorers[]`` is a pydantic discriminated union on ``scorer`` built from the registered
  options models (:func:`scorer_spec_type`), so an option a scorer does not take is an error with
  file:line:field, and cannot change the config hash;
* the score rows record :func:`scorer_args` (every option plus ``pass_score``) and the scorer's version;
* the cross-file checks ask :meth:`Scorer.requires_reference` and :meth:`Scorer.reference_problems`;
* judges (``kind="judge"``: ``rubric_judge``, ``label_model``) call models, so the scoring stage treats
  them apart, but through :func:`judge_options`, never by comparing names; what a judge is asked and how
  its answer is read are methods of its options model (:meth:`JudgeOptions.answer_instructions`,
  :meth:`JudgeOptions.parse_verdict`).

Registration is discovery by import: the first lookup imports every module of the scorers package, in
name order. Adding a scorer is one new module there plus its table test, with no other edit. An
installable plugin mechanism (entry points) was not chosen: it needs a reinstall for every new scorer,
and scorers here are part of the evaluated contract, reviewed in this repository.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, cast

from pydantic import Field, create_model

from eval_assets.config_base import RUBRIC_NAME_PATTERN, SCORER_NAME_PATTERN, Label, ModelSpec, StrictModel
from eval_assets.scoring.judge import JudgeVerdict, parse_judge_answer
from eval_assets.scoring.results import References, ScoreResult

#: A field path inside one scorer's entry (``("json_schema", "properties", "a")``), for line numbers.
OptionPath = tuple[str | int, ...]
#: ``(path inside the scorer's entry, message)``: a problem found in a scorer's options.
OptionProblem = tuple[OptionPath, str]
#: ``(position in the example's references or None for all of them, message)``.
ReferenceProblem = tuple[int | None, str]
ScorerKind = Literal["deterministic", "judge"]


class ScorerOptions(StrictModel):
    """Base of every scorer's options model: strict (unknown keys are errors), frozen, finite floats.

    Every field needs a ``description``: it is the documentation users read (README, error messages).
    """


class ScorerSpec(StrictModel):
    """The fields every configured scorer has; each registered scorer adds its options to these."""

    scorer: str = Field(description="Which registered scorer to apply, e.g. contains or rubric_judge.")
    name: str | None = Field(
        default=None,
        pattern=SCORER_NAME_PATTERN,
        description="Unique name of this scorer in the config (default: the scorer); prefixes its metrics.",
    )
    datasets: list[Label] = Field(
        default_factory=list, description="Dataset names this scorer applies to (default: all)."
    )
    pass_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Normalized score at or above which an example passes."
    )

    @property
    def key(self) -> str:
        """The name metrics and rows use for this scorer."""
        return self.name or self.scorer


#: Fields of every scorer entry; an options model may not redefine them.
COMMON_FIELDS: frozenset[str] = frozenset(ScorerSpec.model_fields)


class JudgeOptions(ScorerOptions):
    """What every judge scorer (``kind="judge"``) takes: a rubric and the models that apply it."""

    rubric: str = Field(
        pattern=RUBRIC_NAME_PATTERN,
        description="The rubric's file name in prompts/, without .md (e.g. rubric-tone).",
    )
    judges: list[ModelSpec] = Field(
        min_length=1,
        max_length=16,
        description="The judge model(s), e.g. [{id: offline/judge}]; their normalized scores are averaged.",
    )
    disagreement_margin: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="With several judges: flag an example when their normalized scores differ by more.",
    )

    def answer_instructions(self) -> str:
        """Text sent after the rendered rubric; empty when the rubric itself says how to answer."""
        return ""

    def parse_verdict(self, text: str, *, scale_min: float, scale_max: float) -> JudgeVerdict:
        """Read one judge's answer; raises :class:`~eval_assets.scoring.judge.JudgeParseError` if unusable.

        The default reads a rubric verdict ``{"score": ..., "rationale": ...}`` on the rubric's scale.
        """
        return parse_judge_answer(text, scale_min=scale_min, scale_max=scale_max)


OptionsT = TypeVar("OptionsT", bound=ScorerOptions)
ScoreFunction = Callable[[str, References, Any], ScoreResult]


@dataclass(frozen=True)
class Scorer:
    """One registered scorer.

    Attributes:
        name: What configs write as ``scorer:``; also the default metric prefix.
        version: Version of the scoring logic, stored with every score; bump it whenever the same output
            could score differently.
        description: One line for users (the score function's docstring).
        options: The options model (strict, a description on every field).
        spec_model: ``options`` plus the common fields, as the config validates it.
        kind: ``deterministic`` (a pure function of the output) or ``judge`` (calls models).
        score: The score function ``(output, references, options) -> ScoreResult``; None for judges.
        needs_reference: Whether every example must have a reference, or a function of the options.
        graded: Whether scores take values between 0 and 1 (compared by their mean, not pass/fail flips).
        check_options: Problems in the options beyond what pydantic checks (paths for line numbers).
        check_references: Problems with an example's references for this scorer (a reference it can never
            use), found before any model is called.
        module: The module that registered it.
        version_of: The version of one configured entry, when it depends on the options (``custom``: the
            hash of the user's function's source); None when ``version`` is the whole story.
    """

    name: str
    version: str
    description: str
    options: type[ScorerOptions]
    spec_model: type[ScorerSpec]
    kind: ScorerKind
    score: ScoreFunction | None
    needs_reference: bool | Callable[[Any], bool]
    graded: bool
    check_options: Callable[[Any], Iterable[OptionProblem]] | None
    check_references: Callable[[Any, References], Iterable[ReferenceProblem]] | None
    module: str
    version_of: Callable[[Any], str] | None = None

    def version_for(self, spec: ScorerSpec) -> str:
        """The version of this configured entry's logic, stored with every score it gives."""
        return self.version_of(spec) if self.version_of else self.version

    def requires_reference(self, spec: ScorerSpec) -> bool:
        """Whether every example this scorer applies to must have a reference."""
        return self.needs_reference if isinstance(self.needs_reference, bool) else self.needs_reference(spec)

    def option_problems(self, spec: ScorerSpec) -> list[OptionProblem]:
        """Problems in a configured scorer's options that pydantic cannot see (e.g. an unusable schema)."""
        return list(self.check_options(spec)) if self.check_options else []

    def reference_problems(self, spec: ScorerSpec, references: References) -> list[ReferenceProblem]:
        """Problems with one example's references for this configured scorer."""
        return list(self.check_references(spec, references)) if self.check_references else []

    def args(self, spec: ScorerSpec) -> dict[str, Any]:
        """The arguments that determine this scorer's result: every option, and ``pass_score``."""
        dumped = spec.model_dump(mode="json", include=set(self.options.model_fields))
        return {**dumped, "pass_score": spec.pass_score}


class UnknownScorerError(LookupError):
    """No scorer of that name is registered; the message lists the known ones."""


class ScorerRegistry:
    """Scorers by name. The module-level functions below use the one registry of the package.

    Args:
        package: Package whose modules register scorers when imported; imported at the first lookup.
            None for a registry filled by hand (tests).
    """

    def __init__(self, package: str | None = None) -> None:
        self._package = package
        self._scorers: dict[str, Scorer] = {}
        self._discovered = package is None
        self._union: Any = None

    def register(
        self,
        *,
        name: str,
        version: str,
        options: type[OptionsT],
        needs_reference: bool | Callable[[OptionsT], bool],
        score: Callable[[str, References, OptionsT], ScoreResult] | None = None,
        kind: ScorerKind = "deterministic",
        description: str = "",
        graded: bool = False,
        check_options: Callable[[OptionsT], Iterable[OptionProblem]] | None = None,
        check_references: Callable[[OptionsT, References], Iterable[ReferenceProblem]] | None = None,
        version_of: Callable[[OptionsT], str] | None = None,
    ) -> Scorer:
        """Add a scorer; see :class:`Scorer` for the arguments.

        Raises:
            RuntimeError: After the config union was built (the new scorer could never be configured).
            ValueError: For a bad name, an empty version, a duplicate, or an options model that breaks
                the rules (a common field redefined, a field without a description).
        """
        if self._union is not None:
            raise RuntimeError(
                f"scorer {name!r} registered after the config's scorer union was built; put its module in "
                f"{self._package or 'the scorers package'} so it is imported at discovery"
            )
        _check_declaration(name, version, options, kind, score)
        if name in self._scorers:
            raise ValueError(f"scorer {name!r} is registered twice (first by {self._scorers[name].module})")
        text = description or _first_line(score.__doc__ if score else None) or _first_line(options.__doc__)
        if not text:
            raise ValueError(f"scorer {name!r} needs a description (a docstring on its score function)")
        # The spec is both a ScorerSpec (common fields) and an instance of the options model, so the score
        # function receives it as its options. Created at runtime: pydantic's stubs cannot express a
        # base tuple mixing two model types.
        spec_model = create_model(
            "".join(part.capitalize() for part in name.split("_")) + "Spec",
            __base__=cast(Any, (ScorerSpec, options)),
            __module__=options.__module__,
            __doc__=text,
            scorer=(cast(Any, Literal)[name], Field(description=f"{name}: {text}")),
        )
        entry = Scorer(
            name=name,
            version=version,
            description=text,
            options=options,
            spec_model=cast(type[ScorerSpec], spec_model),
            kind=kind,
            score=score,
            needs_reference=needs_reference,
            graded=graded or kind == "judge",
            check_options=check_options,
            check_references=check_references,
            module=score.__module__ if score is not None else options.__module__,
            version_of=version_of,
        )
        self._scorers[name] = entry
        return entry

    def all(self) -> tuple[Scorer, ...]:
        """Every registered scorer, by name."""
        self._discover()
        return tuple(self._scorers[name] for name in sorted(self._scorers))

    def names(self) -> list[str]:
        """Every registered scorer's name, sorted."""
        return [entry.name for entry in self.all()]

    def get(self, name: str) -> Scorer:
        """The scorer called ``name``.

        Raises:
            UnknownScorerError: naming the known scorers.
        """
        self._discover()
        try:
            return self._scorers[name]
        except KeyError:
            raise UnknownScorerError(f"unknown scorer {name!r}; known scorers: {', '.join(self.names())}") from None

    def spec_type(self) -> Any:
        """The type of one ``scorers[]`` entry: a union of every scorer's spec, discriminated by ``scorer``.

        Built once; no scorer can be registered afterwards (it could never be configured).
        """
        if self._union is None:
            models = tuple(entry.spec_model for entry in self.all())
            if not models:
                raise RuntimeError("no scorer is registered")
            # typing.Union over a runtime tuple: the members are only known once the modules are imported.
            union = models[0] if len(models) == 1 else Union[models]  # noqa: UP007
            self._union = Annotated[union, Field(discriminator="scorer")] if len(models) > 1 else union
        return self._union

    def _discover(self) -> None:
        if self._discovered or self._package is None:
            return
        self._discovered = True  # before importing: a module that looks something up must not recurse
        package = importlib.import_module(self._package)
        for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
            importlib.import_module(f"{self._package}.{module.name}")


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""


def _check_declaration(
    name: str, version: str, options: type[ScorerOptions], kind: ScorerKind, score: object | None
) -> None:
    if not re.fullmatch(SCORER_NAME_PATTERN, name):
        raise ValueError(f"scorer name {name!r} must be lowercase letters, digits and '_'")
    if not (isinstance(version, str) and version.strip()):
        raise ValueError(f"scorer {name!r} needs a non-empty version string")
    if not (isinstance(options, type) and issubclass(options, ScorerOptions)):
        raise ValueError(f"options of scorer {name!r} must subclass ScorerOptions")
    clash = COMMON_FIELDS & set(options.model_fields)
    if clash:
        raise ValueError(f"options of scorer {name!r} redefine common fields: {', '.join(sorted(clash))}")
    undocumented = [field for field, info in options.model_fields.items() if not info.description]
    if undocumented:
        raise ValueError(f"options of scorer {name!r} need a description on: {', '.join(undocumented)}")
    if kind == "judge":
        if not issubclass(options, JudgeOptions) or score is not None:
            raise ValueError(f"judge scorer {name!r} takes JudgeOptions and no score function")
    elif score is None:
        raise ValueError(f"deterministic scorer {name!r} needs a score function")


#: The registry of the package: filled by the modules of ``eval_assets.scoring.scorers``.
REGISTRY = ScorerRegistry("eval_assets.scoring.scorers")


def register_scorer(
    *,
    name: str,
    version: str,
    options: type[OptionsT],
    needs_reference: bool | Callable[[OptionsT], bool],
    graded: bool = False,
    check_options: Callable[[OptionsT], Iterable[OptionProblem]] | None = None,
    check_references: Callable[[OptionsT, References], Iterable[ReferenceProblem]] | None = None,
    version_of: Callable[[OptionsT], str] | None = None,
) -> Callable[[Callable[[str, References, OptionsT], ScoreResult]], Callable[[str, References, OptionsT], ScoreResult]]:
    """Decorator registering a deterministic score function ``(output, references, options)``.

    The function's docstring (first line) is the scorer's description. See :class:`Scorer`.
    """

    def decorate(
        score: Callable[[str, References, OptionsT], ScoreResult],
    ) -> Callable[[str, References, OptionsT], ScoreResult]:
        REGISTRY.register(
            name=name,
            version=version,
            options=options,
            needs_reference=needs_reference,
            score=score,
            graded=graded,
            check_options=check_options,
            check_references=check_references,
            version_of=version_of,
        )
        return score

    return decorate


def register_judge(
    *,
    name: str,
    version: str,
    options: type[JudgeOptions],
    description: str,
    check_options: Callable[[Any], Iterable[OptionProblem]] | None = None,
) -> Scorer:
    """Register a judge scorer: the scoring stage sends each output to its judges with its rubric.

    Whether it needs a reference is up to the rubric (its ``requires_reference`` front matter).
    """
    return REGISTRY.register(
        name=name,
        version=version,
        options=options,
        needs_reference=False,
        kind="judge",
        description=description,
        check_options=check_options,
    )


def all_scorers() -> tuple[Scorer, ...]:
    """Every registered scorer, by name."""
    return REGISTRY.all()


def scorer_named(name: str) -> Scorer:
    """The registered scorer called ``name``; :class:`UnknownScorerError` lists the known ones."""
    return REGISTRY.get(name)


def scorer_for(spec: ScorerSpec) -> Scorer:
    """The registered scorer a configured entry uses."""
    return REGISTRY.get(spec.scorer)


def scorer_spec_type() -> Any:
    """The pydantic type of one ``scorers[]`` entry of a config (see :meth:`ScorerRegistry.spec_type`)."""
    return REGISTRY.spec_type()


def scorer_args(spec: ScorerSpec) -> dict[str, Any]:
    """The arguments that determine a configured scorer's result, stored with every score."""
    return scorer_for(spec).args(spec)


def scorer_version(spec: ScorerSpec) -> str:
    """Version of a configured scorer's logic, stored with every score (``custom``: with its source hash)."""
    return scorer_for(spec).version_for(spec)


def scorer_versions() -> dict[str, str]:
    """Scorer name -> version, e.g. for a code version that changes when any scorer changes."""
    return {entry.name: entry.version for entry in all_scorers()}


def judge_options(spec: ScorerSpec) -> JudgeOptions | None:
    """The rubric and judges of a judge scorer; None for a deterministic scorer."""
    if scorer_for(spec).kind != "judge":
        return None
    if not isinstance(spec, JudgeOptions):  # guaranteed by register(): a judge's options are JudgeOptions
        raise TypeError(f"judge scorer {spec.scorer!r} has no JudgeOptions")
    return spec


def is_graded(name: str) -> bool:
    """Whether scores of the scorer called ``name`` are graded (judges); False for names no longer registered."""
    try:
        return scorer_named(name).graded
    except UnknownScorerError:
        return False
