"""A replay in a process of its own, for tests about what survives other processes and ``kill -9``.

``python -m eval_assets_tests.llm.replay_child --warehouse W --base-url URL --items N --concurrency C``
replays N distinct calls against an OpenAI-compatible server through ``replay_with_cache`` and the
production DuckDB cache store, prints ``STARTED`` before the first call and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

MODEL_ID = "openai/gpt-4o-mini"  # priced by litellm's local map, as a real run would be
KEY_ENV = "EVAL_CHILD_KEY"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    from eval_assets.config import ModelSpec
    from eval_assets.llm.cached_replay import ReplaySettings, replay_with_cache
    from eval_assets.llm.calls import ModelCall, build_call
    from eval_assets.llm.progress import ReplayProgress
    from eval_assets.llm.retry import RetryPolicy
    from eval_assets.llm.routing import RoutingProvider
    from eval_assets.warehouse import DuckDBCacheStore

    model = ModelSpec(id=MODEL_ID, api_base=args.base_url, api_key_env=KEY_ENV, max_tokens=20)
    calls = [
        build_call(i, model, [{"role": "user", "content": f"Question {i}?\nANSWER: fact {i}"}], scope="2026-11-07")
        for i in range(args.items)
    ]

    def announce(misses: Sequence[ModelCall]) -> None:
        print(f"STARTED {len(misses)} calls to make", flush=True)

    outcomes = replay_with_cache(
        calls,
        RoutingProvider(max_connections=args.concurrency),
        DuckDBCacheStore(args.warehouse),
        ReplaySettings(concurrency=args.concurrency, timeout_s=30.0, policy=RetryPolicy(max_retries=2)),
        progress=ReplayProgress("child", len(calls), report=lambda line: print(line, flush=True), interval_s=3600),
        before_calls=announce,
    )
    summary = {
        "ok": sum(o.ok for o in outcomes),
        "cached": sum(o.cached for o in outcomes),
        "errors": sorted({f"{o.error_type}: {o.error_message}" for o in outcomes if not o.ok})[:3],
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
