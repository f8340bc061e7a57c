"""On which scale a person scores a task's scorer: the rubric's (a judge) or pass/fail (a deterministic scorer).

Read from the task's config and rubric files in the data directory, so an override given on the rubric's
scale (``2`` on 1-5) is stored normalized like the evaluator's score. Pure: files in, a value out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from eval_assets.review.decisions import DecisionError, normalize
from eval_assets.rubrics import Rubric

if TYPE_CHECKING:
    from eval_assets.config import EvalConfig


@dataclass(frozen=True)
class ScorerScale:
    """The scale a person scores one scorer on.

    Attributes:
        scorer: The scorer's name in the config.
        kind: ``rubric`` (a judge: integers from ``scale_min`` to ``scale_max``) or ``pass_fail`` (0 or 1).
        scale_min: Lowest score.
        scale_max: Highest score.
        pass_score: The normalized score at which an example passes.
        rubric: The judge's rubric (None for a deterministic scorer).
    """

    scorer: str
    kind: Literal["rubric", "pass_fail"]
    scale_min: float
    scale_max: float
    pass_score: float
    rubric: Rubric | None = None

    def normalized(self, raw: float) -> float:
        """A score on this scale as a normalized score in [0, 1].

        Raises:
            DecisionError: the score is off the scale (or neither 0 nor 1 for pass/fail).
        """
        if self.kind == "pass_fail":
            if raw not in (0, 1):
                raise DecisionError(f"{self.scorer} passes or fails: the score is 0 (fail) or 1 (pass), got {raw:g}")
            return float(raw)
        return normalize(raw, scale_min=self.scale_min, scale_max=self.scale_max)

    def raw(self, normalized: float) -> float:
        """A normalized score back on this scale (what the evaluator's score reads as for a person)."""
        return self.scale_min + normalized * (self.scale_max - self.scale_min)

    def choices(self) -> list[int]:
        """The whole-number scores a person can pick, lowest first."""
        return list(range(int(self.scale_min), int(self.scale_max) + 1))


def scorer_scale(data_dir: Path, config_name: str, scorer: str) -> ScorerScale | None:
    """The scale of ``scorer`` in the config ``config_name``; None when the config no longer has that scorer.

    Raises:
        InvalidInputError: the config or its rubric cannot be read (the message names file and line).
    """
    from eval_assets.project import load_named_config  # loads the scorer registry: only when asked

    return scale_in(load_named_config(data_dir, config_name).config, data_dir, scorer)


def scale_in(config: EvalConfig, data_dir: Path, scorer: str) -> ScorerScale | None:
    """The scale of ``scorer`` in an already loaded config (None: it has no such scorer).

    Raises:
        InvalidInputError: the judge's rubric cannot be read.
    """
    from eval_assets.rubrics import load_rubric
    from eval_assets.scoring.registry import judge_options

    spec = next((s for s in config.scorers if s.key == scorer), None)
    if spec is None:
        return None
    panel = judge_options(spec)
    if panel is None:
        return ScorerScale(scorer, "pass_fail", 0.0, 1.0, spec.pass_score)
    rubric = load_rubric(data_dir / "prompts" / f"{panel.rubric}.md")
    return ScorerScale(scorer, "rubric", rubric.scale_min, rubric.scale_max, spec.pass_score, rubric)
