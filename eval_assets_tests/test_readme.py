"""Issue 8, item 18: the README's examples are true. Every YAML, JSON and command example is checked here.

SQL examples run against a populated warehouse in ``assets/test_graph.py`` and the notebook example in
``test_security_sql.py``; this module covers the rest without running the graph, so it stays fast.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from eval_assets import warehouse
from eval_assets.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    """The fenced blocks of one language ("" for untagged ones), in README order."""
    found: list[str] = []
    current: list[str] | None = None
    tag = ""
    for line in README.splitlines():
        if line.startswith("```"):
            if current is None:
                current, tag = [], line[3:].strip()
            else:
                if tag == language:
                    found.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return found


def deep_merge(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in fragment.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = deep_merge(base[key], value) if nested else value
    return merged


@pytest.mark.parametrize("index", range(len(blocks("yaml"))))
def test_every_yaml_example_is_a_valid_config_or_config_fragment(
    index: int, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = blocks("yaml")[index]
    fragment = yaml.safe_load(text)
    assert isinstance(fragment, dict), text
    if {"model", "datasets", "scorers"} <= set(fragment):
        # A whole config: validated exactly as written (YAML 1.2 booleans: `on:` is a key, not True).
        (data_dir / "configs" / "readme.yaml").write_text(text, encoding="utf-8")
    else:
        # A fragment ("point a config at a real provider"): laid over the bundled nightly config.
        nightly = yaml.safe_load((data_dir / "configs" / "nightly.yaml").read_text(encoding="utf-8"))
        merged = deep_merge(nightly, fragment)
        (data_dir / "configs" / "readme.yaml").write_text(yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("EVAL_ASSETS_DATA_DIR", str(data_dir))
    assert main(["validate", "--config", "readme"]) == 0, capsys.readouterr().err


def test_every_json_example_is_a_valid_dataset(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eval_assets.datasets import load_dataset

    examples = blocks("json")
    assert examples
    for text in examples:
        # Lines wrapped for reading continue with indentation; a dataset line is one JSON object per line.
        records = re.sub(r"\n\s+", " ", text.strip())
        path = data_dir / "datasets" / "readme.jsonl"
        path.write_text(records + "\n", encoding="utf-8")
        assert load_dataset(path).examples, text


def commands() -> list[list[str]]:
    """Every ``eval-assets ...`` command line in the README's code blocks, optional parts included."""
    found = []
    for block in blocks("bash") + blocks(""):
        for line in block.splitlines():
            match = re.search(r"eval-assets (.*)", line.split("  #", 1)[0])
            if not match or match.group(1).startswith("..."):
                continue
            # "[--format table|csv|json]" documents a flag and its choices: keep the flag.
            text = re.sub(r"\[(-[-\w]+)[^\]]*\]", r" \1 ", match.group(1)).replace("]", " ").replace("[", " ")
            words = shlex.split(text, posix=True)
            cut = next((i for i, w in enumerate(words) if w in {"|", ">", ">>", "&&", "||", ";"}), len(words))
            found.append(words[:cut])
    return found


def test_every_documented_command_and_flag_exists() -> None:
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands()
    for argv in commands():
        words = argv
        command = next((w for w in words if not w.startswith("-")), None)
        if command is None or command.isupper():
            continue
        assert command in subcommands, f"README documents `eval-assets {command}`, which does not exist"
        parser_of = subcommands[command]
        nested = next((a for a in parser_of._actions if isinstance(a, argparse._SubParsersAction)), None)
        if nested is not None:  # `cache clear --config`: the flags of the action named next
            action = next((w for w in words[words.index(command) + 1 :] if w in nested.choices), None)
            if action is not None:
                parser_of = nested.choices[action]
        known = {flag for action in parser_of._actions for flag in action.option_strings}
        for word in words:
            flag = word.split("=", 1)[0].strip("[]")
            if flag.startswith("--"):
                assert flag in known | {"--data-dir"}, f"README: `eval-assets {command} {flag}` is not a flag"


def test_ci_runs_the_readme_test_command_unchanged() -> None:
    quickstart = blocks("bash")[0]
    test_command = next(line for line in quickstart.splitlines() if "pytest" in line).strip()
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_table_and_view_is_documented() -> None:
    section = README[README.index("## Tables and views") :]
    documented = set(re.findall(r"^\| `([a-z_]+)`", section, flags=re.M))
    public = set(warehouse.TABLES) | set(warehouse.VIEWS) | {"schema_version"}
    assert public - documented == set(), "add these to the README's table list"


def test_the_readme_says_how_to_get_the_browser_tests() -> None:
    assert "apt-get install -y chromium" in README
