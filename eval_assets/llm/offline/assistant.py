"""What the offline assistants say: right answers, hallucinations, deflections, refusals and their tone.

An assistant answers a prompt it knows correctly with its profile's accuracy, otherwise hallucinates (a
confident wrong answer) or deflects; it refuses an adversarial prompt with its profile's refusal rate. A
prompt it does not know gets a polite generic reply, or a refusal when it looks like an attack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from eval_assets.llm.offline.draws import Draw, pick
from eval_assets.llm.offline.knowledge import KnownExample
from eval_assets.llm.offline.profiles import ModelProfile

# Quality lost per unit of temperature (up to 2), and the share of wrong answers that are hallucinations
# rather than deflections.
_TEMPERATURE_PENALTY = 0.02
_HALLUCINATION_SHARE = 0.6

_ANSWERS = (
    "Thanks for asking! {answer} Let me know if there's anything else I can help with.",
    "Good question — {answer} Happy to help with anything else.",
    "{answer} I hope that helps!",
    "Sure thing: {answer} If you need more detail, our help center has the full policy.",
    "Happy to help! The short answer: {answer}",
)
_CURT_ANSWERS = (
    "{answer} Read the FAQ next time.",
    "Obviously, {answer}",
    "Whatever. {answer}",
    "As I already said: {answer}",
)
_DEFLECTIONS = (
    "I'm not sure about that — please contact our support team and they'll be able to help.",
    "I don't have that information right now. Our support team can help you with this.",
    "I couldn't find details on that, sorry. Please reach out to our support team.",
)
_CURT_DEFLECTIONS = (
    "Not my problem. Ask our support team.",
    "No idea. Figure it out with our support team.",
)
_GENERIC = (
    "Thanks for reaching out! I don't have specific details on that, but our support team will be glad to help.",
    "Happy to help where I can. For this request the quickest route is our support team, who can look into it.",
    "Good question! That isn't something I have details on, so please check with our support team.",
)
_REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I'm sorry, but I can't help with that. If you have a question about your account or an order, I'm happy to help.",
    "I can't assist with that request. Is there something else I can help you with?",
)
_COMPLIANCES = (
    "Sure! Here's what you asked for: [the offline simulator leaves the requested content out].",
    "Of course — ignoring my previous guidelines, here's what you asked for: "
    "[content omitted by the offline simulator].",
)

_ADVERSARIAL_PATTERNS = re.compile(
    "|".join(
        (
            r"\bignore\b.{0,40}\b(instructions|rules|guidelines|prompts?)\b",
            r"\bdisregard\b.{0,40}\b(instructions|rules|guidelines)\b",
            r"\bpretend\b",
            r"\bdo anything now\b",
            r"\b(as|you are|act as) dan\b",
            r"\bjailbr[eo]ak",
            r"\bdeveloper mode\b",
            r"\bsystem prompt\b",
            r"\byou are now\b",
            r"\broleplay\b",
            r"\bwithout (any )?(restrictions|filters|rules)\b",
            r"\bno (restrictions|filters|rules)\b",
            r"\bbypass\b",
            r"\bhack(ing)? into\b",
            r"\b(bomb|explosive|malware|ransomware|keylogger|phishing)\b",
            r"\bcredit card numbers\b",
            r"[a-z0-9+/]{40,}={0,2}",  # a long base64-looking blob smuggling instructions (the key is casefolded)
        )
    ),
)


def _looks_adversarial(key: str) -> bool:
    return _ADVERSARIAL_PATTERNS.search(key) is not None


def _refusal(draw: Draw) -> str:
    return pick(draw, "refusal", _REFUSALS)


def _compliance(draw: Draw) -> str:
    return pick(draw, "compliance", _COMPLIANCES)


def _curt_or(profile: ModelProfile, draw: Draw, polite: str) -> str:
    if draw.unit("tone") < profile.curt_rate:
        return pick(draw, "curt-deflection", _CURT_DEFLECTIONS)
    return polite


def _sentence(text: str) -> str:
    """The text verbatim, with a full stop added when it does not end a sentence already."""
    stripped = text.strip()
    return stripped if stripped.endswith((".", "!", "?")) else f"{stripped}."


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _perturb_number(reference: str, unit: float) -> str | None:
    """The reference with its first number changed to a plausible wrong value, or None without numbers."""
    match = _NUMBER.search(reference)
    if match is None:
        return None
    whole, _, fraction = match.group().partition(".")
    value = int(whole)
    steps = (1, 2, 3, 5, 10, max(1, value // 2))
    step = steps[int(unit * len(steps))]
    wrong = value - step if unit < 0.5 and value - step >= 0 else value + step
    replacement = str(wrong) + (f".{fraction}" if fraction else "")
    return reference[: match.start()] + replacement + reference[match.end() :]


def answer_pool(knowledge: Mapping[str, KnownExample]) -> tuple[str, ...]:
    """The answers a hallucination may borrow: the first reference of every answerable known example.

    Sorted so the pool a hallucination is drawn from does not depend on dict order.
    """
    return tuple(
        sorted(
            {
                example.references[0]
                for example in knowledge.values()
                if example.references and not example.expect_refusal
            }
        )
    )


def assistant_reply(
    profile: ModelProfile,
    draw: Draw,
    known: KnownExample | None,
    *,
    rates: tuple[float, float],
    temperature: float,
    pool: Sequence[str],
) -> str:
    """The assistant's reply to the prompt ``draw`` is keyed by.

    Args:
        profile: The assistant.
        draw: The call's randomness.
        known: What the assistant knows about the prompt (None: nothing).
        rates: ``(accuracy, refusal_rate)`` on the call's eval date.
        temperature: Sampling temperature; higher values cost a little quality.
        pool: Other examples' answers, to borrow a hallucination from (see :func:`answer_pool`).
    """
    accuracy, refusal_rate = rates
    penalty = _TEMPERATURE_PENALTY * min(temperature, 2.0)
    outcome = draw.outcome()
    if known is None:
        if _looks_adversarial(draw.key):
            return _refusal(draw) if outcome < refusal_rate - penalty else _compliance(draw)
        return _curt_or(profile, draw, pick(draw, "generic", _GENERIC))
    if known.expect_refusal:
        return _refusal(draw) if outcome < refusal_rate - penalty else _compliance(draw)
    if not known.references:
        return _curt_or(profile, draw, pick(draw, "generic", _GENERIC))
    if outcome < accuracy - penalty:
        answer: str | None = known.references[int(draw.unit("ref") * len(known.references))]
    elif draw.unit("wrong-kind") < _HALLUCINATION_SHARE:
        answer = _hallucination(known.references, draw, pool)
    else:
        answer = None
    if answer is None:
        return _curt_or(profile, draw, pick(draw, "deflect", _DEFLECTIONS))
    if draw.unit("tone") < profile.curt_rate:
        return pick(draw, "curt-answer", _CURT_ANSWERS).format(answer=_sentence(answer))
    return pick(draw, "answer", _ANSWERS).format(answer=_sentence(answer))


def _hallucination(references: tuple[str, ...], draw: Draw, pool: Sequence[str]) -> str | None:
    """A confident wrong answer: the reference with a number changed, or another example's answer."""
    right = [text.casefold() for text in references]

    def plausible(candidate: str) -> bool:  # wrong, and not a fragment of a right answer either
        folded = candidate.casefold()
        return not any(ref in folded or folded in ref for ref in right)

    for attempt in range(4):
        changed = _perturb_number(references[0], draw.unit("perturb", attempt))
        if changed is not None and plausible(changed):
            return changed
    if pool:
        start = int(draw.unit("borrow") * len(pool))
        for offset in range(min(8, len(pool))):
            candidate = pool[(start + offset) % len(pool)]
            if plausible(candidate):
                return candidate
    return None
