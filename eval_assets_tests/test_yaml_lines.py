"""The bounded YAML loader: alias bombs of every shape fail fast, sane anchors and line maps keep working."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import yaml

from eval_assets.yaml_lines import MAX_DEPTH, MAX_NODES, YamlSyntaxError, load_yaml_with_lines


def laughs(width: int, levels: int, *, flow: str = "[]") -> str:
    """A billion-laughs document: each level holds ``width`` aliases of the level below."""
    opening, closing = flow
    lines = [f"l0: &l0 {opening}{', '.join(['lol'] * width) if flow == '[]' else 'k: lol'}{closing}"]
    for level in range(1, levels + 1):
        if flow == "[]":
            items = ", ".join([f"*l{level - 1}"] * width)
        else:
            items = ", ".join(f"k{i}: *l{level - 1}" for i in range(width))
        lines.append(f"l{level}: &l{level} {opening}{items}{closing}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(laughs(9, 8), id="lists-9x8"),
        pytest.param(laughs(10, 9), id="lists-10x9"),
        # Mappings expand the same way as lists (and also through keys and values).
        pytest.param(laughs(9, 8, flow="{}"), id="mappings-9x8"),
        # Merge keys copy every entry of the merged mapping: the same fan-out through "<<".
        pytest.param(
            "a: &a {"
            + ", ".join(f"k{i}: {i}" for i in range(100))
            + "}\n"
            + "".join(
                f"m{j}: &m{j} {{<<: *{'a' if j == 0 else f'm{j - 1}'}, n{j}: [*a, *a, *a]}}\n" for j in range(60)
            ),
            id="merge-keys",
        ),
        # An alias used as a key is expanded too.
        pytest.param(laughs(9, 3) + "x: [" + ", ".join(["{? *l3 : 1}"] * 15) + "]\n", id="alias-as-key"),
    ],
)
def test_alias_bombs_are_refused_in_milliseconds(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(YamlSyntaxError, match="once YAML aliases are expanded") as info:
        load_yaml_with_lines(text)
    assert time.perf_counter() - started < 0.5
    assert info.value.line is not None and info.value.field


def test_the_limit_is_on_the_expanded_document_not_the_file() -> None:
    # MAX_NODES values are fine written out; one alias of a 100-value list 100 times is not.
    flat = "items: [" + ", ".join(["1"] * (MAX_NODES - 10)) + "]\n"
    data, _ = load_yaml_with_lines(flat)
    assert len(data["items"]) == MAX_NODES - 10
    fanned = "a: &a [" + ", ".join(["1"] * 100) + "]\nb: [" + ", ".join(["*a"] * 100) + "]\n"
    with pytest.raises(YamlSyntaxError, match="alias \\*a adds 101"):
        load_yaml_with_lines(fanned)


def test_sane_anchors_keep_working_with_their_lines() -> None:
    text = (
        "scorers:\n"
        "  - judges: [&judge {id: offline/judge, temperature: 0, max_tokens: 200}]\n"
        + "".join(f"  - judges: [*judge]\n    name: s{i}\n" for i in range(50))
        + "base: &base {a: 1}\n"
        "merged: {<<: *base, b: 2}\n"
    )
    data, lines = load_yaml_with_lines(text)
    assert data["scorers"][50]["judges"][0] == {"id": "offline/judge", "temperature": 0, "max_tokens": 200}
    assert data["merged"] == {"a": 1, "b": 2}
    assert lines[("scorers", 3, "name")] == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]\n", "recursive"),
        ("a: &a {b: [1, {c: *a}]}\n", "recursive"),
        ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", f"deeper than {MAX_DEPTH}"),
        # Depth through aliases: each level is shallow, the expansion is not.
        ("l0: &l0 " + "[" * 40 + "]" * 40 + "\nl1: &l1 " + "[" * 30 + "*l0" + "]" * 30 + "\n", "deeper than"),
        ("a: !!timestamp 2026-13-45\n", "month must be in 1..12"),
        ('a: "\\ud800"\n', "lone surrogate"),
        ("a: 1\n---\nb: 2\n", "single document"),
    ],
)
def test_other_shapes_fail_with_a_line(text: str, message: str) -> None:
    with pytest.raises(YamlSyntaxError, match=message) as info:
        load_yaml_with_lines(text)
    assert info.value.line is not None


def test_dates_stay_text_and_the_global_loader_is_untouched() -> None:
    data, _ = load_yaml_with_lines("day: 2026-11-23\nbad: 2026-13-45\n")
    assert data == {"day": "2026-11-23", "bad": "2026-13-45"}
    # Only our loader subclass changed: other code using yaml.safe_load keeps YAML's usual dates.
    assert yaml.safe_load("day: 2026-11-23\n") == {"day": dt.date(2026, 11, 23)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Issue 8.18: the README's `on: [error, warn]` was read as {True: [...]} by YAML 1.1 rules.
        ("{type: slack, on: [error]}", {"type": "slack", "on": ["error"]}),
        ("tags: [yes, no, off, y]", {"tags": ["yes", "no", "off", "y"]}),
        ("cache: true\nstrict: False", {"cache": True, "strict": False}),
    ],
)
def test_booleans_follow_yaml_1_2(text: str, expected: object) -> None:
    data, _ = load_yaml_with_lines(text)
    assert data == expected
    assert yaml.safe_load("on: 1") == {True: 1}  # the global loader is untouched


def test_a_text_parsed_again_gives_its_own_copy_and_errors_every_time() -> None:
    # One parse per text and process is shared by every stage that reads the config: no caller may see
    # another's edits, and a broken text is refused each time, never remembered as fine.
    text = "scorers:\n  - scorer: contains\n    values: [a, b]\n"
    first, first_lines = load_yaml_with_lines(text)
    first["scorers"][0]["values"].append("edited")
    first_lines[("edited",)] = 99
    again, again_lines = load_yaml_with_lines(text)
    assert again == {"scorers": [{"scorer": "contains", "values": ["a", "b"]}]}
    assert ("edited",) not in again_lines and again_lines[("scorers", 0, "values")] == 3
    for _ in range(2):
        with pytest.raises(YamlSyntaxError, match="invalid YAML"):
            load_yaml_with_lines("a: [1, 2\n")
