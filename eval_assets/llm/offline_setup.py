"""Give the offline simulator what a real model would know: this run's examples and its date."""

from __future__ import annotations

import datetime as dt

from eval_assets.project import EvalPlan
from eval_assets.scoring.scorers.refusal import RefusalOptions


def install_offline_simulator(plan: EvalPlan, eval_date: str) -> None:
    """Register the offline litellm provider with knowledge of the plan's examples.

    The simulator answers a known question correctly with a model-dependent probability, refuses
    prompts that the config expects to be refused with another, and drifts a little by date.
    """
    from eval_assets.llm.offline import (
        KnownExample,
        OfflineSimulator,
        knowledge_key,
        register_offline_provider,
    )

    knowledge = {}
    for example in plan.examples:
        expect_refusal = any(isinstance(s, RefusalOptions) and s.expect == "refuse" for s in plan.scorers_for(example))
        knowledge[knowledge_key(example.messages(None))] = KnownExample(
            references=example.references, expect_refusal=expect_refusal, tags=example.tags
        )
    register_offline_provider(OfflineSimulator(knowledge, eval_date=dt.date.fromisoformat(eval_date)))
