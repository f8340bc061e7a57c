"""Guards the engine consults before launching each call: a spending budget and a circuit breaker (pure)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall

SKIPPED_BUDGET = "skipped_budget"
SKIPPED_CIRCUIT_OPEN = "skipped_circuit_open"
SKIPPED_CONFIG_ERROR = "skipped_config_error"
SKIPPED_KINDS = frozenset({SKIPPED_BUDGET, SKIPPED_CIRCUIT_OPEN, SKIPPED_CONFIG_ERROR})
#: Failures that belong to one example (its prompt), not to the provider: they never open the circuit.
EXAMPLE_SPECIFIC_KINDS = frozenset({"bad_request", "context_window", "content_filter"})
#: Failures that say the configuration is wrong (key, endpoint, model name), so every other call will fail
#: the same way: the first one stops the run (see ConfigErrorStop), instead of an "outage" and a rerun.
CONFIG_ERROR_KINDS = frozenset({"auth", "not_found", "redirect"})

CostEstimator = Callable[[ModelCall], "tuple[float | None, int]"]


@dataclass
class BudgetGuard:
    """Stops launching calls before the run would spend more than its cap.

    Each launched call reserves its worst case (prompt estimate + max_tokens at the model's price) until it
    finishes; a call is launched only if spent + reserved + its own worst case stays within the cap, so the
    cap holds even with many calls in flight. Calls whose price is unknown reserve nothing.

    Attributes:
        max_usd: Spending cap in USD, or None.
        max_tokens: Token cap (prompt + completion), or None.
        estimate: Worst-case (cost in USD or None, tokens) of a call.
        spent_usd: Spent so far (seed it with what earlier stages of the same run spent).
        spent_tokens: Tokens used so far.
    """

    max_usd: float | None
    max_tokens: int | None
    estimate: CostEstimator
    spent_usd: float = 0.0
    spent_tokens: int = 0
    _reserved_usd: float = 0.0
    _reserved_tokens: int = 0
    _reservations: dict[int, tuple[float, int]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether a cap is set."""
        return self.max_usd is not None or self.max_tokens is not None

    def admit(self, call: ModelCall) -> str | None:
        """Reserve the call's worst case, or say why it must not be launched."""
        if not self.active:
            return None
        priced, tokens = self.estimate(call)
        if priced is None and self.max_usd is not None:
            # Spending without a price would make max_usd a promise we cannot keep: refuse, and say why.
            return (
                f"budget: no price is known for {call.model.id}, so max_usd cannot be enforced; register a "
                "price with litellm or cap budget.max_tokens instead"
            )
        cost = priced or 0.0
        if self.max_usd is not None and self.spent_usd + self._reserved_usd + cost > self.max_usd:
            return (
                f"budget: ${self.spent_usd:.4f} spent + ${self._reserved_usd:.4f} in flight + "
                f"${cost:.4f} for this call would pass max_usd ${self.max_usd:g}"
            )
        if self.max_tokens is not None and self.spent_tokens + self._reserved_tokens + tokens > self.max_tokens:
            return (
                f"budget: {self.spent_tokens} tokens used + {self._reserved_tokens} in flight + {tokens} "
                f"for this call would pass max_tokens {self.max_tokens}"
            )
        self._reservations[id(call)] = (cost, tokens)
        self._reserved_usd += cost
        self._reserved_tokens += tokens
        return None

    def release(self, call: ModelCall) -> None:
        """Drop a call's reservation without spending: it was not sent after all."""
        cost, tokens = self._reservations.pop(id(call), (0.0, 0))
        self._reserved_usd -= cost
        self._reserved_tokens -= tokens

    def settle(self, outcome: CallOutcome) -> None:
        """Replace the call's reservation with what it actually cost."""
        cost, tokens = self._reservations.pop(id(outcome.call), (0.0, 0))
        self._reserved_usd -= cost
        self._reserved_tokens -= tokens
        if outcome.cached:
            return
        if outcome.ok and outcome.cost_usd is None:
            # Paid for, price unknown: count the worst case we reserved rather than pretend it was free.
            self.spent_usd += cost
        else:
            self.spent_usd += outcome.cost_usd or 0.0
        self.spent_tokens += (outcome.input_tokens or 0) + (outcome.output_tokens or 0)


@dataclass
class CircuitBreaker:
    """Opens when the provider is clearly down: most recent calls failed after their retries.

    Attributes:
        window: How many of the latest finished calls are considered.
        min_calls: Finished calls needed before the breaker may open.
        failure_ratio: Share of failures in the window that opens it.
    """

    window: int = 20
    min_calls: int = 10
    failure_ratio: float = 0.8
    _recent: deque[str | None] = field(default_factory=deque)
    reason: str | None = None

    def record(self, outcome: CallOutcome) -> None:
        """Count a finished call (cached answers and example-specific errors say nothing about the provider)."""
        if outcome.cached or outcome.error_type in EXAMPLE_SPECIFIC_KINDS or outcome.error_type in SKIPPED_KINDS:
            return
        self._recent.append(outcome.error_type)
        while len(self._recent) > self.window:
            self._recent.popleft()
        failures = [kind for kind in self._recent if kind is not None]
        if (
            self.reason is None
            and len(self._recent) >= self.min_calls
            and (len(failures) >= self.failure_ratio * len(self._recent))
        ):
            kinds = ", ".join(sorted(set(failures)))
            self.reason = (
                f"provider appears down: {len(failures)} of the last {len(self._recent)} calls failed "
                f"after retries ({kinds})"
            )

    @property
    def open(self) -> bool:
        """Whether launching should stop."""
        return self.reason is not None


_FIXES = {
    "auth": "the key was refused: check the variable {variable} holds a valid key for {endpoint} (model.api_key_env "
    "in the config names the variable), then rerun",
    "not_found": "the endpoint or model does not exist: check model.id and model.api_base in the config, then rerun",
    "redirect": "the endpoint redirects elsewhere, and credentials are never sent to another address: set "
    "model.api_base to the final URL if you trust it, then rerun",
    "bad_request": "every call was refused the same way: a parameter the model does not accept? check model.id and "
    "the sampling parameters (temperature, max_tokens, seed) in the config, then rerun",
}
_NO_KEY_FIX = (
    "{endpoint} refused the call and the config names no key variable (sent: {variable}): set model.api_key_env "
    "to the variable holding a valid key, then rerun"
)


def _routing_key_hint(model: ModelSpec) -> tuple[str, str]:
    # Imported here: routing imports the engine, which imports this module.
    from eval_assets.llm.routing import key_destination

    return key_destination(model)


@dataclass
class ConfigErrorStop:
    """Stops the run at the first error that every other call would repeat, naming what to fix.

    * ``auth`` (401/403), ``not_found`` (404) and ``redirect``: the key, endpoint or model name is wrong, so
      the first one stops the run.
    * ``bad_request`` is normally one example's problem (its prompt), but when ``same_bad_requests`` calls
      of one model have failed with the same message and none of that model's calls has succeeded yet,
      it is the request's parameters, not the prompts.

    Attributes:
        same_bad_requests: Identical bad-request failures, with no success, that stop the run.
        key_hint: The key variable and endpoint of a model, for the message (routing knows them).
        reason: Set once stopped: the provider's (redacted) message and what to fix.
    """

    same_bad_requests: int = 3
    key_hint: Callable[[ModelSpec], tuple[str, str]] = _routing_key_hint
    reason: str | None = None
    _answered: set[tuple[str, str | None]] = field(default_factory=set)
    _bad_requests: dict[tuple[str, str | None, str], int] = field(default_factory=dict)

    def record(self, outcome: CallOutcome) -> None:
        """Look at a finished call; set ``reason`` when it proves the configuration wrong."""
        model = outcome.call.model
        endpoint = (model.id, model.api_base)
        if outcome.ok:
            self._answered.add(endpoint)
            return
        if self.reason is not None or outcome.cached:
            return
        kind = outcome.error_type
        if kind is None:
            return
        if kind == "bad_request":
            if endpoint in self._answered:
                return  # the model accepted other requests: this one's prompt is the problem
            key = (*endpoint, outcome.error_message or "")
            self._bad_requests[key] = seen = self._bad_requests.get(key, 0) + 1
            if seen < self.same_bad_requests:
                return
        elif kind not in CONFIG_ERROR_KINDS:
            return
        variable, where = self.key_hint(model)
        # No key variable at all: the endpoint wants a key the config does not name.
        no_key = kind == "auth" and not variable.startswith("$")
        fix = (_NO_KEY_FIX if no_key else _FIXES[kind]).format(variable=variable, endpoint=where)
        self.reason = f"stopped at once: {kind} error from {model.id}: {outcome.error_message}. Fix: {fix}"

    @property
    def stopped(self) -> bool:
        """Whether launching should stop."""
        return self.reason is not None


@dataclass
class RunGuard:
    """Everything that may stop a replay from launching more calls."""

    budget: BudgetGuard | None = None
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    config_errors: ConfigErrorStop = field(default_factory=ConfigErrorStop)

    @property
    def stopped(self) -> bool:
        """Whether no more calls may be launched or retried (circuit open or a configuration error)."""
        return self.config_errors.stopped or self.breaker.open

    def admit(self, call: ModelCall) -> tuple[str, str] | None:
        """None to launch the call, else (error kind, reason) to record it as skipped."""
        if self.config_errors.reason is not None:
            return SKIPPED_CONFIG_ERROR, self.config_errors.reason
        if self.breaker.open:
            return SKIPPED_CIRCUIT_OPEN, self.breaker.reason or "circuit open"
        if self.budget is not None:
            refusal = self.budget.admit(call)
            if refusal is not None:
                return SKIPPED_BUDGET, refusal
        return None

    def finished(self, outcome: CallOutcome) -> None:
        """Account for a finished (not skipped) call."""
        if self.budget is not None:
            self.budget.settle(outcome)
        self.config_errors.record(outcome)
        self.breaker.record(outcome)
