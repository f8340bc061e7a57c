"""People's reference corrections and removals as dataset edits (pure)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from eval_assets.review.fixes import Fix, apply_fixes, latest_fixes

TEXT = (
    '{"id": "a", "input": "Plus price?", "reference": "9.99"}\n'
    '{"id": "b", "input": "Basic price?", "reference": ["$4.99"], "metadata": {"owner": "billing"}}\n'
    "\n"
    '{"id": "c", "input": "Refund window?", "reference": "30 days"}\n'
)


def decision(example_id: str, kind: str, minute: int, **extra: Any) -> dict[str, Any]:
    return {
        "dataset": "faq",
        "example_id": example_id,
        "decision": kind,
        "reviewer": "ana",
        "task_id": f"t{minute}",
        "decided_at": dt.datetime(2026, 11, 6, 9, minute),
        "proposed_reference": None,
        "note": "",
        **extra,
    }


def test_the_latest_decision_of_an_example_decides_its_fix() -> None:
    fixes = latest_fixes(
        [
            decision("a", "reference_wrong", 1, proposed_reference="$9.99"),
            decision("a", "skip", 2),  # a skip decides nothing: the correction stands
            decision("b", "remove", 3),
            decision("b", "agree", 4),  # the person changed their mind: b stays as it is
            decision("c", "remove", 5),
        ]
    )
    assert [(f.example_id, f.kind, f.reference, f.task_id, f.decided_on) for f in fixes] == [
        ("a", "reference_wrong", "$9.99", "t1", "2026-11-06"),
        ("c", "remove", None, "t5", "2026-11-06"),
    ]


def test_fixes_edit_only_their_lines_keep_order_and_record_provenance() -> None:
    fixes = [
        Fix("faq", "b", "reference_wrong", "ana", "2026-11-06", "t9", "$4.99 a month", note="per month"),
        Fix("faq", "c", "remove", "bo", "2026-11-06", "t10"),
        Fix("faq", "zz", "remove", "bo", "2026-11-06", "t11"),
    ]
    edited = apply_fixes(TEXT, fixes)
    lines = edited.text.split("\n")
    assert lines[0] == TEXT.split("\n")[0] and lines[2] == ""  # untouched lines are kept byte for byte
    corrected = json.loads(lines[1])
    assert corrected["reference"] == "$4.99 a month"
    assert corrected["metadata"] == {
        "owner": "billing",  # the example's own metadata is kept
        "review": {
            "reviewer": "ana",
            "date": "2026-11-06",
            "task": "t9",
            "decision": "reference_wrong",
            "previous_reference": ["$4.99"],
            "note": "per month",
        },
    }
    assert '"c"' not in edited.text and edited.text.endswith("\n")
    assert (edited.corrected, edited.removed, edited.missing) == (["b"], ["c"], ["zz"])
    # Exporting again changes nothing: the correction is already in the file, the removed line is gone.
    again = apply_fixes(edited.text, fixes)
    assert again.text == edited.text and not again.changed and again.already == ["b"]
