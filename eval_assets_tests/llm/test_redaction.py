"""The one redaction function: key values, key shapes, echoed headers; ordinary text left alone."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from eval_assets.llm.redaction import REDACTED, redact, remember_key_variable, secret_values

# No recognizable shape: only the exact-value rule can catch it.
SHAPELESS = "Zq8vT3mW9pL2xK7n"
ENV = {"EVAL_MODEL_MATERIAL": SHAPELESS, "ANTHROPIC_API_KEY": "ant-ambient-0123456789", "HOME": "/home/someone"}


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        # The value of a variable the config names, whatever it is called and whatever it looks like.
        (f"HTTP 401: Incorrect API key provided: {SHAPELESS}", SHAPELESS),
        # A well-known provider variable, named by no config, present in the environment.
        ("x-api-key ant-ambient-0123456789 is invalid", "ant-ambient-0123456789"),
        # Shapes of keys that are not in this environment at all.
        ("Incorrect API key provided: sk-proj-AbCdEf0123456789xyz", "AbCdEf0123456789xyz"),
        ("masked: sk-abc1************************wxyz", "abc1****"),
        ("anthropic said sk-ant-api03-AbCdEf0123456789-xyz", "api03-AbCdEf0123456789"),
        ("groq: gsk_AbCdEf0123456789Qwerty", "AbCdEf0123456789Qwerty"),
        ("google: key=AIzaSyA-0123456789abcdefghijklmnop", "AIzaSyA-0123456789abcdefghijklmnop"),
        ("aws: AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
        # Echoed credential headers and parameters, in the forms servers and SDKs print them.
        ("you sent Authorization: Bearer abc.def-ghi_jkl~mno", "abc.def-ghi_jkl~mno"),
        ('{"headers": {"x-api-key": "plain-value-42"}}', "plain-value-42"),
        ("api_key='another-plain-value'", "another-plain-value"),
        ("proxy said: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("Cannot connect to https://gateway:hunter2-pass@llm.internal/v1", "hunter2-pass"),
    ],
)
def test_secrets_are_removed(text: str, gone: str) -> None:
    redacted = redact(text, names=["EVAL_MODEL_MATERIAL"], environ=ENV)
    assert gone not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        # Why these are tricky: LLM errors are full of "token" and "key" in ordinary words.
        "This model's maximum context length is 8192 tokens; you requested 9000 tokens.",
        "Rate limit reached for requests: 500 requests per minute (token bucket empty)",
        "model 'openai/x' reads its API key from $EVAL_MODEL_MATERIAL, which is not set",
        "set model.api_key_env in data/configs/nightly.yaml",
        "/home/someone/data/runs/2026-11-07",  # $HOME is not a secret: its value stays
        "no complete response from http://127.0.0.1:8000/v1/chat/completions within 60 s",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text, names=["EVAL_MODEL_MATERIAL"], environ=ENV) == text


def test_short_values_are_never_treated_as_secrets() -> None:
    # A key variable holding "1" would otherwise shred every number in every message.
    assert secret_values({"MY_API_KEY": "1", "OTHER_TOKEN": "abcdefgh"}) == frozenset({"abcdefgh"})


def test_a_remembered_variable_is_redacted_without_being_named_again() -> None:
    environ = {"EVAL_REMEMBERED_MATERIAL": "remembered-value-0001"}
    assert "remembered-value-0001" in redact("echo remembered-value-0001", environ=environ)
    remember_key_variable("EVAL_REMEMBERED_MATERIAL")
    assert "remembered-value-0001" not in redact("echo remembered-value-0001", environ=environ)


def test_a_key_containing_another_key_is_removed_whole() -> None:
    environ = {"A_KEY": "abcdefgh", "B_KEY": "abcdefgh-and-more"}
    assert redact("sent abcdefgh-and-more", environ=environ) == f"sent {REDACTED}"


@given(prefix=st.text(max_size=40), suffix=st.text(max_size=40))
def test_a_configured_key_never_survives_whatever_surrounds_it(prefix: str, suffix: str) -> None:
    assert SHAPELESS not in redact(prefix + SHAPELESS + suffix, names=["EVAL_MODEL_MATERIAL"], environ=ENV)
