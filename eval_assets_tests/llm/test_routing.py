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
from eval_assets.llm.routing import (
    OPENAI_KEY_ENV,
    RoutingProvider,
    key_route_lines,
    transport_for,
    unset_key_variables,
)
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


# --------------------------------------------------------------------------------------------------
# Where keys go (issue 13 part 2) and missing provider keys (issue 8 item 8)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "line"),
    [
        (ModelSpec(id="openai/gpt-4o-mini"), "key $OPENAI_API_KEY -> https://api.openai.com (openai/gpt-4o-mini)"),
        (ModelSpec(id="anthropic/claude-sonnet-4-5"), "key $ANTHROPIC_API_KEY -> https://api.anthropic.com"),
        (ModelSpec(id="groq/llama-3.1-8b", api_key_env="TEAM_GROQ"), "key $TEAM_GROQ -> https://api.groq.com"),
        # A custom endpoint gets only the key its spec names: none here, whatever is in the environment.
        (
            ModelSpec(id="anthropic/claude-sonnet-4-5", api_base="http://10.0.0.5:8080/v1"),
            "no key -> http://10.0.0.5:8080",
        ),
        (
            ModelSpec(id="openai/qwen", api_base="https://llm.internal:8443/v1", api_key_env="VLLM_KEY"),
            "key $VLLM_KEY -> https://llm.internal:8443",
        ),
        (ModelSpec(id="bedrock/anthropic.claude-v2"), "ambient bedrock credentials (litellm) -> litellm's default"),
        # Credentials inside the URL are not repeated in the line. Validation refuses such a URL in a config;
        # the key lines must still never print one (model_construct skips validation).
        (
            ModelSpec.model_construct(id="openai/x", api_base="https://user:pw@gw.internal/v1"),
            "no key -> https://gw.internal (openai/x)",
        ),
    ],
    ids=lambda v: v.id if isinstance(v, ModelSpec) else None,
)
def test_key_route_lines_name_which_variable_goes_to_which_host(model: ModelSpec, line: str) -> None:
    (only,) = key_route_lines([model])
    assert only.startswith(line)


def test_key_route_lines_group_models_and_leave_out_the_offline_simulator() -> None:
    models = [
        ModelSpec(id="offline/assistant-v1"),
        ModelSpec(id="openai/gpt-4o-mini"),
        ModelSpec(id="openai/gpt-4o"),
        ModelSpec(id="offline/judge"),
    ]
    assert key_route_lines(models) == [
        "key $OPENAI_API_KEY -> https://api.openai.com (openai/gpt-4o-mini, openai/gpt-4o)"
    ]


def test_missing_provider_keys_are_found_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # litellm knows each provider's variables; a config that names none still needs the provider's own.
    for variable in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GROQ_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    models = [
        ModelSpec(id="anthropic/claude-sonnet-4-5"),
        ModelSpec(id="groq/llama-3.1-8b-instant"),
        ModelSpec(id="gemini/gemini-2.0-flash"),
        ModelSpec(id="anthropic/claude-sonnet-4-5", api_base="http://127.0.0.1:9/v1"),  # custom: sends no key
        ModelSpec(id="offline/assistant-v1"),
        ModelSpec(id="bedrock/anthropic.claude-v2"),  # signs with ambient AWS credentials: not ours to judge
    ]
    assert unset_key_variables(models) == ["ANTHROPIC_API_KEY", "GROQ_API_KEY", "GOOGLE_API_KEY or $GEMINI_API_KEY"]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test0123456789")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-test-0123456789")
    assert unset_key_variables(models) == []


def test_the_offline_simulator_never_imports_litellm_for_the_key_check() -> None:
    def fail(model: ModelSpec) -> list[str]:
        raise AssertionError(f"asked litellm about {model.id}")

    assert unset_key_variables([ModelSpec(id="offline/assistant-v1")], provider_keys=fail) == []
