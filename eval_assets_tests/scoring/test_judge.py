"""Tests for parsing an LLM judge's answer: accepted shapes, rejected ones, and never crashing."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, strategies as st

from eval_assets.scoring.judge import JudgeParseError, JudgeVerdict, parse_judge_answer


def _parse(text: str) -> JudgeVerdict:
    return parse_judge_answer(text, scale_min=1, scale_max=5)


@pytest.mark.parametrize(
    ("text", "raw_score", "rationale"),
    [
        ('{"score": 4, "rationale": "Mostly correct."}', 4.0, "Mostly correct."),
        # Fenced, as chat models like to answer.
        ('```json\n{"score": 5, "rationale": "Perfect."}\n```', 5.0, "Perfect."),
        # Prose before and after the object.
        ('Let me think.\nThe answer is fine.\n{"score": 3, "rationale": "ok"}\nHope this helps!', 3.0, "ok"),
        # Prose with a fence inside it.
        ('Verdict:\n```json\n{"score": 2, "rationale": "weak"}\n```\nDone.', 2.0, "weak"),
        # Float and numeric-string scores.
        ('{"score": 4.5}', 4.5, ""),
        ('{"score": "4"}', 4.0, ""),
        ('{"score": " 3.0 "}', 3.0, ""),
        ('{"score": 1e0}', 1.0, ""),
        # Aliases for the rationale, and "rationale" wins when several are present.
        ('{"score": 4, "reasoning": "because"}', 4.0, "because"),
        ('{"score": 4, "explanation": "because"}', 4.0, "because"),
        ('{"explanation": "e", "score": 4, "rationale": "r"}', 4.0, "r"),
        # A null rationale falls through to the next alias.
        ('{"score": 4, "rationale": null, "reasoning": "r"}', 4.0, "r"),
        # A structured rationale is kept as JSON text rather than dropped.
        ('{"score": 4, "rationale": ["clear", "correct"]}', 4.0, '["clear", "correct"]'),
        # Braces in the prose before the object are not the object.
        ('On the scale {1..5} I give: {"score": 4, "rationale": "good"}', 4.0, "good"),
        # A brace inside a string value must not end the object early.
        ('{"rationale": "uses } and { freely", "score": 3}', 3.0, "uses } and { freely"),
        # An earlier object without a score (e.g. an echoed input) is skipped.
        ('{"input": "x"} then {"score": 2, "rationale": "second"}', 2.0, "second"),
        # Only objects are scanned for, so an array wrapped around the verdict is looked through.
        ('[{"score": 4}]', 4.0, ""),
        # The first object with a score wins.
        ('{"score": 2} or maybe {"score": 5}', 2.0, ""),
        # The scale's ends are inside the scale.
        ('{"score": 1}', 1.0, ""),
        ('{"score": 5}', 5.0, ""),
        # Non-ASCII rationale survives untouched.
        ('{"score": 4, "rationale": "tr\\u00e8s bien \u2713"}', 4.0, "tr\u00e8s bien \u2713"),
    ],
)
def test_parse_judge_answer_accepts(text: str, raw_score: float, rationale: str) -> None:
    verdict = _parse(text)
    assert (verdict.raw_score, verdict.rationale) == (raw_score, rationale)


@pytest.mark.parametrize(
    ("scale", "raw", "normalized"),
    [
        ((1, 5), 1, 0.0),
        ((1, 5), 3, 0.5),
        ((1, 5), 5, 1.0),
        ((0, 10), 7, 0.7),
        ((0, 1), 0.25, 0.25),
        # Scales may start below zero.
        ((-2, 2), 0, 0.5),
    ],
)
def test_parse_judge_answer_normalizes_linearly(scale: tuple[float, float], raw: float, normalized: float) -> None:
    verdict = parse_judge_answer(json.dumps({"score": raw}), scale_min=scale[0], scale_max=scale[1])
    assert verdict.normalized == pytest.approx(normalized)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no JSON object"),
        ("I would rate this a 4 out of 5.", "no JSON object"),
        # Python dict syntax is not JSON.
        ("{'score': 4}", "no JSON object"),
        # Truncated mid-object (the judge hit its token limit).
        ('{"score": 4, "rationale": "the answer is', "no JSON object"),
        ('{"rationale": "no score given"}', "no JSON object"),
        # The key is "score"; a differently cased or named key is a different field.
        ('{"Score": 4}', "no JSON object"),
        ('{"rating": 4}', "no JSON object"),
        # A score nested inside another object is a sub-score, not the verdict.
        ('{"criteria": [{"name": "accuracy", "score": 2}], "overall": 4}', "no JSON object"),
        # true is an int in Python, but not a score.
        ('{"score": true}', "boolean"),
        ('{"score": null}', "got null"),
        ('{"score": [4]}', "got an array"),
        ('{"score": {"value": 4}}', "got an object"),
        ('{"score": "four"}', "got the string 'four'"),
        ('{"score": "4/5"}', "got the string '4/5'"),
        # float() would accept these strings; a score must be plain decimal notation.
        ('{"score": "NaN"}', "got the string 'NaN'"),
        ('{"score": "1_0"}', "got the string '1_0'"),
        ('{"score": "\\u0664"}', "got the string"),
        # Python's json parser produces NaN and Infinity from these non-standard literals.
        ('{"score": NaN}', "finite"),
        ('{"score": -Infinity}', "finite"),
        # Overflows a float to inf.
        ('{"score": 1e400}', "finite"),
        # Too large for float() at all.
        ('{"score": 1' + "0" * 400 + "}", "too large"),
        # Outside the scale, including just outside.
        ('{"score": 0}', "outside the rubric scale [1, 5]"),
        ('{"score": 6}', "outside the rubric scale [1, 5]"),
        ('{"score": 5.0001}', "outside the rubric scale [1, 5]"),
        ('{"score": -3}', "outside the rubric scale [1, 5]"),
    ],
)
def test_parse_judge_answer_rejects(text: str, message: str) -> None:
    with pytest.raises(JudgeParseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _parse(text)


def test_parse_judge_answer_error_quotes_the_answer() -> None:
    with pytest.raises(JudgeParseError) as info:
        _parse("I'd say four.")
    assert str(info.value) == 'no JSON object with a "score" key in the judge answer "I\'d say four."'


def test_parse_judge_answer_error_shortens_long_answers() -> None:
    with pytest.raises(JudgeParseError) as info:
        _parse("x" * 10_000)
    assert len(str(info.value)) < 200


def test_parse_judge_answer_survives_deep_nesting() -> None:
    # Deeper than the JSON parser's recursion limit: an error, not a RecursionError. (Each brace is
    # retried, so this input costs quadratic time; judge answers are bounded by max_tokens.)
    with pytest.raises(JudgeParseError, match="no JSON object"):
        _parse('{"a":' * 5_000)


def test_judge_parse_error_is_a_value_error() -> None:
    # Callers that only know "bad value" can still catch it.
    assert issubclass(JudgeParseError, ValueError)


@pytest.mark.parametrize(
    ("scale_min", "scale_max"),
    [
        (5, 1),
        (3, 3),
        (math.nan, 5),
        (1, math.inf),
        # Both ends are finite but their distance overflows, so nothing could be normalized.
        (-1e308, 1e308),
    ],
)
def test_parse_judge_answer_rejects_invalid_scales(scale_min: float, scale_max: float) -> None:
    # A bad scale is a programming or rubric error, not a judge error: plain ValueError.
    with pytest.raises(ValueError, match="scale") as info:
        parse_judge_answer('{"score": 3}', scale_min=scale_min, scale_max=scale_max)
    assert not isinstance(info.value, JudgeParseError)


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

_scales = st.tuples(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
).map(lambda pair: (pair[0], pair[0] + pair[1]))


@given(st.text(), _scales)
def test_any_text_parses_or_raises_judge_parse_error(text: str, scale: tuple[float, float]) -> None:
    try:
        verdict = parse_judge_answer(text, scale_min=scale[0], scale_max=scale[1])
    except JudgeParseError:
        return
    assert 0.0 <= verdict.normalized <= 1.0
    assert scale[0] <= verdict.raw_score <= scale[1]


_json_like = st.text(alphabet=st.sampled_from(list('{}[]":,0123456789.-e scorenaitlNIfy\\')), max_size=60)


@given(_json_like)
def test_json_like_noise_parses_or_raises_judge_parse_error(text: str) -> None:
    # Random text rarely contains braces and quotes; this alphabet exercises the JSON scanning paths.
    try:
        verdict = _parse(text)
    except JudgeParseError:
        return
    assert 0.0 <= verdict.normalized <= 1.0


@given(
    st.integers(min_value=1, max_value=5) | st.floats(min_value=1, max_value=5),
    st.text(),
    st.text().filter(lambda prose: "{" not in prose),
)
def test_a_well_formed_verdict_round_trips_through_prose(score: float, rationale: str, prose: str) -> None:
    answer = f"{prose}\n```json\n{json.dumps({'score': score, 'rationale': rationale})}\n```\n{prose}"
    verdict = _parse(answer)
    assert (verdict.raw_score, verdict.rationale) == (float(score), rationale)
    assert verdict.normalized == pytest.approx((score - 1) / 4)
