"""Is the night's scoring itself healthy? Judge error rates and scorer coverage (pure Polars).

A nightly eval whose judges never answered parseably looks exactly like a healthy one once the null
metrics are dropped from view: every threshold on another metric passes and nothing turns red. These
functions measure the scoring machinery apart from the model's quality, so gates can say "the judge is
broken, not the model" instead of staying green.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl

from eval_assets.scoring.apply import JUDGE_CALL_FAILED, JUDGE_UNPARSEABLE, NO_ANSWER, NOT_SCORED

#: Longest raw judge answer quoted in a gate or report.
SAMPLE_LIMIT = 120


@dataclass(frozen=True)
class JudgeHealth:
    """How one judge model fared on one rubric scorer this night.

    Attributes:
        scorer: The rubric_judge scorer's name.
        judge_model: The judge's model id.
        verdicts: Verdicts asked of this judge.
        errors: Verdicts that failed (call error) or could not be parsed.
        unparseable: Of ``errors``, answers that arrived but held no usable score.
        sample_answer: One raw answer that could not be parsed (None when every error was a call failure).
        sample_error: Why that answer (or, failing one, a call) was rejected.
    """

    scorer: str
    judge_model: str
    verdicts: int
    errors: int
    unparseable: int
    sample_answer: str | None
    sample_error: str | None

    @property
    def error_rate(self) -> float | None:
        """Share of verdicts that failed; None when none were asked."""
        return self.errors / self.verdicts if self.verdicts else None

    def describe(self) -> str:
        """``judge offline/x (faithfulness): 82 of 82 verdicts unusable (82 unparseable)``."""
        if not self.errors:
            return f"judge {self.judge_model} ({self.scorer}): all {self.verdicts:,} verdicts usable"
        what = []
        if self.unparseable:
            what.append(f"{self.unparseable:,} unparseable")
        if self.errors - self.unparseable:
            what.append(f"{self.errors - self.unparseable:,} calls failed")
        return (
            f"judge {self.judge_model} ({self.scorer}): {self.errors:,} of {self.verdicts:,} verdicts unusable "
            f"({', '.join(what)})"
        )

    def evidence(self) -> str:
        """One raw answer and why it was rejected, for a person to see what the judge actually says."""
        if self.sample_answer is not None:
            # The parse error quotes the answer again ("... in the judge answer '...'"): keep only why.
            reason = (self.sample_error or "").removeprefix(f"{JUDGE_UNPARSEABLE}: ").split(" in the judge answer ")[0]
            return f"e.g. it answered {_quote(self.sample_answer)} ({reason})"
        return f"e.g. {self.sample_error}" if self.sample_error else ""


def judge_health(verdicts: pl.DataFrame) -> list[JudgeHealth]:
    """Per (scorer, judge model): verdicts asked, errors, and one rejected raw answer.

    Args:
        verdicts: ``judge_verdicts`` rows (columns ``scorer``, ``judge_model``, ``error``, ``raw_answer``).

    Returns:
        One entry per (scorer, judge model), sorted; empty when no judge was asked anything.
    """
    health: list[JudgeHealth] = []
    if verdicts.is_empty():
        return health
    for (scorer, judge_model), rows in sorted(
        verdicts.group_by(["scorer", "judge_model"]), key=lambda group: tuple(map(str, group[0]))
    ):
        failed = rows.filter(pl.col("error").is_not_null())
        unparseable = failed.filter(pl.col("raw_answer").is_not_null())
        sample = (unparseable if unparseable.height else failed).head(1)
        sample_row = sample.row(0, named=True) if sample.height else None
        health.append(
            JudgeHealth(
                scorer=str(scorer),
                judge_model=str(judge_model),
                verdicts=rows.height,
                errors=failed.height,
                unparseable=unparseable.height,
                sample_answer=sample_row["raw_answer"] if sample_row else None,
                sample_error=sample_row["error"] if sample_row else None,
            )
        )
    return health


@dataclass(frozen=True)
class ScorerCoverage:
    """How many of the examples a scorer applies to got a score, and why the others did not.

    Attributes:
        scorer: The scorer's name.
        applicable: Score rows of this scorer (examples it applies to).
        scored: Rows with a score.
        causes: Unscored rows by cause (e.g. ``{"judge answers unparseable": 82}``), largest first.
    """

    scorer: str
    applicable: int
    scored: int
    causes: tuple[tuple[str, int], ...]

    @property
    def share(self) -> float | None:
        """Share of applicable examples that got a score; None when the scorer applied to none."""
        return self.scored / self.applicable if self.applicable else None

    def explain(self) -> str:
        """``0 of 82 examples scored: 82 judge answers unparseable``."""
        text = f"{self.scored:,} of {self.applicable:,} examples scored"
        if self.causes:
            text += ": " + ", ".join(f"{count:,} {cause}" for cause, count in self.causes)
        return text


def scorer_coverage(scores: pl.DataFrame) -> list[ScorerCoverage]:
    """Per scorer: examples it applies to, examples scored, and the causes of the rest.

    Args:
        scores: ``scores`` rows (columns ``scorer``, ``score``, ``detail``, ``judge_error``).
    """
    coverage: list[ScorerCoverage] = []
    if scores.is_empty():
        return coverage
    for (scorer,), rows in sorted(scores.group_by(["scorer"]), key=lambda group: str(group[0][0])):
        unscored = rows.filter(pl.col("score").is_null())
        judge_errors = unscored.get_column("judge_error") if "judge_error" in unscored.columns else None
        causes: Counter[str] = Counter()
        for index, detail in enumerate(unscored.get_column("detail").to_list()):
            error = judge_errors[index] if judge_errors is not None else None
            causes[_cause(detail, error)] += 1
        coverage.append(
            ScorerCoverage(
                scorer=str(scorer),
                applicable=rows.height,
                scored=rows.height - unscored.height,
                causes=tuple(sorted(causes.items(), key=lambda item: (-item[1], item[0]))),
            )
        )
    return coverage


def _cause(detail: str | None, judge_error: str | None) -> str:
    """The cause of one unscored row, from the texts the scoring stage writes (spelt in ``apply``)."""
    text = judge_error or (detail or "").removeprefix(NOT_SCORED)
    if JUDGE_UNPARSEABLE in text:
        return "judge answers unparseable"
    if JUDGE_CALL_FAILED in text:
        return "judge calls failed"
    if text.startswith(NO_ANSWER):
        return "model calls failed"
    return "not scorable"


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= SAMPLE_LIMIT else flat[:SAMPLE_LIMIT] + "…")
