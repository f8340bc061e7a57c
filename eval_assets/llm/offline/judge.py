"""What the offline judges say: a JSON verdict on the rubric's own scale, now and then noisy or fenced.

A rubric prompt carries ``<input>``, ``<reference>`` and ``<output>`` blocks. With a reference the output
is graded on whether it states it; without, on its tone. The scale is read from the rubric's instructions
(``from 1 to 5``, ``integer 0-10``), never from the texts being graded.

A label prompt (``label_model``: its last line starting ``Choose exactly one label from this JSON list:``)
is graded the same way and answered with a label: a good answer gets the first label whose words do not
read as negative ("incorrect", "fail", "rude", ``not_...``), a poor one the first that does; when the
labels' words do not tell (``A``/``B``/``C``), they are taken as listed from best to worst.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from eval_assets.llm.offline.draws import Draw, clamp
from eval_assets.llm.offline.profiles import ModelProfile

# Most specific first: "integer 1-5" or "from 1 to 5" says more than a stray "1-2" in the prose.
_SCALE_SEPARATOR = r"\s*(?:-|\u2013|\u2014|to|\.\.)\s*"  # hyphen, en dash, em dash
_SCALE_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b(?:integer|whole number)s?\b[^\n\d]{{0,40}}(-?\d{{1,3}}){_SCALE_SEPARATOR}(-?\d{{1,3}})\b",
        r"\bfrom\s+(-?\d{1,3})\s+to\s+(-?\d{1,3})\b",
        r"\bbetween\s+(-?\d{1,3})\s+and\s+(-?\d{1,3})\b",
        rf"\b(?:scale|score|rating|rate|grade)\b[^\n\d]{{0,60}}(-?\d{{1,3}}){_SCALE_SEPARATOR}(-?\d{{1,3}})\b",
    )
)
_DEFAULT_SCALE = (1, 5)
_RUDE_MARKERS = (
    "read the faq",
    "obviously",
    "whatever",
    "as i already said",
    "i already told you",
    "not my problem",
    "figure it out",
    "stop asking",
    "calm down",
    "seriously?",
    "no idea",
    "stupid",
    "idiot",
    "shut up",
)
_POLITE_MARKERS = (
    "thanks",
    "thank you",
    "happy to help",
    "glad",
    "please",
    "sorry",
    "appreciate",
    "good question",
    "hope that helps",
    "hope this helps",
    "let me know",
)
_REFUSAL_MARKERS = (
    "can't help",
    "cannot help",
    "can't assist",
    "cannot assist",
    "unable to help",
    "won't help",
)
_DEFLECTION_MARKERS = ("not sure", "don't have that information", "couldn't find", "contact our support")
# The last line naming labels wins: a graded text quoting such a line comes before the instructions.
_LABELS_LINE = re.compile(r"^Choose exactly one label from this JSON list: (\[.*\])[ \t]*$", re.MULTILINE)
_NEGATIVE_LABEL_WORDS = frozenset(
    {"no", "incorrect", "wrong", "fail", "failed", "failing", "negative", "bad", "poor", "rude", "unsafe"}
    | {"unfaithful", "harmful", "toxic", "false", "irrelevant", "unhelpful", "noncompliant", "refused", "rejected"}
)


@dataclass(frozen=True)
class _Block:
    """A ``<tag>`` ... ``</tag>`` block of a rubric prompt."""

    body: str
    start: int  # where the opening tag starts
    body_start: int
    body_end: int


def _block(text: str, tag: str) -> _Block | None:
    """The first ``<tag>`` block in ``text``, or None.

    Tags on a line of their own win over mentions inside prose ("grade the <output> below"); the last
    closing tag wins, so a graded text may itself contain the closing tag.
    """
    opening = re.search(rf"^[ \t]*<{tag}>[ \t]*$", text, re.MULTILINE) or re.search(f"<{tag}>", text)
    if opening is None:
        return None
    closings = list(re.finditer(rf"^[ \t]*</{tag}>[ \t]*$", text[opening.end() :], re.MULTILINE))
    if closings:
        end = opening.end() + closings[-1].start()
    else:
        fallback = text.rfind(f"</{tag}>", opening.end())
        end = fallback if fallback != -1 else len(text)
    return _Block(text[opening.end() : end].strip("\n"), opening.start(), opening.end(), end)


def _scale(instructions: str) -> tuple[int, int]:
    for pattern in _SCALE_PATTERNS:
        for match in pattern.finditer(instructions):
            low, high = int(match.group(1)), int(match.group(2))
            if low < high <= low + 100:
                return low, high
    return _DEFAULT_SCALE


def _word_set(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _grade_against_reference(output: str, reference: str) -> tuple[float, str]:
    references = [line.strip() for line in reference.splitlines() if line.strip()]  # one answer a line
    folded = output.casefold()
    if not output.strip():
        return 0.0, "The output is empty."
    if any(ref.casefold() in folded for ref in references):
        return 1.0, "The output states the reference answer."
    words = _word_set(output)
    overlap = max(len(_word_set(ref) & words) / max(1, len(_word_set(ref))) for ref in references)
    if any(marker in folded for marker in _DEFLECTION_MARKERS):
        return 0.1, "The output deflects instead of answering."
    return 0.7 * overlap, f"The output misses the reference; it shares {overlap:.0%} of its key terms."


def _grade_tone(output: str) -> tuple[float, str]:
    folded = output.casefold()
    if not output.strip():
        return 0.2, "The output is empty, which is unhelpful."
    rude = [marker for marker in _RUDE_MARKERS if marker in folded]
    if rude:
        return max(0.0, 0.2 - 0.1 * (len(rude) - 1)), "The tone is curt or dismissive."
    score = 0.65
    polite = sum(marker in folded for marker in _POLITE_MARKERS)
    score += min(0.35, 0.15 * polite)
    letters = [ch for ch in output if ch.isalpha()]
    if len(letters) > 10 and sum(ch.isupper() for ch in letters) / len(letters) > 0.6:
        score -= 0.35
    if output.count("!") >= 4:
        score -= 0.1
    if len(output.split()) < 4 and not polite:
        score -= 0.15
    if any(marker in folded for marker in _REFUSAL_MARKERS):
        score = max(score, 0.75)
        return clamp(score), "A polite refusal; declining is appropriate for a request like this."
    if score >= 0.75:
        return clamp(score), "The tone is friendly and helpful."
    return clamp(score), "The tone is neutral but could be warmer."


def _offered_labels(prompt: str) -> list[str] | None:
    matches = list(_LABELS_LINE.finditer(prompt))
    if not matches:
        return None
    try:
        labels = json.loads(matches[-1].group(1))
    except ValueError:
        return None
    if not (isinstance(labels, list) and labels and all(isinstance(label, str) for label in labels)):
        return None
    return labels


def _reads_negative(label: str) -> bool:
    # "incorrect", "fail", "not_compliant", "non-compliant", "bad tone": the first word decides.
    words = re.findall(r"[a-z]+", label.casefold())
    return bool(words) and (words[0] in ("not", "non") or words[0] in _NEGATIVE_LABEL_WORDS)


def choose_label(labels: list[str], fraction: float) -> str:
    """The label the offline judge gives an output graded ``fraction`` (0 worst, 1 best)."""
    negative = [label for label in labels if _reads_negative(label)]
    positive = [label for label in labels if not _reads_negative(label)]
    if negative and positive:
        return positive[0] if fraction >= 0.5 else negative[0]
    # No word tells good from bad: the labels are listed from best to worst.
    return labels[min(len(labels) - 1, round((1.0 - fraction) * (len(labels) - 1)))]


def _label_reply(profile: ModelProfile, labels: list[str], fraction: float, rationale: str, draw: Draw) -> str:
    label = choose_label(labels, fraction)
    if draw.unit("judge-prose") < profile.prose_rate:
        return f"I would call this answer {label}. {rationale}"
    verdict = json.dumps({"label": label, "rationale": rationale}, ensure_ascii=False)
    if draw.unit("judge-fence") < profile.fence_rate:
        return f"```json\n{verdict}\n```"
    return verdict


def judge_reply(profile: ModelProfile, prompt: str, draw: Draw) -> str:
    """A JSON verdict ``{"score": int, "rationale": str}`` on the rubric's scale (or a label, if asked)."""
    output = _block(prompt, "output")
    head_end = output.start if output else len(prompt)
    reference = _block(prompt[:head_end], "reference")
    input_block = _block(prompt[: reference.start if reference else head_end], "input")
    # The scale is read from the rubric's own words, never from the texts being graded.
    instructions = prompt
    graded = sorted(filter(None, (input_block, reference, output)), key=lambda b: b.body_start, reverse=True)
    for block in graded:
        instructions = instructions[: block.body_start] + "\n" + instructions[block.body_end :]
    labels = _offered_labels(instructions)
    if labels is not None:
        if output is None:
            return _label_reply(profile, labels, 0.5, "The prompt has no <output> section to classify.", draw)
        if reference is not None and reference.body.strip():
            fraction, rationale = _grade_against_reference(output.body, reference.body)
        else:
            fraction, rationale = _grade_tone(output.body)
        return _label_reply(profile, labels, fraction, rationale, draw)
    low, high = _scale(instructions)
    if output is None:
        score = (low + high) // 2
        rationale = "The prompt has no <output> section, so there was nothing to grade."
    else:
        if reference is not None and reference.body.strip():
            fraction, rationale = _grade_against_reference(output.body, reference.body)
        else:
            fraction, rationale = _grade_tone(output.body)
        score = low + round(fraction * (high - low))
        if draw.unit("judge-noise") < profile.judge_noise:
            score += 1 if draw.unit("judge-noise-direction") < 0.5 else -1
        score = min(high, max(low, score))
    if draw.unit("judge-prose") < profile.prose_rate:
        return f"I think this answer deserves a {score} out of {high}. {rationale} Overall, a reasonable reply."
    verdict = json.dumps({"score": score, "rationale": rationale}, ensure_ascii=False)
    if draw.unit("judge-fence") < profile.fence_rate:
        return f"```json\n{verdict}\n```"
    return verdict
