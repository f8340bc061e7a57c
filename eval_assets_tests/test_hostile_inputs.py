"""Bad and hostile input (issue 13 part 4, issue 8 item 22): one table, every row through the real CLI.

Each row breaks one file of a small private data directory the way a careless user or an attacker
would, runs ``eval-assets validate`` (and, for a few representative rows, ``eval-assets run``) through
``eval_assets.cli.main``, and asserts: exit status 2, a problem line naming the file, the line and the
field, no traceback, and no warehouse or runs folder written. A second, shorter table lists inputs that
look odd but are accepted on purpose, each with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from eval_assets.cli import main
from eval_assets_tests.conftest import REPO_DATA

GOOD = """\
schedule: nightly
description: Base config of the hostile-input table.
model:
  id: offline/assistant-v1
  temperature: 0
  max_tokens: 64
  seed: 7
  system_prompt: You answer questions about Parcelly.
datasets:
  - path: datasets/faq.jsonl
scorers:
  - scorer: contains
  - scorer: rubric_judge
    name: tone
    rubric: rubric-tone
    judges: [{id: offline/judge, max_tokens: 64}]
    pass_score: 0.5
thresholds:
  - {metric: contains.pass_rate, min: 0.0}
  - {metric: latency_p95_ms, max: 60000, severity: warn}
runtime:
  concurrency: 2
  timeout_s: 30
owners: [evals@example.com]
"""

FAQ = """\
{"id": "faq-1", "input": "How much is the Plus plan?", "reference": "9.99", "tags": ["billing"]}
{"id": "faq-2", "input": [{"role": "user", "content": "A refund?"}], "reference": "30 days", "tags": ["refunds"]}
{"id": "faq-3", "input": "Where do you ship?", "reference": ["United States", "Canada"], "tags": ["shipping"]}
"""

# 342 bytes that expand to 9^9 (387 million) strings: the "billion laughs" of issue 13.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)

CONFIG = "configs/good.yaml"
DATASET = "datasets/faq.jsonl"
RUBRIC = "prompts/rubric-tone.md"


# --------------------------------------------------------------------------------------------------
# Building blocks of the rows
# --------------------------------------------------------------------------------------------------

Mutation = Callable[[Path], object]


def edit(rel: str, old: str, new: str) -> Mutation:
    """Replace the first ``old`` in a file (which must be there, so a row cannot silently test nothing)."""

    def apply(data: Path) -> None:
        path = data / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def config(old: str, new: str) -> Mutation:
    return edit(CONFIG, old, new)


def runtime(line: str) -> Mutation:
    return config("  timeout_s: 30\n", f"  timeout_s: 30\n  {line}\n")


def add_scorer(text: str) -> Mutation:
    return config("thresholds:\n", f"{text}thresholds:\n")


def write(rel: str, content: str | bytes) -> Mutation:
    def apply(data: Path) -> None:
        path = data / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return apply


def append(line: str, rel: str = DATASET) -> Mutation:
    """Add a line at the end of a dataset (line 4 of the base dataset)."""

    def apply(data: Path) -> None:
        path = data / rel
        path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")

    return apply


def both(*mutations: Mutation) -> Mutation:
    def apply(data: Path) -> None:
        for mutation in mutations:
            mutation(data)

    return apply


def symlink(rel: str, target: Callable[[Path], Path]) -> Mutation:
    def apply(data: Path) -> None:
        link = data / rel
        link.unlink(missing_ok=True)
        link.symlink_to(target(data))

    return apply


def outside_secret(data: Path) -> Path:
    """A file beside (not inside) the data directory whose content and size must never leak."""
    secret = data.parent / "secret.jsonl"
    secret.write_text("".join(f"SECRET-{n} not json\n" for n in range(7)))
    return secret


@dataclass(frozen=True)
class Hostile:
    """One row: how the data directory is broken and what the error must say.

    Attributes:
        mutate: Breaks the private data directory.
        file: The file the error must name, relative to the data directory.
        line: Its line: a number, a text whose (first) line in the broken file is meant, or None for a
            problem with the whole file.
        field: The field the error must name, or None.
        message: A fragment of the message.
        args: Command-line arguments (default: ``validate``).
    """

    mutate: Mutation
    file: str
    line: int | str | None
    field: str | None
    message: str
    args: tuple[str, ...] = ("validate",)


RUN = ("run", "--config", "good", "--date", "2026-11-01", "--quiet")
VALIDATE = ("validate",)


def in_config(
    mutate: Mutation, at: int | str, field: str | None, message: str, args: tuple[str, ...] = VALIDATE
) -> Hostile:
    """A problem in the base config, at the line containing ``at``."""
    return Hostile(mutate, CONFIG, at, field, message, args)


def model_key(line: str) -> Mutation:
    return config("  temperature: 0\n", f"  {line}\n  temperature: 0\n")


def bad_line(line: str, field: str | None, message: str, args: tuple[str, ...] = VALIDATE) -> Hostile:
    """A problem on a line appended to the dataset (its line 4)."""
    return Hostile(append(line), DATASET, 4, field, message, args)


def whole_file(mutate: Mutation, rel: str, message: str, args: tuple[str, ...] = VALIDATE) -> Hostile:
    """A problem with a file as a whole (no line, no field)."""
    return Hostile(mutate, rel, None, None, message, args)


JSON_VALID = "  - scorer: json_valid\n    json_schema: "
OWNERS = "owners: [evals@example.com]"
DATASET_PATH = "path: datasets/faq.jsonl"

# fmt: off
ROWS: dict[str, Hostile] = {
    # ---- YAML itself: bounded, whatever the file ----------------------------------------------
    # 342 bytes, 387 million values: refused at the alias that crosses 10,000 values, in milliseconds.
    "alias-bomb": in_config(write(CONFIG, BOMB), 5, "e[0]", "more than 10,000 values once YAML aliases"),
    "alias-bomb-run": in_config(write(CONFIG, BOMB), 5, "e[0]", "more than 10,000 values", RUN),
    # A bomb in a config nobody asked for still fails `validate` (which checks every file).
    "alias-bomb-other-config": Hostile(write("configs/bomb.yaml", BOMB), "configs/bomb.yaml", 5, "e[0]", "aliases"),
    "alias-bomb-rubric-front-matter": Hostile(
        write(RUBRIC, f"---\n{BOMB}---\n{{{{output}}}}\n"), RUBRIC, 6, "e[0]", "more than 10,000 values"
    ),
    # Few values, but one long string aliased many times: the text is bounded too.
    "alias-long-string": in_config(
        config(OWNERS, 'x: &x "' + "x" * 200_000 + '"\nowners: [' + ",".join(["*x"] * 8) + "]"),
        "owners:", "owners[4]", "more than 1,048,576 characters",
    ),
    # PyYAML builds a list that contains itself; everything downstream would recurse forever.
    "alias-recursive": in_config(config(OWNERS, "owners: &o [*o]"), "owners:", "owners[0]", "recursive"),
    "yaml-nested-100000-deep": in_config(
        config(OWNERS, "owners: " + "[" * 100_000 + "]" * 100_000),
        "owners:", "owners[0][0][0][0][0][0][0]", "deeper than 64"
    ),
    "yaml-two-documents": in_config(config("owners:", "---\nowners:"), "---", None, "single document"),
    "yaml-nul-character": in_config(config("seed: 7", "seed: 7\x00"), "seed:", None, "#x0000"),
    "yaml-not-utf8": Hostile(
        write(CONFIG, GOOD.encode().replace(b"hostile", b"h\xfcstile")), CONFIG, 2, None, "not valid UTF-8",
    ),
    "yaml-file-too-large": whole_file(
        write(CONFIG, GOOD + "#" + "x" * 300_000 + "\n"), CONFIG, "larger than 262,144 bytes",
    ),
    "yaml-5000-digit-int": in_config(config("seed: 7", "seed: " + "9" * 5000), "seed:", "model.seed", "4300 digits"),
    # SafeLoader refuses code tags; the refusal names the line like any other error.
    "yaml-python-tag": in_config(
        config("seed: 7", "seed: !!python/object/apply:os.system [true]"), "seed:", None, "constructor",
    ),
    "yaml-lone-surrogate-escape": in_config(
        config("system_prompt: You", 'system_prompt: "\\ud800"\n  x: You'),
        "system_prompt", "model.system_prompt", "surrogate"
    ),
    "yaml-duplicate-key": in_config(
        config("  seed: 7\n", "  seed: 7\n  seed: 8\n"), "seed: 8", None, "duplicate key 'model.seed'",
    ),
    "config-empty-file": in_config(write(CONFIG, ""), 1, None, "must be a YAML mapping"),
    # ---- numbers: finite and sane -------------------------------------------------------------
    # 1e-6 requests a minute: the first call waits two years. Issue 8 saw it hang until killed.
    "requests-per-minute-tiny": in_config(
        runtime("requests_per_minute: 1.0e-6"),
        "requests_per_minute", "runtime.requests_per_minute", "greater than or equal to 1"
    ),
    "requests-per-minute-absurd": in_config(
        runtime("requests_per_minute: 1.0e+12"),
        "requests_per_minute", "runtime.requests_per_minute", "less than or equal to"
    ),
    "tokens-per-minute-tiny": in_config(
        runtime("tokens_per_minute: 1.0e-6"),
        "tokens_per_minute", "runtime.tokens_per_minute", "greater than or equal to 100"
    ),
    # Below one call's max_tokens, every call waits most of a minute for its tokens.
    "tokens-per-minute-below-a-call": in_config(
        both(runtime("tokens_per_minute: 1000"), config("max_tokens: 64", "max_tokens: 4000")),
        "tokens_per_minute", "runtime.tokens_per_minute", "below a single call's max_tokens (4000)",
    ),
    # Providers take a 64-bit seed at most.
    "seed-10-to-the-40": in_config(config("seed: 7", f"seed: {10**40}"), "seed:", "model.seed", "9223372036854775807"),
    # A NaN threshold never fails ("0.25 within >= nan"); an infinite one is no gate.
    "threshold-min-nan": in_config(config("min: 0.0}", "min: .nan}"), "min:", "thresholds[0].min", "finite number"),
    "threshold-min-nan-run": in_config(config("min: 0.0}", "min: .nan}"), "min:", "thresholds[0].min", "finite", RUN),
    "threshold-max-inf": in_config(config("max: 60000", "max: .inf"), "max:", "thresholds[1].max", "finite number"),
    "threshold-min-nan-string": in_config(
        config("min: 0.0}", "min: 'nan'}"), "min:", "thresholds[0].min", "finite number",
    ),
    "threshold-min-1e999": in_config(
        config("min: 0.0}", "min: 1.0e+999}"), "min:", "thresholds[0].min", "finite number",
    ),
    "temperature-nan": in_config(
        config("temperature: 0", "temperature: .nan"), "temperature", "model.temperature", "finite",
    ),
    "pass-score-nan": in_config(
        config("pass_score: 0.5", "pass_score: .nan"), "pass_score", "scorers[1].pass_score", "finite",
    ),
    "tolerance-inf": in_config(
        add_scorer("  - scorer: numeric_match\n    abs_tolerance: .inf\n"),
        "abs_tolerance", "scorers[2].abs_tolerance", "finite number",
    ),
    "budget-inf": in_config(
        config("owners:", "budget: {max_usd: .inf}\nowners:"), "budget", "budget.max_usd", "finite number",
    ),
    "max-retry-time-inf": in_config(
        runtime("max_retry_time_s: .inf"), "max_retry", "runtime.max_retry_time_s", "finite number",
    ),
    "batch-poll-every-nanosecond": in_config(
        runtime("batch: {poll_interval_s: 1.0e-9}"),
        "batch", "runtime.batch.poll_interval_s", "greater than or equal to 0.01"
    ),
    "concurrency-zero": in_config(
        config("concurrency: 2", "concurrency: 0"), "concurrency", "runtime.concurrency", "greater",
    ),
    "timeout-zero": in_config(
        config("timeout_s: 30", "timeout_s: 0"), "timeout_s", "runtime.timeout_s", "greater than 0",
    ),
    "limit-huge": in_config(
        config(DATASET_PATH, f"{DATASET_PATH}\n    limit: {10**21}"),
        "limit", "datasets[0].limit", "less than or equal to"
    ),
    # ---- JSON Schema: checked against the meta-schema before any paid call ---------------------
    "json-schema-type-5": in_config(
        add_scorer(JSON_VALID + "{type: 5}\n"), "json_schema", "scorers[2].json_schema.type", "not a valid JSON Schema"
    ),
    "json-schema-remote-ref": in_config(
        add_scorer(JSON_VALID + "{$ref: 'http://127.0.0.1:9/s.json'}\n"),
        "json_schema", "scorers[2].json_schema.$ref", "only local"
    ),
    "json-schema-dangling-ref": in_config(
        add_scorer(JSON_VALID + "{$ref: '#/$defs/x'}\n"),
        "json_schema", "scorers[2].json_schema.$ref", "points to nothing"
    ),
    "json-schema-nan": in_config(
        add_scorer(JSON_VALID + "{maximum: .nan}\n"),
        "json_schema", "scorers[2].json_schema.maximum", "not a finite number"
    ),
    # ---- regular expressions: RE2 (linear time) or a clear refusal ----------------------------
    "regex-backreference": in_config(
        add_scorer("  - scorer: regex_match\n    pattern: '(a)\\1'\n"),
        "pattern", "scorers[2].pattern", "without backreferences"
    ),
    "regex-lookahead": in_config(
        add_scorer("  - scorer: regex_match\n    pattern: 'x(?=y)'\n"), "pattern", "scorers[2].pattern", "or lookaround"
    ),
    "regex-reference-as-pattern": Hostile(
        both(
            add_scorer("  - scorer: regex_match\n    reference_is_pattern: true\n"),
            append('{"id": "rx", "input": "x", "reference": "(?<!a)b"}'),
        ),
        DATASET, 4, "reference", "scorer 'regex_match' (good.yaml line 18) uses this reference as an RE2 pattern",
    ),
    # Issue 7: an option of another scorer is an unknown field of this one, at its own line.
    "pattern-on-another-scorer": in_config(
        config("- scorer: contains\n", "- scorer: contains\n    pattern: x\n"),
        "pattern: x", "scorers[0].pattern", "unknown field: 'pattern' only applies to regex_match, not contains"
    ),
    # ---- URLs: http(s), a host, no credentials ------------------------------------------------
    "api-base-file-url": in_config(
        model_key("api_base: file:///etc/passwd"), "api_base", "model.api_base", "scheme 'file'",
    ),
    "api-base-gopher": in_config(
        model_key("api_base: gopher://127.0.0.1/"), "api_base", "model.api_base", "http:// or https://",
    ),
    "api-base-no-host": in_config(
        model_key("api_base: 'http:///v1'"), "api_base", "model.api_base", "must name a host",
    ),
    "api-base-credentials": in_config(
        model_key("api_base: http://user:pass@127.0.0.1/v1"), "api_base", "model.api_base", "credentials"
    ),
    "api-base-bad-port": in_config(
        model_key("api_base: http://127.0.0.1:99999/v1"), "api_base", "model.api_base", "Port",
    ),
    "judge-api-base-file-url": in_config(
        config("{id: offline/judge,", "{api_base: 'file:///x', id: offline/judge,"),
        "judges", "scorers[1].judges[0].api_base", "scheme 'file'",
    ),
    # ---- paths: inside the data directory, and nothing said about what is outside -------------
    "dataset-path-dot-dot": in_config(
        config(DATASET_PATH, "path: ../../x.jsonl"), "path:", "datasets[0].path", "inside the data",
    ),
    "dataset-path-dot-dot-run": in_config(
        config(DATASET_PATH, "path: ../../x.jsonl"), "path:", "datasets[0].path", "inside the data directory", RUN
    ),
    "dataset-path-absolute": in_config(
        config(DATASET_PATH, "path: /etc/passwd"), "path:", "datasets[0].path", "relative to",
    ),
    "dataset-path-not-jsonl": in_config(
        config(DATASET_PATH, "path: configs/good.yaml"), "path:", "datasets[0].path", ".jsonl",
    ),
    "dataset-path-nul": in_config(
        config(DATASET_PATH, 'path: "datasets/\\0.jsonl"'), "path:", "datasets[0].path", "control",
    ),
    "dataset-symlink-outside": in_config(
        symlink(DATASET, outside_secret), "path:", "datasets[0].path", "resolves outside",
    ),
    "unused-dataset-symlink-outside": whole_file(
        symlink("datasets/spare.jsonl", outside_secret), "datasets/spare.jsonl", "outside",
    ),
    "dataset-symlink-loop": whole_file(
        symlink("datasets/spare.jsonl", lambda d: d / "datasets" / "spare.jsonl"), "datasets/spare.jsonl", "outside"
    ),
    "config-symlink-outside": whole_file(symlink("configs/evil.yaml", outside_secret), "configs/evil.yaml", "outside"),
    "rubric-name-dot-dot": in_config(
        config("rubric: rubric-tone", "rubric: ../../etc/passwd"),
        "rubric:", "scorers[1].rubric", "a file name in prompts/"
    ),
    "rubric-symlink-outside": in_config(
        symlink(RUBRIC, outside_secret), "rubric:", "scorers[1].rubric", "resolves outside",
    ),
    # ---- names: partition keys, folders and rows ----------------------------------------------
    "config-name-dot-dot": whole_file(
        lambda d: None, "configs", "is not a config name", ("validate", "--config", "../x"),
    ),
    "config-name-dot-dot-run": whole_file(
        lambda d: None,
        "configs", "is not a config name", ("run", "--config", "../configs/good", "--date", "2026-11-01")
    ),
    # Two folders on Linux, one on macOS and Windows: both configs are refused.
    "config-name-case-collision": whole_file(write("configs/Good.yaml", GOOD), "configs/Good.yaml", "only in case"),
    # Dagster partitions cannot hold "|": the file is reported, and the other configs still load.
    "config-name-pipe": whole_file(write("configs/a|b.yaml", GOOD), "configs/a|b.yaml", "this file is not loaded"),
    "config-file-yml": whole_file(write("configs/other.yml", GOOD), "configs/other.yml", "end in .yaml"),
    "config-file-directory": whole_file(
        lambda d: (d / "configs" / "x.yaml").mkdir(), "configs/x.yaml", "not a regular file",
    ),
    "baseline-date-invalid": in_config(
        config("owners:", "baseline: {date: 2026-13-45}\nowners:"), "baseline", "baseline.date", "date",
    ),
    "baseline-date-explicit-tag": in_config(
        config("owners:", "baseline: {date: !!timestamp 2026-13-45}\nowners:"),
        "baseline", "baseline.date", "month must be in"
    ),
    "baseline-config-dot-dot": in_config(
        config("owners:", "baseline: {config: ../x}\nowners:"), "baseline", "baseline.config", "a config name"
    ),
    "dataset-name-collision": in_config(
        both(write("other/faq.jsonl", FAQ), config("scorers:\n", "  - path: other/faq.jsonl\nscorers:\n")),
        "other/faq.jsonl", "datasets[1].path", "is also the name of datasets[0]",
    ),
    "dataset-file-name-with-space": whole_file(
        write("datasets/my faq.jsonl", FAQ), "datasets/my faq.jsonl", "dataset file names",
    ),
    "duplicate-scorer-names": in_config(
        config("- scorer: contains\n", "- scorer: contains\n  - scorer: contains\n"),
        13, "scorers[1]", "duplicate scorer name"
    ),
    "model-id-with-space": in_config(
        config("id: offline/assistant-v1", "id: 'a b'"), "id: 'a b'", "model.id", "no spaces",
    ),
    "owner-with-bidi-override": in_config(
        config(OWNERS, 'owners: ["evals\\u202e@example.com"]'), "owners", "owners[0]", "invisible formatting"
    ),
    "tag-filter-with-tab": in_config(
        config(DATASET_PATH, f'{DATASET_PATH}\n    include_tags: ["bil\\tling"]'), "include_tags",
        "datasets[0].include_tags[0]", "control",
    ),
    # ---- dataset lines ------------------------------------------------------------------------
    # Decodes, then crashed the warehouse write and the HTTP body: refused with its field.
    "input-lone-surrogate": bad_line('{"id": "s", "input": "hi \\ud800"}', "input", "lone surrogate"),
    "input-lone-surrogate-run": bad_line('{"id": "s", "input": "hi \\ud800"}', "input", "lone surrogate", RUN),
    "chat-content-lone-surrogate": bad_line(
        '{"id": "s", "input": [{"role": "user", "content": "\\udfff"}]}', "input[0].content", "lone surrogate"
    ),
    "metadata-key-lone-surrogate": bad_line(
        '{"id": "s", "input": "x", "metadata": {"\\ud800": 1}}', "metadata", "surrogate",
    ),
    # Python's parser raises a bare RecursionError near 1,000 levels: issue 8 saw a traceback.
    "input-100000-nested-arrays": bad_line(
        '{"id": "d", "input": ' + "[" * 100_000 + "]" * 100_000 + "}", "input", "nested deeper than 32"
    ),
    "metadata-40-nested-objects": bad_line(
        '{"id": "d", "input": "x", "metadata": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", "metadata", "nested deeper"
    ),
    # Raw U+2028/U+2029/U+0085 are legal inside a JSON string; str.splitlines() split the line there
    # and every later line number was wrong. The bad line is line 5 of the file, and is called so.
    "raw-line-separators-keep-line-numbers": Hostile(
        both(append('{"id": "ls", "input": "a\u2028b\u2029c\u0085d"}'), append('{"id": "bad", "input": ""}')),
        DATASET, 5, "input", "must not be empty",
    ),
    "line-of-50-megabytes": bad_line('{"id": "b", "input": "' + "x" * 50_000_000 + '"}', None, "longer than 8,388,608"),
    "id-with-escape-sequence": bad_line('{"id": "a\\u001b[2Jb", "input": "x"}', "id", "control or invisible"),
    "id-with-bidi-override": bad_line('{"id": "a\\u202eb", "input": "x"}', "id", "control or invisible"),
    "id-of-10000-characters": bad_line('{"id": "' + "i" * 10_000 + '", "input": "x"}', "id", "at most 256 characters"),
    "id-5000-digit-integer": bad_line('{"id": ' + "9" * 5000 + ', "input": "x"}', None, "4300 digits"),
    "tag-with-trailing-space": bad_line('{"id": "t", "input": "x", "tags": ["billing "]}', "tags[0]", "whitespace"),
    # json keeps the last of two equal keys without a word.
    "duplicate-json-key": bad_line('{"id": "a", "input": "x", "input": "y"}', None, "duplicate key 'input'"),
    "json-nan-constant": bad_line('{"id": "n", "input": "x", "reference": NaN}', None, "NaN is not a JSON value"),
    "json-number-overflows-to-inf": bad_line(
        '{"id": "n", "input": "x", "reference": 1e400}', "reference", "out of range",
    ),
    "dataset-not-utf8": Hostile(
        write(DATASET, FAQ.encode() + b'{"input": "caf\xe9"}\n'), DATASET, 4, None, "not valid UTF-8",
    ),
    "dataset-empty-file": whole_file(write("datasets/spare.jsonl", ""), "datasets/spare.jsonl", "no examples"),
    # A named pipe is not a file: reading it would wait forever (and git cannot carry one anyway).
    "dataset-named-pipe": whole_file(
        lambda d: os.mkfifo(d / "datasets/spare.jsonl"), "datasets/spare.jsonl", "not a regular",
    ),
    # ---- rubric files -------------------------------------------------------------------------
    # .inf would make every normalized score 0; an int beyond float range cannot be normalized.
    "rubric-scale-inf": Hostile(
        edit(RUBRIC, "scale: [1, 5]", "scale: [1, .inf]"), RUBRIC, 2, "scale", "finite numbers",
    ),
    "rubric-scale-huge-int": Hostile(
        edit(RUBRIC, "[1, 5]", "[1, " + "9" * 400 + "]"), RUBRIC, 2, "scale", "finite numbers",
    ),
    "rubric-empty-file": Hostile(write(RUBRIC, ""), RUBRIC, 1, None, "front matter"),
    "rubric-not-utf8": Hostile(
        write(RUBRIC, b"---\nscale: [1, 5]\n---\n\xff{{output}}\n"), RUBRIC, 4, None, "not valid UTF-8",
    ),
    "rubric-description-not-text": Hostile(
        edit(RUBRIC, "description: ", "description: [1, 2]\nx: "), RUBRIC, 4, "description", "must be a string"
    ),
    # Line numbers of the body survive a raw U+2028 in an earlier line.
    "rubric-line-separator-keeps-line-numbers": Hostile(
        write(RUBRIC, "---\nscale: [1, 5]\n---\nGrade\u2028this.\n{{bogus}} {{output}}\n"),
        RUBRIC, 5, None, "unknown slot"
    ),
}
# fmt: on


def line_number(path: Path, where: int | str) -> int:
    if isinstance(where, int):
        return where
    for number, text in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), start=1):
        if where in text:
            return number
    raise AssertionError(f"{where!r} is not in {path}")


@pytest.fixture
def hostile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data directory with one good config, dataset and rubric; warehouse and runs beside it."""
    data = tmp_path / "data"
    write(CONFIG, GOOD)(data)
    write(DATASET, FAQ)(data)
    (data / "prompts").mkdir()
    shutil.copy(REPO_DATA / RUBRIC, data / RUBRIC)
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("EVAL_ASSETS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return data


def cli(data: Path, *args: str) -> int:
    return main(["--data-dir", str(data), *args])


def test_the_base_data_directory_is_valid(hostile_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Every row below breaks exactly one thing: the base itself must pass.
    assert cli(hostile_dir, "validate") == 0, capsys.readouterr().err


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_hostile_input_is_refused_with_file_line_and_field(
    row: Hostile, hostile_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row.mutate(hostile_dir)
    started = time.perf_counter()
    code = cli(hostile_dir, *row.args)
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "Traceback" not in out + err
    target = hostile_dir / row.file
    prefix = f"{target}:" if row.line is None else f"{target}:{line_number(target, row.line)}:"
    if row.field is not None:
        prefix += f" {row.field}:"
    problems = [line.strip() for line in err.splitlines()]
    matching = [p for p in problems if p.startswith(prefix + " ") and row.message in p]
    assert matching, f"expected a problem starting {prefix!r} and containing {row.message!r}, got:\n{err}"
    # Nothing written: no warehouse, no runs folder, nothing new in the data directory.
    assert not (tmp_path / "warehouse.duckdb").exists()
    assert not (tmp_path / "runs").exists()
    assert not (hostile_dir / "warehouse.duckdb").exists()
    # Bounded: no row may take long (the YAML bomb and the tiny rate limit used to hang).
    assert elapsed < 10, f"{elapsed:.1f} s"
    # Nothing about files outside the data directory leaks into the error (content, line count).
    assert "SECRET" not in err and "secret.jsonl" not in err


ACCEPTED = {
    # Windows editors add a byte-order mark; it is not part of the first line or key.
    "byte-order-marks": both(
        *(
            lambda d, rel=rel: (d / rel).write_bytes(b"\xef\xbb\xbf" + (d / rel).read_bytes())
            for rel in (CONFIG, DATASET, RUBRIC)
        )
    ),
    # CRLF files from Windows parse, with the same line numbers.
    "crlf-dataset": lambda d: (d / DATASET).write_bytes((d / DATASET).read_bytes().replace(b"\n", b"\r\n")),
    # Tags are stored as lists and check names are sanitized: a comma is never split on, so it may stay.
    "tag-with-comma": append('{"id": "c", "input": "x", "reference": "y", "tags": ["billing,refunds"]}'),
    # Anchors used sanely (one judge spec for several scorers, a merge key) stay far inside the bounds.
    "sane-anchors": config(
        "    judges: [{id: offline/judge, max_tokens: 64}]\n    pass_score: 0.5\n",
        "    judges: [&judge {id: offline/judge, max_tokens: 64}]\n    pass_score: 0.5\n"
        "  - scorer: rubric_judge\n    name: tone_again\n    rubric: rubric-tone\n"
        "    judges: [{<<: *judge, temperature: 0}]\n",
    ),
    # JSON allows raw U+2028 / U+2029 / U+0085 inside strings: a valid line, kept whole.
    "raw-line-separators-in-a-string": append('{"id": "ls", "input": "a\u2028b\u2029c\u0085d", "reference": "y"}'),
    # The largest seed a provider takes.
    "seed-max-int64": config("seed: 7", f"seed: {2**63 - 1}"),
    # A description that looks like a date is text (YAML used to turn it into a date and fail the str field).
    "description-looking-like-a-date": config(
        "description: Base config of the hostile-input table.", "description: 2026-11-23"
    ),
    # Hidden files (editor lock files) are not inputs.
    "hidden-editor-lock-file": write("configs/.#good.yaml", "not: [valid"),
}


@pytest.mark.parametrize("mutate", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_odd_but_legitimate_input_is_accepted(
    mutate: Mutation, hostile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate(hostile_dir)
    assert cli(hostile_dir, "validate") == 0, capsys.readouterr().err


def test_every_float_field_refuses_nan_and_inf() -> None:
    # One policy for every float of every config model, including fields added later: walk the models.
    from eval_assets import config as cfg

    models = [
        m for m in vars(cfg).values() if isinstance(m, type) and issubclass(m, cfg._Strict) and m is not cfg._Strict
    ]
    floats = [(m, name) for m in models for name, f in m.model_fields.items() if "float" in str(f.annotation)]
    assert len(floats) >= 15, floats
    for model, name in floats:
        assert model.model_config.get("allow_inf_nan") is False, model
        for value in (float("nan"), float("inf"), float("-inf")):
            with pytest.raises(cfg.ValidationError, match="finite number"):
                model.model_validate({name: value})


@pytest.mark.slow
def test_one_broken_config_never_stops_another_configs_run(
    hostile_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 13: a 537-byte bomb in any config hung `validate` and the run of every config.
    write("configs/bomb.yaml", BOMB)(hostile_dir)
    write("configs/recursive.yaml", "owners: &o [*o]\n")(hostile_dir)
    write("configs/a|b.yaml", GOOD)(hostile_dir)
    config("path: datasets/faq.jsonl", "path: datasets/faq.jsonl\n    limit: 2")(hostile_dir)
    with pytest.warns(UserWarning, match="is not loaded|its thresholds are not declared") as warned:
        assert cli(hostile_dir, *RUN) == 0, capsys.readouterr().err
    said = " ".join(str(w.message) for w in warned)
    assert "bomb" in said and "a|b.yaml" in said
    assert (tmp_path / "runs" / "2026-11-01" / "good" / "report.md").exists()
    assert (tmp_path / "warehouse.duckdb").exists()


def test_definitions_load_beside_broken_configs(hostile_dir: Path, tmp_path: Path) -> None:
    # In a fresh process with a timeout: the bomb used to hang the load of the whole code location.
    write("configs/bomb.yaml", BOMB)(hostile_dir)
    write("configs/recursive.yaml", "owners: &o [*o]\n")(hostile_dir)
    write("configs/deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000 + "\n")(hostile_dir)
    write("configs/a|b.yaml", GOOD)(hostile_dir)
    write("configs/manual.yaml", GOOD.replace("schedule: nightly", "schedule: manual"))(hostile_dir)
    (hostile_dir / "configs" / "dir.yaml").mkdir()
    code = (
        "import json, sys, warnings\n"
        "from pathlib import Path\n"
        "warnings.simplefilter('ignore')\n"
        "from eval_assets.definitions import build_definitions\n"
        "from eval_assets.settings import Settings\n"
        "data, tmp = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "defs = build_definitions(Settings(data, tmp / 'w.duckdb', tmp / 'runs'))\n"
        "graph = defs.resolve_asset_graph()\n"
        "import dagster as dg\n"
        "partitions = graph.get(dg.AssetKey('eval_report')).partitions_def\n"
        "dims = {d.name: d.partitions_def for d in partitions.partitions_defs}\n"
        "print(json.dumps(sorted(dims['config'].get_partition_keys())))\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, str(hostile_dir), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    assert result.returncode == 0, result.stderr
    # Broken configs with valid names keep their partition (their runs fail loudly, naming the problem);
    # names a partition cannot hold, and a directory, are left out instead of breaking everything.
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["bomb", "deep", "good", "manual", "recursive"]
    assert time.perf_counter() - started < 120
