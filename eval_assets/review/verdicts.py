"""Human verdicts count: a decided example whose output is unchanged is scored by the person (pure).

The scoring stage computes every score as usual, then replaces the score of each example a person decided
(agree or override, on the same dataset, example id, output hash and scorer) with the person's, keeping
the evaluator's in ``evaluator_score`` and marking the row ``human_labelled``. Metrics, comparisons, gates
and the report then see the person's verdict, and say how many examples each metric owes to people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval_assets.review.selection import DecisionKey, output_hash

#: An example's answer by (dataset, example id); None when the call failed.
Outputs = Mapping[tuple[str, str], str | None]


def verdict_keys(rows: Sequence[Mapping[str, Any]], outputs: Outputs) -> list[DecisionKey]:
    """The decision key of every score row with an output."""
    keys = []
    for row in rows:
        output = outputs.get((row["dataset"], row["example_id"]))
        if output is not None:
            keys.append((row["dataset"], row["example_id"], output_hash(output), row["scorer"]))
    return keys


def apply_human_verdicts(
    rows: Sequence[Mapping[str, Any]],
    outputs: Outputs,
    verdicts: Mapping[DecisionKey, tuple[float, str]],
    *,
    pass_scores: Mapping[str, float],
) -> list[dict[str, Any]]:
    """Score rows with each decided example's score replaced by the person's.

    Args:
        rows: Score rows as the scoring stage built them (``dataset``, ``example_id``, ``scorer``, ``score``,
            ``passed``, ``detail``).
        outputs: Each example's answer.
        verdicts: The person's normalized score and name per decision key.
        pass_scores: Each scorer's ``pass_score``: the person's score passes at it, like the evaluator's.

    Returns:
        New rows; every row gets ``human_labelled`` (True or False) and ``evaluator_score`` (the evaluator's
        score when replaced, else None).
    """
    if not verdicts:  # nobody decided anything yet: no output needs hashing
        return [{**row, "human_labelled": False, "evaluator_score": None} for row in rows]
    out = []
    for row in rows:
        output = outputs.get((row["dataset"], row["example_id"]))
        key = (row["dataset"], row["example_id"], output_hash(output), row["scorer"]) if output is not None else None
        found = verdicts.get(key) if key is not None else None
        if found is None:
            out.append({**row, "human_labelled": False, "evaluator_score": None})
            continue
        score, reviewer = found
        said = "no score" if row["score"] is None else f"{row['score']:.2f}"
        out.append(
            {
                **row,
                "score": score,
                "passed": score >= pass_scores[row["scorer"]],
                "detail": f"human verdict {score:.2f} by {reviewer} (the evaluator said {said}: {row['detail']})",
                "human_labelled": True,
                "evaluator_score": row["score"],
            }
        )
    return out
