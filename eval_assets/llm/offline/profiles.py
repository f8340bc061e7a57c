"""The offline models: who they are, how good they are on a given day, and what they (pretend to) cost.

Every model is clearly a simulation: versions end in ``-sim`` and prices are made up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from eval_assets.llm.offline.draws import clamp, unit

PROVIDER = "offline"

# Quality drift by eval date: a shared seasonal wave plus a small per-model, per-day jitter, so trend
# charts move a little without the assistants overtaking each other.
_DRIFT_AMPLITUDE = 0.02
_DRIFT_JITTER = 0.01


@dataclass(frozen=True)
class ModelProfile:
    """Behaviour and simulated price of one offline model.

    Attributes:
        model_id: Id as written in configs, e.g. ``offline/assistant-v1``.
        kind: ``assistant`` answers prompts; ``judge`` grades rubric prompts with a JSON verdict.
        version: Snapshot name reported as the response's model (what lineage records).
        accuracy: Probability of answering a known question correctly (before drift).
        refusal_rate: Probability of refusing an adversarial prompt (before drift).
        curt_rate: Probability that a non-adversarial answer takes a curt, dismissive tone.
        judge_noise: Judges only: probability a verdict is off by one point.
        fence_rate: Judges only: probability the JSON verdict is wrapped in a Markdown code fence.
        prose_rate: Judges only: probability the judge ignores the answer format and replies in prose
            (what a misconfigured or weak judge does; the verdict is then unparseable).
        flaky_share: Assistants only: share of known examples on which the model is a coin flip. On those
            the outcome is drawn afresh for every (seed, eval date), so repeats and nights disagree; the
            others are answered the same way every time and the quality does not drift, so only the coins
            flip.
        input_usd_per_mtok: Simulated price per million prompt tokens (not a real price).
        output_usd_per_mtok: Simulated price per million completion tokens (not a real price).
    """

    model_id: str
    kind: Literal["assistant", "judge"]
    version: str
    accuracy: float = 0.0
    refusal_rate: float = 0.0
    curt_rate: float = 0.0
    judge_noise: float = 0.0
    fence_rate: float = 0.0
    prose_rate: float = 0.0
    flaky_share: float = 0.0
    input_usd_per_mtok: float = 0.15
    output_usd_per_mtok: float = 0.60

    def rates_on(self, eval_date: date | None) -> tuple[float, float]:
        """``(accuracy, refusal_rate)`` on a given eval date; the base rates when the date is None."""
        if eval_date is None:
            return self.accuracy, self.refusal_rate
        day_of_year = eval_date.timetuple().tm_yday
        seasonal = _DRIFT_AMPLITUDE * math.sin(2 * math.pi * day_of_year / 365.25)
        day = eval_date.isoformat()
        jitter_accuracy = (unit(self.model_id, day, "accuracy-jitter") - 0.5) * 2 * _DRIFT_JITTER
        jitter_refusal = (unit(self.model_id, day, "refusal-jitter") - 0.5) * 2 * _DRIFT_JITTER
        return (
            clamp(self.accuracy + seasonal + jitter_accuracy),
            clamp(self.refusal_rate + seasonal + jitter_refusal),
        )


#: The offline models by the id a config uses. Prices are simulated so cost tracking shows plausible numbers.
OFFLINE_MODELS: Mapping[str, ModelProfile] = MappingProxyType(
    {
        profile.model_id: profile
        for profile in (
            ModelProfile(
                "offline/assistant-v1",
                "assistant",
                "assistant-v1-2026-06-01-sim",
                accuracy=0.88,
                refusal_rate=0.93,
                curt_rate=0.05,
            ),
            # The candidate: a little less accurate, noticeably weaker on safety, and cheaper.
            ModelProfile(
                "offline/assistant-v2",
                "assistant",
                "assistant-v2-2026-09-15-sim",
                accuracy=0.84,
                refusal_rate=0.82,
                curt_rate=0.05,
                input_usd_per_mtok=0.10,
                output_usd_per_mtok=0.40,
            ),
            # assistant-v1 with a tenth of the examples a coin flip: what runtime.repeats and the flakiness
            # ledger are for (each repeat is sent with its own seed, see llm.calls.repeat_model).
            ModelProfile(
                "offline/assistant-flaky",
                "assistant",
                "assistant-flaky-2026-11-01-sim",
                accuracy=0.88,
                refusal_rate=0.93,
                curt_rate=0.05,
                flaky_share=0.1,
            ),
            ModelProfile(
                "offline/assistant-mini",
                "assistant",
                "assistant-mini-2026-06-01-sim",
                accuracy=0.65,
                refusal_rate=0.60,
                curt_rate=0.10,
                input_usd_per_mtok=0.05,
                output_usd_per_mtok=0.20,
            ),
            ModelProfile("offline/judge", "judge", "judge-2026-06-01-sim", judge_noise=0.15, fence_rate=0.02),
            # A second, noisier judge, so a rubric can be graded by two judges that sometimes disagree.
            ModelProfile(
                "offline/judge-strict", "judge", "judge-strict-2026-08-01-sim", judge_noise=0.40, fence_rate=0.05
            ),
            # Judges that ignore the rubric's answer format: always, or now and then.
            ModelProfile("offline/judge-chatty", "judge", "judge-chatty-2026-10-01-sim", prose_rate=1.0),
            ModelProfile(
                "offline/judge-sloppy", "judge", "judge-sloppy-2026-10-01-sim", judge_noise=0.15, prose_rate=0.02
            ),
        )
    }
)


class UnknownOfflineModelError(ValueError):
    """Raised for a model id under the ``offline/`` provider that is not in :data:`OFFLINE_MODELS`."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(
            f"unknown offline model {model!r}; the offline simulator provides: {', '.join(OFFLINE_MODELS)}"
        )


def offline_profile(model: str) -> ModelProfile:
    """The profile for ``offline/<name>`` or bare ``<name>`` (litellm strips the provider prefix).

    Raises:
        UnknownOfflineModelError: if no offline model has that name.
    """
    profile = OFFLINE_MODELS.get(model if model.startswith(f"{PROVIDER}/") else f"{PROVIDER}/{model}")
    if profile is None:
        raise UnknownOfflineModelError(model)
    return profile
