"""The built-in offline model: a deterministic simulator served through litellm as provider ``offline``.

It lets the whole graph run on a fresh machine without an API key while exercising the same
``litellm.acompletion(...)`` path, usage accounting and cost lookup as a real provider. Every reply is
clearly a simulation (model versions end in ``-sim``, prices are made up) and is a pure function of
(model, prompt, eval date, seed, temperature): no clock, no unseeded randomness.

The assistants (``offline/assistant-v1``, ``offline/assistant-v2``, ``offline/assistant-mini``) answer
prompts they are told about through :class:`KnownExample` knowledge (the harness passes the run's golden
examples) correctly with a per-model probability, otherwise hallucinate or deflect; adversarial prompts are
refused with a per-model probability. ``offline/judge`` grades rubric prompts and answers with a JSON verdict.

One module per concern: ``profiles`` (the models and their rates), ``draws`` (deterministic randomness),
``knowledge`` (what the assistants know, how a request is read), ``assistant`` and ``judge`` (what each
kind of model says), ``simulator`` (one completion) and ``litellm_handler`` (the provider). The pure
simulator imports nothing heavy; :func:`register_offline_provider` imports litellm lazily and installs
the handler.
"""

from eval_assets.llm.offline.knowledge import KnownExample, knowledge_key
from eval_assets.llm.offline.litellm_handler import (
    DEFAULT_MAX_TOKENS,
    register_offline_provider,
    simulated_price_table,
)
from eval_assets.llm.offline.profiles import (
    OFFLINE_MODELS,
    PROVIDER,
    ModelProfile,
    UnknownOfflineModelError,
    offline_profile,
)
from eval_assets.llm.offline.simulator import OfflineSimulator, SimulatedReply

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "OFFLINE_MODELS",
    "PROVIDER",
    "KnownExample",
    "ModelProfile",
    "OfflineSimulator",
    "SimulatedReply",
    "UnknownOfflineModelError",
    "knowledge_key",
    "offline_profile",
    "register_offline_provider",
    "simulated_price_table",
]
