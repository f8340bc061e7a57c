"""Which transport answers which model, and what the router sends where (no network, no litellm calls)."""

from __future__ import annotations

import os

# Must be set before litellm is imported (the lean provider prices answers with it).
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import asyncio
from collections.abc import Sequence

import pytest

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import ProviderReply
from eval_assets.llm.retry import ProviderError
from eval_assets.llm.routing import OPENAI_KEY_ENV, RoutingProvider, transport_for
from eval_assets_tests.fake_openai import FakeOpenAIServer


@pytest.mark.parametrize(
    ("model", "transport"),
    [
        (ModelSpec(id="openai/gpt-4o-mini"), "openai_compat"),
        (ModelSpec(id="openai/Qwen2.5-7B-Instruct", api_base="http://localhost:8000/v1"), "openai_compat"),
        (ModelSpec(id="hosted_vllm/meta-llama/Llama-3.1-8B", api_base="http://localhost:8000/v1"), "openai_compat"),
        # hosted_vllm has no public endpoint: without api_base only litellm knows what to do (raise).
        (ModelSpec(id="hosted_vllm/meta-llama/Llama-3.1-8B"), "litellm"),
        (ModelSpec(id="offline/assistant-v1"), "litellm"),  # a custom litellm provider
        (ModelSpec(id="anthropic/claude-sonnet-4-5"), "litellm"),
        (ModelSpec(id="gpt-4o-mini"), "litellm"),  # a bare name is litellm's guess, so litellm answers it
        (ModelSpec(id="azure/gpt-4o", api_base="https://x.openai.azure.com"), "litellm"),
    ],
    ids=lambda v: v.id if isinstance(v, ModelSpec) else v,
)
def test_transport_for(model: ModelSpec, transport: str) -> None:
    assert transport_for(model) == transport


class FallbackSpy:
    def __init__(self) -> None:
        self.models: list[str] = []

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        self.models.append(model.id)
        return ProviderReply("from fallback", "stop", None, None, None, None)


def test_router_sends_each_model_to_its_transport() -> None:
    fallback = FallbackSpy()
    router = RoutingProvider(fallback=fallback)
    messages = [{"role": "user", "content": "hi"}]

    async def main(server: FakeOpenAIServer) -> tuple[ProviderReply, ProviderReply]:
        try:
            lean = await router.complete(
                ModelSpec(id="openai/fake-model", api_base=server.base_url), messages, timeout_s=2
            )
            other = await router.complete(ModelSpec(id="offline/assistant-v1"), messages, timeout_s=2)
            return lean, other
        finally:
            await router.aclose()

    with FakeOpenAIServer() as server:
        lean, other = asyncio.run(main(server))
        assert server.count("ok") == 1
    assert lean.text == "Echo: hi"
    assert other.text == "from fallback" and fallback.models == ["offline/assistant-v1"]


def test_openai_without_api_base_uses_openai_api_key_as_litellm_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # The key is resolved before any connection: with it unset, no request leaves the machine.
    monkeypatch.delenv(OPENAI_KEY_ENV, raising=False)
    router = RoutingProvider(fallback=FallbackSpy())

    async def main() -> ProviderError:
        try:
            with pytest.raises(ProviderError) as info:
                await router.complete(
                    ModelSpec(id="openai/gpt-4o-mini"), [{"role": "user", "content": "x"}], timeout_s=1
                )
            return info.value
        finally:
            await router.aclose()

    error = asyncio.run(main())
    assert error.kind == "auth" and OPENAI_KEY_ENV in str(error)
