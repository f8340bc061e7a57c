"""People's reference corrections and removals as edits to the dataset files (pure: text in, text out).

``eval-assets review export-fixes`` reads the decisions, and for each example whose latest settling decision
is ``reference_wrong`` (with the corrected reference) or ``remove`` edits its dataset's JSONL:

- a correction replaces the line's ``reference`` and records who, when and which task in the example's
  ``metadata.review`` (with the reference it replaced), so the change reads as a reviewed edit in a pull
  request;
- a removal drops the line.

Every other line is kept byte for byte and in order, so the diff shows only the reviewed examples. A fix
already in the file (same reference, same task) is not applied twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eval_assets.datasets import split_lines


@dataclass(frozen=True)
class Fix:
    """One reviewed edit of one example."""

    dataset: str
    example_id: str
    kind: str  # "reference_wrong" | "remove"
    reviewer: str
    decided_on: str  # ISO date (UTC) of the decision
    task_id: str
    reference: str | None = None  # the corrected reference (reference_wrong)
    note: str = ""


@dataclass
class Edited:
    """A dataset file after its fixes, and what changed."""

    text: str
    corrected: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the file differs from what it was."""
        return bool(self.corrected or self.removed)


def latest_fixes(decisions: Iterable[Mapping[str, Any]]) -> list[Fix]:
    """The fix each example's latest settling decision asks for (decisions oldest first, as stored).

    A later decision of any other kind (agree, override, ambiguous) on the same example withdraws an
    earlier correction or removal; skips decide nothing.
    """
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in decisions:
        if row["decision"] != "skip":
            latest[(row["dataset"], row["example_id"])] = row
    fixes = []
    for (dataset, example_id), row in sorted(latest.items()):
        if row["decision"] not in ("reference_wrong", "remove"):
            continue
        decided = row["decided_at"]
        day = decided.date().isoformat() if hasattr(decided, "date") else str(decided)[:10]
        fixes.append(
            Fix(
                dataset,
                example_id,
                row["decision"],
                row["reviewer"],
                day,
                row["task_id"],
                row.get("proposed_reference"),
                row.get("note") or "",
            )
        )
    return fixes


def apply_fixes(text: str, fixes: Sequence[Fix]) -> Edited:
    """The dataset file ``text`` with ``fixes`` (all of this dataset) applied.

    Lines that are not JSON objects with an ``id`` are kept as they are: ``eval-assets validate`` reports them.
    """
    by_id = {fix.example_id: fix for fix in fixes}
    seen: set[str] = set()
    edited = Edited(text="")
    out: list[str] = []
    for line in split_lines(text, keepends=True):
        record = _record(line)
        fix = by_id.get(record.get("id")) if record is not None else None  # type: ignore[arg-type]
        if record is None or fix is None:
            out.append(line)
            continue
        seen.add(fix.example_id)
        if fix.kind == "remove":
            edited.removed.append(fix.example_id)
            continue
        review = record.get("metadata", {}).get("review") if isinstance(record.get("metadata"), dict) else None
        if record.get("reference") == fix.reference and isinstance(review, dict) and review.get("task") == fix.task_id:
            edited.already.append(fix.example_id)
            out.append(line)
            continue
        metadata = dict(record["metadata"]) if isinstance(record.get("metadata"), dict) else {}
        metadata["review"] = {
            "reviewer": fix.reviewer,
            "date": fix.decided_on,
            "task": fix.task_id,
            "decision": "reference_wrong",
            "previous_reference": record.get("reference"),
            **({"note": fix.note} if fix.note else {}),
        }
        updated = {**record, "reference": fix.reference, "metadata": metadata}
        ending = line[len(line.rstrip("\r\n")) :] or "\n"
        out.append(json.dumps(updated, ensure_ascii=False) + ending)
        edited.corrected.append(fix.example_id)
    edited.missing = sorted(set(by_id) - seen)
    edited.text = "".join(out)
    return edited


def _record(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("id"), str) else None
