"""Fake OpenAI-compatible HTTP server for tests and benchmarks (see ``server.py`` for the full contract).

Names are imported lazily so that ``python -m eval_assets_tests.fake_openai.server`` does not import the
module twice (which would make Python warn about ``server`` being in ``sys.modules`` already).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eval_assets_tests.fake_openai.server import FakeOpenAIServer, FaultPlan, RecordedRequest, reply_for

__all__ = ["FakeOpenAIServer", "FaultPlan", "RecordedRequest", "reply_for"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("eval_assets_tests.fake_openai.server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
