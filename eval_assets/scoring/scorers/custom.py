"""``custom``: a score function from the user's own code, named ``package.module:function``.

What promptfoo's python asserts and inspect's ``@scorer`` give their users: any check a team can write in
Python, configured like every other scorer::

    scorers:
      - scorer: custom
        name: cites_order_id
        function: support_checks.orders:cites_order_id   # importable: installed, or on PYTHONPATH
        options: {min_digits: 6}                         # keyword arguments of the function
        needs_reference: false

Or, for a function shipped in an installed distribution, by its entry point in the group
``eval_assets.scorers`` (what a team's shared checks package declares in its ``pyproject.toml`` under
``[project.entry-points."eval_assets.scorers"]``, e.g. ``cites_order_id = "support_checks.orders:cites_order_id"``)::

      - scorer: custom
        name: cites_order_id
        entry_point: cites_order_id

The entry point resolves to the same ``package.module:function`` and is then validated and versioned
exactly like one named directly; an entry point missing, or declared by two distributions, is a config
error naming the group.

The function is called as ``function(output, references, **options)`` (``references`` a tuple of
strings) and returns a bool (pass/fail), a number in [0, 1], a ``ScoreResult``, or a mapping with
``score`` and optionally ``passed`` (or promptfoo's ``pass``) and ``detail`` (or ``reason``).

Everything that can be known before a model is called is checked when the config is validated: the
module imports, the attribute exists and is callable, it accepts ``(output, references)`` positionally
and every configured option as a keyword, no required keyword is left out, and each option value fits
the parameter's annotation (validated by pydantic, so ``min_digits: six`` is an error with its line).

The scorer's version recorded with every score is ``1+src.<hash>``: a hash of the source file of the
function's module, read when the function is first imported. So an edited function (or a helper beside
it) shows up as a new scorer version on the rows it scores, and every run scores again with the code as
it is. A function whose source cannot be read (a C extension, a lambda built at run time) is refused:
its results could not be reproduced.

An exception raised by the function is a bug in the scorer, not a property of the answer: it fails the
scoring step, naming the function, and nothing of that step is written.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import math
import re
import sys
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pydantic import Field, JsonValue, TypeAdapter, ValidationError, model_validator

from eval_assets.scoring.registry import OptionProblem, ScorerOptions, register_scorer
from eval_assets.scoring.results import References, ScoreResult, check_references

#: ``package.module:attribute`` (the attribute may be dotted: ``module:Class.method``).
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
FUNCTION_PATTERN = rf"^{_DOTTED}:{_DOTTED}$"
_VERSION = "1"
#: The entry-point group a distribution declares score functions in.
ENTRY_POINT_GROUP = "eval_assets.scorers"
#: An entry point's name as packaging allows it (no '=' or whitespace; letters, digits, '.', '_', '-').
ENTRY_POINT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class CustomOptions(ScorerOptions):
    """Options of ``custom``."""

    function: str | None = Field(
        default=None,
        pattern=FUNCTION_PATTERN,
        max_length=300,
        description="The score function as package.module:function, importable from the environment.",
    )
    entry_point: str | None = Field(
        default=None,
        pattern=ENTRY_POINT_PATTERN,
        max_length=200,
        description=f"Or: the name of an installed entry point in the group {ENTRY_POINT_GROUP} naming the function.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> CustomOptions:
        if (self.function is None) == (self.entry_point is None):
            raise ValueError("custom needs exactly one of 'function' (package.module:function) or 'entry_point'")
        return self

    @property
    def target(self) -> str:
        """What the function is called in messages: ``package.module:function`` or ``entry point NAME``."""
        return self.function if self.function is not None else f"entry point {self.entry_point!r}"

    options: dict[str, JsonValue] = Field(
        default_factory=dict, description="Keyword arguments passed to the function (checked against its signature)."
    )
    needs_reference: bool = Field(
        default=False, description="Whether every example this scorer applies to must have a reference."
    )


class CustomScorerError(RuntimeError):
    """The user's score function could not be loaded, or raised, or returned something unusable."""


@dataclass(frozen=True)
class LoadedFunction:
    """A resolved score function and the version of its source."""

    function: Callable[..., Any]
    source_hash: str

    @property
    def version(self) -> str:
        """The scorer version recorded with every score of this function."""
        return f"{_VERSION}+src.{self.source_hash}"


_LOADED: dict[str, LoadedFunction] = {}


def load_function(target: str, *, refresh: bool = False) -> LoadedFunction:
    """Import ``package.module:function`` and hash its module's source file.

    Args:
        target: ``package.module:function``.
        refresh: Read the source file again and re-import the module if it changed since it was
            imported (validation does this, so a long-lived process scores with the code as it is now);
            otherwise the function loaded first in this process is used.

    Raises:
        CustomScorerError: saying what is wrong (no such module, no such attribute, not callable, no source).
    """
    known = _LOADED.get(target)
    if known is not None and not (refresh and _source_hash(known.function, target) != known.source_hash):
        return known
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        if known is not None:
            module = importlib.reload(module)
    except ImportError as exc:
        raise CustomScorerError(
            f"cannot import module {module_name!r}: {exc} (is it installed, or on PYTHONPATH? sys.path has "
            f"{len(sys.path)} entries)"
        ) from exc
    except Exception as exc:  # the user's module raised while importing: say so, not a traceback
        raise CustomScorerError(f"importing module {module_name!r} raised {type(exc).__name__}: {exc}") from exc
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise CustomScorerError(f"module {module_name!r} has no attribute {attribute!r}")
        value = getattr(value, part)
    if not callable(value):
        raise CustomScorerError(f"{target} is a {type(value).__name__}, not a function")
    loaded = LoadedFunction(value, _source_hash(value, target))
    _LOADED[target] = loaded
    return loaded


def entry_point_target(name: str) -> str:
    """The ``package.module:function`` an installed entry point of :data:`ENTRY_POINT_GROUP` names.

    Raises:
        CustomScorerError: no installed distribution declares it, or two do (which one runs would be luck).
    """
    found = list(metadata.entry_points(group=ENTRY_POINT_GROUP, name=name))
    owners = sorted({ep.dist.name if ep.dist is not None else "?" for ep in found})
    if not found:
        known = sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)})
        raise CustomScorerError(
            f"no installed distribution declares entry point {name!r} in group {ENTRY_POINT_GROUP!r} "
            f"(declared there: {', '.join(known) or 'none'})"
        )
    if len({ep.value for ep in found}) > 1:
        raise CustomScorerError(
            f"entry point {name!r} in group {ENTRY_POINT_GROUP!r} is declared by several distributions "
            f"({', '.join(owners)}) with different targets: uninstall one, or name the function directly"
        )
    value = found[0].value.replace(" ", "")
    if not re.match(FUNCTION_PATTERN, value):
        raise CustomScorerError(f"entry point {name!r} names {value!r}, not package.module:function")
    return value


_ENTRY_TARGETS: dict[str, str] = {}


def target_of(options: CustomOptions, *, refresh: bool = False) -> str:
    """The ``package.module:function`` a configured custom scorer runs.

    An entry point is looked up once per process (scanning the installed distributions takes milliseconds,
    too long for every score) and again with ``refresh``, as validation does.
    """
    if options.function is not None:
        return options.function
    name = str(options.entry_point)
    if refresh or name not in _ENTRY_TARGETS:
        _ENTRY_TARGETS[name] = entry_point_target(name)
    return _ENTRY_TARGETS[name]


def _source_hash(function: Callable[..., Any], target: str) -> str:
    """Hash of the source file of the module defining ``function`` (helpers beside it count too)."""
    try:
        module = inspect.getmodule(function)
        path = inspect.getsourcefile(module) if module is not None else None
        if path is None:
            raise TypeError("no Python source file")
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:12]
    except (OSError, TypeError) as exc:
        raise CustomScorerError(f"cannot read the source of {target} to version it: {exc}") from exc


def signature_problems(function: Callable[..., Any], options: Mapping[str, Any]) -> Iterator[OptionProblem]:
    """Whether ``function(output, references, **options)`` can be called, and each option fits its annotation."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        yield ("function",), f"cannot read the signature: {exc}"
        return
    parameters = list(signature.parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    if len(positional) < 2 and not takes_varargs:
        yield ("function",), "must take (output, references) as its first two positional parameters"
        return
    keywords = {p.name: p for p in positional[2:]} | {p.name: p for p in parameters if p.kind is p.KEYWORD_ONLY}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters)
    for name in options:
        if name not in keywords and not takes_kwargs:
            accepted = ", ".join(keywords) or "none"
            yield ("options", name), f"the function takes no keyword {name!r} (it takes: {accepted})"
    missing = [name for name, p in keywords.items() if p.default is p.empty and name not in options]
    if missing:
        yield ("options",), f"the function needs {', '.join(map(repr, missing))}: add them to options"
    yield from _annotation_problems(function, {name: keywords[name] for name in options if name in keywords}, options)


def _annotation_problems(
    function: Callable[..., Any], parameters: Mapping[str, inspect.Parameter], options: Mapping[str, Any]
) -> Iterator[OptionProblem]:
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # annotations naming what cannot be resolved: check what can be called, not types
        hints = {}
    for name in parameters:
        if name not in hints:
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hints[name])
        except Exception:  # an annotation pydantic cannot validate (a class of the user's): not checked
            continue
        try:
            adapter.validate_python(options[name])
        except ValidationError as exc:
            for error in exc.errors():
                yield ("options", name, *error["loc"]), f"{error['msg']} (the function's annotation)"


def _check(options: CustomOptions) -> Iterator[OptionProblem]:
    field = "function" if options.function is not None else "entry_point"
    try:
        loaded = load_function(target_of(options, refresh=True), refresh=True)
    except CustomScorerError as exc:
        yield (field,), str(exc)
        return
    yield from signature_problems(loaded.function, options.options)


def as_score_result(value: Any, target: str) -> ScoreResult:
    """Turn what a user's function returned into a :class:`ScoreResult`.

    Raises:
        CustomScorerError: For anything else, or a score outside [0, 1].
    """
    if isinstance(value, ScoreResult):
        return value
    if isinstance(value, bool):
        return ScoreResult(1.0 if value else 0.0, value, "")
    if isinstance(value, int | float):
        score = float(value)
        _check_range(score, target)
        return ScoreResult(score, True, "")  # the stage applies pass_score
    if isinstance(value, Mapping) and "score" in value:
        score = value["score"]
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise CustomScorerError(f"{target} returned a score that is not a number: {score!r}")
        _check_range(float(score), target)
        passed = value.get("passed", value.get("pass", True))
        detail = value.get("detail", value.get("reason", ""))
        return ScoreResult(float(score), bool(passed), str(detail))
    raise CustomScorerError(
        f"{target} returned {type(value).__name__}; return a bool, a number in [0, 1], a ScoreResult "
        "or a mapping with 'score'"
    )


def _check_range(score: float, target: str) -> None:
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise CustomScorerError(f"{target} returned score {score!r}, outside [0, 1]")


def _version(options: CustomOptions) -> str:
    return load_function(target_of(options)).version


@register_scorer(
    name="custom",
    version=_VERSION,
    options=CustomOptions,
    needs_reference=lambda options: options.needs_reference,
    check_options=_check,
    version_of=_version,
)
def _custom(output: str, references: References, options: CustomOptions) -> ScoreResult:
    """Your own function(output, references, **options) from package.module:function or an entry point."""
    check_references(references)
    target = target_of(options)
    loaded = load_function(target)
    try:
        value = loaded.function(output, references, **options.options)
    except Exception as exc:
        raise CustomScorerError(f"custom scorer {target} raised {type(exc).__name__}: {exc}") from exc
    return as_score_result(value, target)
