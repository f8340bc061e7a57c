"""Which examples of one night need a person, why, and how urgently (pure: plain data in, tasks out).

Four reasons, each a small function over the night's scores:

- ``regression_flip``: an example that passed in the baseline and fails now, on a scorer whose regression
  check failed (every flip of that scorer: on a regressed night the reviewer needs all of them);
- ``judge_conflict``: a panel of judges on different sides of the pass line, or spread above the margin;
- ``judge_vs_deterministic``: a deterministic scorer and a judge that pass and fail the same example (by
  default the pairs that both compare the answer with the reference);
- ``calibration_sample``: a seeded random share of the judge verdicts, so agreement with people is measured
  on typical cases too, not only on the hard ones.

A task is one (example, scorer); an example selected for several reasons gets one task carrying all of
them, its priority that of the most urgent. An example whose output is unchanged since a person decided it
(same dataset, example id, output hash and scorer) gets no new task.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from eval_assets.review.policy import REASONS, Reason, ReviewPolicy
from eval_assets.scoring.statistics import judges_disagree

#: What a person's decision is keyed by: dataset, example id, output hash, scorer.
DecisionKey = tuple[str, str, str, str]
#: An example of the night under one scorer: dataset, example id, scorer.
TaskKey = tuple[str, str, str]

#: Priority of each reason: 1 is the most urgent.
PRIORITY: Mapping[Reason, int] = {reason: rank for rank, reason in enumerate(REASONS, start=1)}


def output_hash(text: str) -> str:
    """The hash that says whether an output changed since a person looked at it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class ScoredExample:
    """One score row of the night (one example under one scorer)."""

    dataset: str
    example_id: str
    scorer: str
    score: float | None
    passed: bool | None
    output_hash: str | None  # None: the model call failed, there is no output to review


@dataclass(frozen=True)
class JudgeVote:
    """One judge's normalized score on one example (None when its verdict is missing)."""

    dataset: str
    example_id: str
    scorer: str
    judge_model: str
    score: float | None


@dataclass(frozen=True)
class ScorerRule:
    """What the selection needs to know of a configured scorer."""

    name: str
    is_judge: bool
    pass_score: float
    margin: float = 0.5  # the judges' disagreement_margin (judges only)
    #: Whether it compares the answer with the reference (a judge: its rubric requires one). Only such a judge
    #: and such a deterministic scorer are expected to agree: a tone judge need not agree with ``contains``.
    compares_reference: bool = False


@dataclass(frozen=True)
class Flip:
    """An example that passed in the baseline and fails now."""

    dataset: str
    example_id: str
    scorer: str
    baseline_date: dt.date


@dataclass(frozen=True)
class ReviewTask:
    """One example under one scorer that needs a person."""

    dataset: str
    example_id: str
    scorer: str
    output_hash: str
    reason: Reason  # the most urgent of ``reasons``
    reasons: tuple[Reason, ...]
    priority: int
    detail: str

    @property
    def key(self) -> TaskKey:
        """(dataset, example id, scorer)."""
        return (self.dataset, self.example_id, self.scorer)


@dataclass(frozen=True)
class NightInputs:
    """Everything the selection reads of one night.

    Attributes:
        eval_date: The night (seeds the calibration draw with ``config_name`` and the policy's seed).
        config_name: The config.
        scores: Every score row.
        rules: The configured scorers, by name.
        flips: Pass-to-fail flips against the baseline.
        regressed: Scorers whose regression check failed (gated, significant drop).
        votes: Every judge's score on every example, for panels of several judges.
        decided: Keys a person decided (agree, override, ...; a skip decides nothing).
    """

    eval_date: dt.date
    config_name: str
    scores: Sequence[ScoredExample]
    rules: Mapping[str, ScorerRule]
    flips: Sequence[Flip] = ()
    regressed: Collection[str] = ()
    votes: Sequence[JudgeVote] = ()
    decided: Collection[DecisionKey] = field(default_factory=frozenset)


@dataclass(frozen=True)
class _Candidate:
    key: TaskKey
    reason: Reason
    detail: str


def select_tasks(night: NightInputs, policy: ReviewPolicy) -> list[ReviewTask]:
    """The night's review tasks, most urgent first, within the policy's caps.

    Returns:
        Tasks sorted by priority, then in each reason's own order (flips by scorer and example, conflicts by
        spread, the calibration sample in draw order).
    """
    reviewable = {
        (s.dataset, s.example_id, s.scorer): s
        for s in night.scores
        if s.output_hash is not None and (s.dataset, s.example_id, s.output_hash, s.scorer) not in night.decided
    }
    finders = {
        "regression_flip": _regression_flips,
        "judge_conflict": _judge_conflicts,
        "judge_vs_deterministic": _judge_vs_deterministic,
        "calibration_sample": _calibration_sample,
    }
    merged: dict[TaskKey, list[_Candidate]] = {}
    for reason in sorted(policy.reasons, key=PRIORITY.__getitem__):
        found = [c for c in finders[reason](night, policy, reviewable) if c.key in reviewable]
        for candidate in found[: policy.cap_of(reason)]:
            merged.setdefault(candidate.key, []).append(candidate)
    tasks = [
        ReviewTask(
            dataset=key[0],
            example_id=key[1],
            scorer=key[2],
            output_hash=str(reviewable[key].output_hash),
            reason=found[0].reason,
            reasons=tuple(c.reason for c in found),
            priority=PRIORITY[found[0].reason],
            detail="; ".join(c.detail for c in found),
        )
        for key, found in merged.items()
    ]
    # dict order is each reason's own order, reasons most urgent first: a stable sort by priority keeps it.
    tasks.sort(key=lambda task: task.priority)
    return tasks[: policy.max_tasks_per_night]


def _regression_flips(
    night: NightInputs, policy: ReviewPolicy, reviewable: Mapping[TaskKey, ScoredExample]
) -> list[_Candidate]:
    regressed = set(night.regressed)
    flips = sorted((f for f in night.flips if f.scorer in regressed), key=lambda f: (f.scorer, f.dataset, f.example_id))
    return [
        _Candidate(
            (f.dataset, f.example_id, f.scorer),
            "regression_flip",
            f"passed in the baseline ({f.baseline_date}), fails now; {f.scorer} regressed",
        )
        for f in flips
    ]


def _judge_conflicts(
    night: NightInputs, policy: ReviewPolicy, reviewable: Mapping[TaskKey, ScoredExample]
) -> list[_Candidate]:
    panels: dict[TaskKey, list[JudgeVote]] = {}
    for vote in night.votes:
        if vote.score is not None:
            panels.setdefault((vote.dataset, vote.example_id, vote.scorer), []).append(vote)
    found: list[tuple[float, _Candidate]] = []
    for key, votes in sorted(panels.items()):
        rule = night.rules.get(key[2])
        if rule is None or len(votes) < 2:
            continue
        scores = [float(v.score) for v in votes if v.score is not None]
        if not judges_disagree(scores, margin=rule.margin, pass_score=rule.pass_score):
            continue
        spread = max(scores) - min(scores)
        sides = min(scores) < rule.pass_score <= max(scores)
        why = f"on both sides of the pass line {rule.pass_score:g}" if sides else ""
        if spread > rule.margin:
            why = f"{why}, " if why else ""
            why += f"spread {spread:.2f} > margin {rule.margin:g}"
        listed = ", ".join(f"{v.judge_model} {v.score:.2f}" for v in votes)
        found.append((spread, _Candidate(key, "judge_conflict", f"judges disagree ({why}): {listed}")))
    found.sort(key=lambda item: -item[0])  # the widest disagreements first (stable: ties keep key order)
    return [candidate for _, candidate in found]


def _judge_vs_deterministic(
    night: NightInputs, policy: ReviewPolicy, reviewable: Mapping[TaskKey, ScoredExample]
) -> list[_Candidate]:
    pairs = _pairs(policy, night.rules.values())
    if not pairs:  # no deterministic scorer to hold a judge against: nothing to group
        return []
    by_example: dict[tuple[str, str], dict[str, ScoredExample]] = {}
    for score in reviewable.values():
        by_example.setdefault((score.dataset, score.example_id), {})[score.scorer] = score
    found = []
    for (dataset, example_id), scored in sorted(by_example.items()):
        for plain, judge in pairs:
            one, other = scored.get(plain), scored.get(judge)
            if one is None or other is None or one.passed is None or other.passed is None:
                continue
            if one.passed != other.passed:
                verdict = {True: "passes", False: "fails"}
                detail = (
                    f"{plain} {verdict[one.passed]}, {judge} {verdict[other.passed]}"
                    f" ({other.score:.2f} against pass_score {night.rules[judge].pass_score:g})"
                )
                found.append(_Candidate((dataset, example_id, judge), "judge_vs_deterministic", detail))
    return found


def _pairs(policy: ReviewPolicy, rules: Iterable[ScorerRule]) -> list[tuple[str, str]]:
    if policy.judge_vs_deterministic:
        return [(pair.deterministic, pair.judge) for pair in policy.judge_vs_deterministic]
    listed = sorted((rule for rule in rules if rule.compares_reference), key=lambda rule: rule.name)
    return [(p.name, j.name) for p in listed if not p.is_judge for j in listed if j.is_judge]


def _calibration_sample(
    night: NightInputs, policy: ReviewPolicy, reviewable: Mapping[TaskKey, ScoredExample]
) -> list[_Candidate]:
    if policy.calibration_rate <= 0:
        return []
    verdicts = [
        key
        for key, score in reviewable.items()
        if score.score is not None and (rule := night.rules.get(key[2])) is not None and rule.is_judge
    ]
    wanted = math.ceil(policy.calibration_rate * len(verdicts))
    seed = f"{policy.seed}|{night.eval_date.isoformat()}|{night.config_name}"
    drawn = sorted(verdicts, key=lambda key: hashlib.sha256("|".join((seed, *key)).encode("utf-8")).digest())
    detail = f"random calibration sample ({policy.calibration_rate:.0%} of the night's judge verdicts)"
    return [_Candidate(key, "calibration_sample", detail) for key in drawn[:wanted]]
