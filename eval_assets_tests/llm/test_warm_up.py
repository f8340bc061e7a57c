"""Issue 8, item 6: one-off set-up is paid before any call is timed, so latency measures the model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path

from eval_assets.config import ModelSpec
from eval_assets.llm.cached_replay import ReplaySettings, replay_with_cache
from eval_assets.llm.calls import ProviderReply, build_call
from eval_assets.warehouse import DuckDBCacheStore

SET_UP_S = 0.5


class LazyProvider:
    """Like litellm in a fresh process: the first calls wait for a set-up that later ones do not."""

    def __init__(self) -> None:
        self._set_up: asyncio.Task[None] | None = None
        self.warmed: list[str] = []

    async def _ensure_set_up(self) -> None:
        if self._set_up is None:
            self._set_up = asyncio.ensure_future(asyncio.sleep(SET_UP_S))
        await self._set_up

    async def warm_up(self, models: Iterable[ModelSpec]) -> None:
        self.warmed.extend(m.id for m in models)
        await self._ensure_set_up()

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        await self._ensure_set_up()
        await asyncio.sleep(0.01)
        return ProviderReply("ok", "stop", "v1", 3, 1, 0.0)


def test_the_first_calls_of_a_process_do_not_time_the_set_up(tmp_path: Path) -> None:
    model = ModelSpec(id="offline/assistant-v1")
    calls = [build_call(i, model, [{"role": "user", "content": f"q{i}"}], scope="d") for i in range(16)]
    provider = LazyProvider()
    outcomes = replay_with_cache(
        calls, provider, DuckDBCacheStore(tmp_path / "w.duckdb"), ReplaySettings(concurrency=8, use_cache=False)
    )
    assert provider.warmed and set(provider.warmed) == {"offline/assistant-v1"}
    latencies = [o.latency_ms or 0 for o in outcomes]
    # Without the warm-up the first 8 calls each measured the 500 ms set-up.
    assert max(latencies) < SET_UP_S * 1000 / 2, latencies
    assert all((o.total_latency_ms or 0) >= (o.latency_ms or 0) for o in outcomes)
