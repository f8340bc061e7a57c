"""The offline simulator: one deterministic chat completion per call, with the usage a provider reports.

A reply is a pure function of (model, prompt, eval date, seed, temperature): no clock, no unseeded
randomness (see :mod:`eval_assets.llm.offline.draws`). Imports nothing heavy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from eval_assets.llm.offline.assistant import answer_pool, assistant_reply
from eval_assets.llm.offline.draws import Draw, flaky_draw
from eval_assets.llm.offline.judge import judge_reply
from eval_assets.llm.offline.knowledge import KnownExample, knowledge_key, normalize, prompt_text, turns_of
from eval_assets.llm.offline.profiles import offline_profile


@dataclass(frozen=True)
class SimulatedReply:
    """One simulated completion, with what a provider would report about it."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    model_version: str


_NO_KNOWLEDGE: Mapping[str, KnownExample] = MappingProxyType({})


class OfflineSimulator:
    """Deterministic stand-in for a chat model provider.

    Args:
        knowledge: What the assistants know, keyed by :func:`knowledge_key` of the prompt (keys are
            normalized again, so raw prompt text works too).
        eval_date: The run's date; model quality drifts slightly with it. None means no drift.
    """

    def __init__(self, knowledge: Mapping[str, KnownExample] = _NO_KNOWLEDGE, *, eval_date: date | None = None) -> None:
        self.knowledge: Mapping[str, KnownExample] = MappingProxyType(
            {knowledge_key(key): example for key, example in knowledge.items()}
        )
        self.eval_date = eval_date
        self._answer_pool = answer_pool(self.knowledge)

    def respond(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> SimulatedReply:
        """Simulate one chat completion.

        Args:
            model: ``offline/<name>`` or ``<name>``.
            messages: Chat messages (``role``/``content``); malformed entries are tolerated.
            max_tokens: Completion budget; a longer reply is cut and finishes with ``length``.
            temperature: Sampling temperature; higher values add per-call variation and cost a little quality.
            seed: Sampling seed; part of what the reply is a function of.

        Raises:
            UnknownOfflineModelError: for a model that is not in :data:`OFFLINE_MODELS`.
            ValueError: if ``max_tokens`` is below 1 or ``temperature`` is negative or not a number.
        """
        profile = offline_profile(model)
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if not (math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a number >= 0, got {temperature}")
        turns = turns_of(messages)
        key = normalize(prompt_text(turns))
        draw = Draw(profile.model_id, key, self.eval_date, seed, temperature)
        if profile.flaky_share:
            draw = flaky_draw(profile.model_id, key, self.eval_date, seed, temperature, share=profile.flaky_share)
        if profile.kind == "judge":
            # Few-shot turns before the last user turn are examples; the last user turn is what is graded.
            last_user = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=len(turns) - 1)
            graded = [content for i, (role, content) in enumerate(turns) if role == "system" or i >= last_user]
            text = judge_reply(profile, "\n".join(graded), draw)
        else:
            text = assistant_reply(
                profile,
                draw,
                self.knowledge.get(draw.key),
                # A flaky profile does not drift: only its coin-flip examples move between nights.
                rates=profile.rates_on(None if profile.flaky_share else self.eval_date),
                temperature=temperature,
                pool=self._answer_pool,
            )
        prompt_tokens = sum(4 + _tokens(content) for _, content in turns)
        completion_tokens = _tokens(text)
        finish_reason = "stop"
        if completion_tokens > max_tokens:
            text, completion_tokens, finish_reason = text[: max_tokens * 4], max_tokens, "length"
        return SimulatedReply(text, prompt_tokens, completion_tokens, finish_reason, profile.version)


def _tokens(text: str) -> int:
    # About four characters a token, like the tokenizers of real chat models on English text.
    return math.ceil(len(text) / 4)
