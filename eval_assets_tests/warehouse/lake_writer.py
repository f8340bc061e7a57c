"""A writer process for the concurrency tests: rewrites cells of ``metrics`` again and again.

usage: python -m eval_assets_tests.warehouse.lake_writer WAREHOUSE TAG ROUNDS ROWS DATE:CONFIG [DATE:CONFIG ...]

Each round replaces every named cell with ROWS rows whose run_id is ``TAG-<round>``, waiting at a start file
(``$LAKE_WRITER_START``, when set) first so that all writers begin together. Prints one JSON line at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from eval_assets import warehouse as wh


def metric_rows(eval_date: dt.date, config_name: str, run_id: str, rows: int) -> list[dict[str, object]]:
    """ROWS metric rows of one cell, all naming ``run_id``."""
    keys = {"eval_date": eval_date, "config_name": config_name, "run_id": run_id, "git_sha": "sha", "code_sha": "c"}
    return [{**keys, "config_hash": "h", "metric": f"m{i}", "value": float(i), "n": i} for i in range(rows)]


def main(argv: list[str]) -> int:
    location, tag, rounds, rows, *cells = argv
    start = os.environ.get("LAKE_WRITER_START")
    while start and not Path(start).exists():
        time.sleep(0.01)
    began = time.monotonic()
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        for round_number in range(int(rounds)):
            for cell in cells:
                day, config = cell.split(":")
                run_id = f"{tag}-{round_number}"
                frame = wh.frame("metrics", metric_rows(dt.date.fromisoformat(day), config, run_id, int(rows)))
                wh.replace_partition(conn, dt.date.fromisoformat(day), config, {"metrics": frame})
    print(json.dumps({"tag": tag, "seconds": round(time.monotonic() - began, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
