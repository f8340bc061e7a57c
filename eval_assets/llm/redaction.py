"""One redaction function for every message that can carry provider text (pure, no I/O but reading the environment).

Provider error bodies echo what they were sent: OpenAI's 401 quotes a masked key, proxies and misconfigured
servers quote the whole ``Authorization`` or ``x-api-key`` header, litellm's exception texts may include
request parameters. Such text reaches ``responses.error_message``, ``judge_verdicts.error``, progress and
batch log lines, Dagster's event log and compute logs, alerts and reports. :func:`redact` is applied where
provider text becomes one of our messages (the engine's outcomes, the transports' errors, batch lines and
log lines), and removes:

* the exact values of key variables: every variable a config names (``api_key_env``, passed as ``names``
  or remembered when a key was read, see :func:`remember_key_variable`), the well-known provider variables
  (:data:`WELL_KNOWN_KEY_VARIABLES`) and any variable whose name says it holds a secret (``*KEY*``,
  ``*TOKEN*``, ``*SECRET*``...), whenever they are set in the environment;
* bearer and basic credentials, echoed credential headers or parameters (``Authorization: ...``,
  ``x-api-key: ...``, ``"api_key": "..."``) and ``user:password@`` in URLs;
* strings shaped like common provider keys (``sk-...``, ``sk-ant-...``, ``gsk_...``, ``xai-...``,
  ``AIza...``, ``hf_...``, AWS access key ids), so a key that is not ours is not shown either.

Values shorter than :data:`MIN_SECRET_LENGTH` are never treated as secrets: replacing ``"1"`` everywhere
would destroy the message and protect nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Final

#: What a removed secret is replaced with.
REDACTED: Final = "[redacted]"
#: Shorter values are not secrets worth hiding (and would shred ordinary text).
MIN_SECRET_LENGTH: Final = 8

#: Key variables litellm and the provider SDKs read on their own (litellm 1.106.2's ``validate_environment``
#: and provider modules); their values are redacted whenever they are set, whatever the config says.
WELL_KNOWN_KEY_VARIABLES: Final = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "GROQ_API_KEY",
    "DEEPSEEK_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "CODESTRAL_API_KEY",
    "COHERE_API_KEY",
    "CO_API_KEY",
    "TOGETHERAI_API_KEY",
    "TOGETHER_API_KEY",
    "OPENROUTER_API_KEY",
    "XAI_API_KEY",
    "FIREWORKS_API_KEY",
    "FIREWORKS_AI_API_KEY",
    "PERPLEXITYAI_API_KEY",
    "DEEPINFRA_API_KEY",
    "CEREBRAS_API_KEY",
    "NVIDIA_NIM_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_AI_API_KEY",
    "HOSTED_VLLM_API_KEY",
    "HUGGINGFACE_API_KEY",
    "HF_TOKEN",
    "REPLICATE_API_KEY",
    "REPLICATE_API_TOKEN",
    "VOYAGE_API_KEY",
    "DATABRICKS_API_KEY",
    "WATSONX_APIKEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "LITELLM_API_KEY",
    "LITELLM_MASTER_KEY",
)

#: Variable names that say "secret" (matched case-insensitively): their values are redacted too.
_SECRET_NAME: Final = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)

#: Shapes of credentials, replaced even when their value is not in this environment.
_SHAPES: Final = (
    # "Bearer <token>" / "Basic <b64>": the scheme stays so the message still reads.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), rf"\1 {REDACTED}"),
    # Echoed headers or parameters: Authorization: ..., x-api-key=..., "api_key": "...".
    (
        re.compile(
            r"""(?ix)
            (["']?\b(?:proxy-authorization|authorization|x-goog-api-key|x-api-key|api[-_]?key|x-auth-token)["']?
            \s*[:=]\s*["']?)
            (?:(?:bearer|basic)\s+)?
            [^\s"',;}\]&]+
            """
        ),
        rf"\1{REDACTED}",
    ),
    # Credentials inside a URL: https://user:password@host/...
    (re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@"), f"{REDACTED}@"),
    # OpenAI (sk-, sk-proj-, masked sk-abc***xyz), Anthropic (sk-ant-), DeepSeek and most proxies (sk-...).
    (re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}"), f"sk-{REDACTED}"),
    (re.compile(r"\bgsk_[A-Za-z0-9]{8,}"), f"gsk_{REDACTED}"),  # Groq
    (re.compile(r"\bxai-[A-Za-z0-9]{16,}"), f"xai-{REDACTED}"),  # xAI
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"), REDACTED),  # Google API keys
    (re.compile(r"\bhf_[A-Za-z0-9]{16,}"), f"hf_{REDACTED}"),  # Hugging Face
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),  # AWS access key ids
)

#: Variables whose values were sent as credentials by this process (see remember_key_variable).
_remembered: set[str] = set()


def remember_key_variable(name: str) -> None:
    """Treat ``name``'s value as a secret from now on (called wherever a configured key is read)."""
    _remembered.add(name)


def secret_values(environ: Mapping[str, str], names: Iterable[str] = ()) -> frozenset[str]:
    """The values in ``environ`` that must never appear in a message.

    Args:
        environ: The environment to read (normally ``os.environ``).
        names: Variables known to hold keys (e.g. the configs' ``api_key_env``), whatever they are called.
    """
    wanted = {*names, *_remembered, *WELL_KNOWN_KEY_VARIABLES}
    values = {value for name, value in environ.items() if name in wanted or _SECRET_NAME.search(name)}
    return frozenset(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def redact(text: str, *, names: Iterable[str | None] = (), environ: Mapping[str, str] | None = None) -> str:
    """``text`` without API keys, bearer tokens, echoed credential headers or the values of key variables.

    Args:
        text: Any message that may carry provider text.
        names: Key variables a config names (None entries are ignored), on top of the remembered and
            well-known ones.
        environ: The environment holding the values (default: ``os.environ``, read at call time so a key
            set after start-up is covered too).
    """
    if not text:
        return text
    secrets = secret_values(os.environ if environ is None else environ, (n for n in names if n))
    if secrets:
        text = _exact_pattern(secrets).sub(REDACTED, text)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=32)
def _exact_pattern(secrets: frozenset[str]) -> re.Pattern[str]:
    # Longest first, so a key that contains another key is removed whole.
    return re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))
