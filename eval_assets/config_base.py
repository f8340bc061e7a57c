"""Building blocks shared by the run config (``config``) and the scorer registry (``scoring.registry``).

They live apart from ``config`` so that each scorer module can declare its own options model without
importing the whole config, which in turn builds its ``scorers[]`` union from the registry: the arrows
point one way (``config`` -> ``scoring.registry`` -> this module).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eval_assets.config_checks import check_api_base

#: Config names become Dagster partition keys: no separators Dagster reserves ("|", ",", "[", "]", "...").
CONFIG_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
#: Scorer names prefix metrics and appear in every row: lowercase, digits and '_'.
SCORER_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
#: A rubric is named by its file in prompts/ (no directories: the name cannot walk out of prompts/).
RUBRIC_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
#: A one-line label (tag, owner): no control or format characters, which would garble terminals and chat.
LABEL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]*$"
#: A model id: printable, no whitespace (it is sent to providers and shown in every report).
MODEL_ID_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f]{1,256}$"

#: Providers take at most a 64-bit integer seed; a larger one passes YAML and fails (or wraps) at the call.
Seed = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=LABEL_PATTERN)]


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, values are frozen, floats are finite."""

    # allow_inf_nan=False: every float field of every config model refuses NaN and +-inf (".nan", ".inf",
    # "1e999", "nan" as a string). A NaN threshold never fails ("0.25 >= nan" is false both ways) and an
    # infinite timeout or budget is no limit at all. Set here, once, so a field added later cannot forget.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ModelSpec(StrictModel):
    """A model reachable through litellm."""

    id: str = Field(
        pattern=MODEL_ID_PATTERN, description="litellm model id, e.g. openai/gpt-4o-mini or offline/assistant-v1."
    )
    api_base: str | None = Field(
        default=None,
        max_length=2048,
        description="Base URL (http or https) of an OpenAI-compatible server (vLLM, Ollama, llama.cpp, ...).",
    )
    api_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the API key (never the key itself).",
    )
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int = Field(default=512, gt=0, le=200_000, description="Maximum completion tokens.")
    seed: Seed | None = Field(default=None, description="Sampling seed (64-bit), for providers that honour one.")
    system_prompt: str | None = Field(default=None, description="System message sent before each input.")

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_api_base(value)


#: Days of per-example detail kept when a config says nothing (the design card's default).
DEFAULT_DETAIL_DAYS = 90
_Days = Annotated[int, Field(ge=1, le=36_500)]


class Retention(StrictModel):
    """How long a config's per-example detail is kept; aggregates (metrics, runs, gates, ...) are kept forever.

    A night's detail older than this many days is removed by ``eval-assets retention --apply`` and the weekly
    retention job, except accepted or pinned baselines and examples a person decided.
    """

    responses_days: _Days = Field(
        default=DEFAULT_DETAIL_DAYS, description="Days the model's answers and the examples' inputs are kept."
    )
    scores_days: _Days = Field(
        default=DEFAULT_DETAIL_DAYS, description="Days per-example scores, flips and review tasks are kept."
    )
    verdicts_days: _Days = Field(default=DEFAULT_DETAIL_DAYS, description="Days per-example judge verdicts are kept.")
    cache_days: _Days = Field(
        default=DEFAULT_DETAIL_DAYS,
        description="Days a cached answer no remaining row uses is kept (the cache is shared: the longest "
        "cache_days of any config applies).",
    )
