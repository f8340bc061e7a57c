"""The warehouse schema: every table's columns with their types and meaning, the views, and lineage.

Every table holding run data carries the run keys (``eval_date``, ``config_name``) and the lineage keys
(``run_id``, ``git_sha``, ``config_hash``). This is the current schema; ``migrations`` brings an older
warehouse to it.
"""

from __future__ import annotations

from eval_assets.warehouse.columns import (
    BOOL,
    CODE_SHA,
    DATE,
    EXAMPLE_KEYS,
    FLOAT,
    INT,
    LINEAGE_KEYS,
    RUN_KEYS,
    STR,
    STR_LIST,
    TS,
    Column,
    column as _c,
)
from eval_assets.warehouse.schema_ledger import add_repeats_and_ledger

TABLES: dict[str, tuple[Column, ...]] = {
    "examples": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("line", "INTEGER", INT, "line in the dataset file", nullable=False),
        _c("input_json", "VARCHAR", STR, "the input as JSON (string or chat messages)", nullable=False),
        _c("input_text", "VARCHAR", STR, "the input as text (chats as 'role: content' lines)", nullable=False),
        _c("reference", "VARCHAR[]", STR_LIST, "acceptable answers", nullable=False),
        _c("tags", "VARCHAR[]", STR_LIST, "tags used to slice metrics", nullable=False),
        _c("metadata_json", "VARCHAR", STR, "free-form metadata from the dataset"),
    ),
    "responses": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("model_id", "VARCHAR", STR, "litellm model id from the config", nullable=False),
        _c("model_version", "VARCHAR", STR, "model name the provider reported"),
        _c("request_hash", "VARCHAR", STR, "hash of everything that determines the answer", nullable=False),
        _c("output_text", "VARCHAR", STR, "the model's answer (null on error)"),
        _c("finish_reason", "VARCHAR", STR, "stop, length, ..."),
        _c("input_tokens", "BIGINT", INT, "prompt tokens reported by the provider"),
        _c("output_tokens", "BIGINT", INT, "completion tokens reported by the provider"),
        _c(
            "cost_usd",
            "DOUBLE",
            FLOAT,
            "price of the answer from litellm's price map (null if unknown; cached answers keep their price)",
        ),
        _c("latency_ms", "DOUBLE", FLOAT, "wall time of the successful attempt alone (the provider's latency)"),
        _c(
            "attempts",
            "INTEGER",
            INT,
            "calls made, retries included (0 when served from cache)",
            nullable=False,
        ),
        _c(
            "cached",
            "BOOLEAN",
            BOOL,
            "served without a new provider call (cache or duplicate request)",
            nullable=False,
        ),
        _c(
            "error_type",
            "VARCHAR",
            STR,
            "rate_limit, timeout, server_error, bad_request, auth, ... (null if ok)",
        ),
        _c("error_message", "VARCHAR", STR, "the provider's error message"),
        _c("created_at", "TIMESTAMP", TS, "when the answer was received", nullable=False),
    ),
    "scores": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("scorer", "VARCHAR", STR, "scorer name from the config", nullable=False),
        _c("scorer_kind", "VARCHAR", STR, "exact_match, contains, rubric_judge, ...", nullable=False),
        _c("scorer_version", "VARCHAR", STR, "version of the scoring function", nullable=False),
        _c("scorer_args_json", "VARCHAR", STR, "the scorer's arguments as configured", nullable=False),
        _c("score", "DOUBLE", FLOAT, "normalized score in [0, 1] (null when not scorable)"),
        _c("passed", "BOOLEAN", BOOL, "score >= pass_score (null when not scorable)"),
        _c("detail", "VARCHAR", STR, "why: matched reference, judge rationale, or why it was not scored"),
        _c("tags", "VARCHAR[]", STR_LIST, "the example's tags", nullable=False),
        _c("judge_models", "VARCHAR", STR, "judge model ids, comma-separated (judges only)"),
        _c("prompt_hash", "VARCHAR", STR, "hash of the rubric file (judges only)"),
        _c("judge_error", "VARCHAR", STR, "why a judge verdict is missing (judges only)"),
        _c("judge_spread", "DOUBLE", FLOAT, "max - min of the judges' normalized scores (several judges only)"),
        _c(
            "judges_disagree",
            "BOOLEAN",
            BOOL,
            "judge_spread > the scorer's disagreement_margin, or judges on both sides of the pass line",
        ),
    ),
    "judge_verdicts": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("scorer", "VARCHAR", STR, "rubric_judge scorer name", nullable=False),
        _c("judge_model", "VARCHAR", STR, "judge's litellm model id", nullable=False),
        _c("judge_model_version", "VARCHAR", STR, "model name the judge's provider reported"),
        _c("prompt_hash", "VARCHAR", STR, "hash of the rubric file", nullable=False),
        _c("request_hash", "VARCHAR", STR, "hash of the judge request", nullable=False),
        _c("raw_score", "DOUBLE", FLOAT, "score on the rubric's scale"),
        _c("score", "DOUBLE", FLOAT, "normalized score in [0, 1]"),
        _c("rationale", "VARCHAR", STR, "the judge's rationale"),
        _c("raw_answer", "VARCHAR", STR, "the judge's answer as received"),
        _c("error", "VARCHAR", STR, "call failure or unparseable answer"),
        _c("input_tokens", "BIGINT", INT, "judge prompt tokens"),
        _c("output_tokens", "BIGINT", INT, "judge completion tokens"),
        _c("cost_usd", "DOUBLE", FLOAT, "judge call cost"),
        _c("cached", "BOOLEAN", BOOL, "served from the response cache", nullable=False),
    ),
    "metrics": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("metric", "VARCHAR", STR, "e.g. contains.pass_rate, error_rate, latency_p95_ms", nullable=False),
        _c("tag", "VARCHAR", STR, "null for the whole run, else the tag slice"),
        _c("value", "DOUBLE", FLOAT, "the metric's value (null when nothing was scorable)"),
        _c("n", "BIGINT", INT, "examples behind the value", nullable=False),
        _c("baseline_date", "DATE", DATE, "date of the baseline partition (null when none)"),
        _c("baseline_value", "DOUBLE", FLOAT, "the metric in the baseline partition"),
        _c("delta", "DOUBLE", FLOAT, "value - baseline_value"),
    ),
    "runs": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("model_id", "VARCHAR", STR, "model under test", nullable=False),
        _c("model_version", "VARCHAR", STR, "most common model version reported"),
        _c("dataset_hashes_json", "VARCHAR", STR, "{dataset: hash}", nullable=False),
        _c("prompt_hashes_json", "VARCHAR", STR, "{rubric: hash}", nullable=False),
        _c("n_examples", "BIGINT", INT, "examples replayed", nullable=False),
        _c("n_errors", "BIGINT", INT, "model calls that failed", nullable=False),
        _c("cost_usd", "DOUBLE", FLOAT, "model + judge cost"),
        _c("baseline_date", "DATE", DATE, "partition compared against"),
        _c("finished_at", "TIMESTAMP", TS, "when the metrics were computed", nullable=False),
    ),
    "comparisons": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("scorer", "VARCHAR", STR, "scorer name", nullable=False),
        _c("tag", "VARCHAR", STR, "null for the whole run, else the tag slice"),
        _c("kind", "VARCHAR", STR, "pass_fail (exact McNemar) or graded (paired bootstrap)", nullable=False),
        _c("baseline_config", "VARCHAR", STR, "config of the baseline partition", nullable=False),
        _c("baseline_date", "DATE", DATE, "date of the baseline partition", nullable=False),
        _c("n", "BIGINT", INT, "examples scored in both runs", nullable=False),
        _c("baseline_value", "DOUBLE", FLOAT, "pass rate or mean score on the paired examples, baseline"),
        _c("current_value", "DOUBLE", FLOAT, "the same, this run"),
        _c("delta", "DOUBLE", FLOAT, "current_value - baseline_value"),
        _c("ci_low", "DOUBLE", FLOAT, "lower bound of the 95% interval of delta"),
        _c("ci_high", "DOUBLE", FLOAT, "upper bound of the 95% interval of delta"),
        _c("p_value", "DOUBLE", FLOAT, "two-sided p-value of the paired test"),
        _c("flipped_to_fail", "BIGINT", INT, "examples that passed in the baseline and fail now", nullable=False),
        _c("flipped_to_pass", "BIGINT", INT, "examples that failed in the baseline and pass now", nullable=False),
        _c("regression", "BOOLEAN", BOOL, "drop > min_effect and p < alpha", nullable=False),
        _c("gated", "BOOLEAN", BOOL, "whether this comparison can fail the regression gate", nullable=False),
    ),
    "flips": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("dataset", "VARCHAR", STR, "dataset name", nullable=False),
        _c("example_id", "VARCHAR", STR, "example id", nullable=False),
        _c("scorer", "VARCHAR", STR, "scorer whose verdict flipped", nullable=False),
        _c("direction", "VARCHAR", STR, "pass_to_fail or fail_to_pass", nullable=False),
        _c("baseline_config", "VARCHAR", STR, "config of the baseline partition", nullable=False),
        _c("baseline_date", "DATE", DATE, "date of the baseline partition", nullable=False),
        _c("baseline_output", "VARCHAR", STR, "the baseline's answer"),
        _c("current_output", "VARCHAR", STR, "this run's answer"),
        _c("baseline_detail", "VARCHAR", STR, "why the baseline passed or failed"),
        _c("current_detail", "VARCHAR", STR, "why this run passes or fails"),
    ),
    "gate_results": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("check_name", "VARCHAR", STR, "asset check name", nullable=False),
        _c("severity", "VARCHAR", STR, "error or warn", nullable=False),
        _c("passed", "BOOLEAN", BOOL, "the gate's verdict", nullable=False),
        _c("description", "VARCHAR", STR, "what was measured against what"),
        _c("metadata_json", "VARCHAR", STR, "value, bounds, delta, interval, p-value, n"),
    ),
    "response_cache": (
        _c("request_hash", "VARCHAR", STR, "hash of everything that determines the answer", nullable=False),
        _c("model_id", "VARCHAR", STR, "litellm model id", nullable=False),
        _c("model_version", "VARCHAR", STR, "model name the provider reported"),
        _c("output_text", "VARCHAR", STR, "the answer", nullable=False),
        _c("finish_reason", "VARCHAR", STR, "stop, length, ..."),
        _c("input_tokens", "BIGINT", INT, "prompt tokens"),
        _c("output_tokens", "BIGINT", INT, "completion tokens"),
        _c("cost_usd", "DOUBLE", FLOAT, "what the original call cost"),
        _c("latency_ms", "DOUBLE", FLOAT, "latency of the original call"),
        _c("created_at", "TIMESTAMP", TS, "when it was first received", nullable=False),
    ),
}

# Columns added by schema version 2, at the end of their tables, where ALTER TABLE puts them: a fresh
# warehouse and an upgraded one have the same columns in the same order.
#: The tables that carry the lineage keys (every run table).
LINEAGE_TABLES = (
    "examples", "responses", "scores", "judge_verdicts", "metrics", "runs", "comparisons", "flips", "gate_results"
)  # fmt: skip
for _table in LINEAGE_TABLES:
    TABLES[_table] = (*TABLES[_table], CODE_SHA)
TABLES["responses"] = (
    *TABLES["responses"],
    _c(
        "total_latency_ms",
        "DOUBLE",
        FLOAT,
        "wall time of the call from its first attempt to its answer, retries and backoff included "
        "(null when served from cache, and for rows written before schema 2)",
        required=True,
    ),
)

# Columns added to scores by schema version 4 (issue 10): a person's verdict used in place of the evaluator's.
TABLES["scores"] = (
    *TABLES["scores"],
    _c(
        "human_labelled",
        "BOOLEAN",
        BOOL,
        "score and passed are a person's verdict (a decided review task on the same output), not the evaluator's",
    ),
    _c("evaluator_score", "DOUBLE", FLOAT, "the evaluator's own score, when a person's verdict replaced it"),
)

# Tables added by schema version 4 (issue 10): the nightly review queue, and the decisions people make.
# Decisions are append-only: a changed mind is a new row naming the one it replaces, so none is ever lost.
# No PRIMARY KEY or UNIQUE constraint (DuckLake has none): the writers keep ids unique.
TABLES["review_tasks"] = (
    *RUN_KEYS,
    *LINEAGE_KEYS,
    _c("task_id", "VARCHAR", STR, "the task's id: a hash of its night, config, example and scorer", nullable=False),
    *EXAMPLE_KEYS,
    _c("scorer", "VARCHAR", STR, "the scorer whose verdict a person should check", nullable=False),
    _c("output_hash", "VARCHAR", STR, "hash of the answer under review (a decision holds while it is unchanged)",
       nullable=False),
    _c("reason", "VARCHAR", STR, "the most urgent reason: regression_flip, judge_conflict, judge_vs_deterministic, "
       "calibration_sample", nullable=False),
    _c("reasons", "VARCHAR[]", STR_LIST, "every reason the example was selected for", nullable=False),
    _c("priority", "INTEGER", INT, "1 (most urgent) .. 4, from the reason", nullable=False),
    _c("rank", "INTEGER", INT, "position in the night's queue, most urgent first", nullable=False),
    _c("detail", "VARCHAR", STR, "why the example was selected", nullable=False),
    _c("score", "DOUBLE", FLOAT, "the evaluator's normalized score"),
    _c("passed", "BOOLEAN", BOOL, "the evaluator's verdict"),
    CODE_SHA,
)  # fmt: skip
TABLES["review_decisions"] = (
    _c("decision_id", "VARCHAR", STR, "the decision's id (unique)", nullable=False),
    _c("task_id", "VARCHAR", STR, "the task decided", nullable=False),
    _c("eval_date", "DATE", DATE, "the task's night", nullable=False),
    _c("config_name", "VARCHAR", STR, "the task's config", nullable=False),
    _c("dataset", "VARCHAR", STR, "dataset name", nullable=False),
    _c("example_id", "VARCHAR", STR, "example id", nullable=False),
    _c("scorer", "VARCHAR", STR, "the scorer whose verdict was checked", nullable=False),
    _c("output_hash", "VARCHAR", STR, "hash of the answer the person saw", nullable=False),
    _c("decision", "VARCHAR", STR, "agree, override, reference_wrong, ambiguous, remove or skip", nullable=False),
    _c("score", "DOUBLE", FLOAT, "the person's normalized score (override; agree: the evaluator's)"),
    _c("raw_score", "DOUBLE", FLOAT, "an override's score as given, on the rubric's scale"),
    _c("proposed_reference", "VARCHAR", STR, "the corrected reference (reference_wrong)"),
    _c("note", "VARCHAR", STR, "why", nullable=False),
    _c("reviewer", "VARCHAR", STR, "who decided", nullable=False),
    _c("decided_at", "TIMESTAMP", TS, "when (UTC)", nullable=False),
    _c("evaluator_score", "DOUBLE", FLOAT, "the evaluator's normalized score on the task", required=True),
    _c("previous_decision_id", "VARCHAR", STR, "the decision this one replaces (null for the first)", required=True),
    _c("previous_decision", "VARCHAR", STR, "what it said", required=True),
    _c("previous_score", "DOUBLE", FLOAT, "the score before this decision: the previous person's, else the "
       "evaluator's", required=True),
)  # fmt: skip

# Schema version 5: accepted baselines, why each baseline was chosen, and three-way verdicts with power.
TABLES["runs"] = (
    *TABLES["runs"],
    _c("baseline_config", "VARCHAR", STR, "config of the baseline partition (null when none)", required=True),
    _c(
        "baseline_reason",
        "VARCHAR",
        STR,
        "why that baseline: pinned in the config, accepted by a person, or the latest night that passed its "
        "blocking gates (null for rows written before schema 3)",
        required=True,
    ),
    _c(
        "factors_json",
        "VARCHAR",
        STR,
        "{factor: value}: model and version, system prompt hash, sampling params, dataset and rubric hashes, "
        "judge versions, scorer versions, code and data commits (what the report compares with the baseline)",
        required=True,
    ),
)
TABLES["comparisons"] = (
    *TABLES["comparisons"],
    _c("verdict", "VARCHAR", STR, "PASS, FAIL or INCONCLUSIVE (cannot detect min_effect at this n)", required=True),
    _c("mde", "DOUBLE", FLOAT, "minimum detectable drop at regression.alpha and regression.power", required=True),
    _c("n_needed", "BIGINT", INT, "paired examples needed to detect regression.min_effect", required=True),
    _c(
        "p_adjusted",
        "DOUBLE",
        FLOAT,
        "Benjamini-Hochberg adjusted p-value over the night's comparisons (secondary ones are judged on it)",
        required=True,
    ),
)
#: People's decisions that a night is a good baseline (``eval-assets baseline accept``); never pruned.
TABLES["baseline_acceptances"] = (
    _c("config_name", "VARCHAR", STR, "the config whose night was accepted", nullable=False),
    _c("eval_date", "DATE", DATE, "the accepted night", nullable=False),
    _c("accepted_by", "VARCHAR", STR, "who accepted it (login name)", nullable=False),
    _c("accepted_at", "TIMESTAMP", TS, "when", nullable=False),
    _c("reason", "VARCHAR", STR, "why, e.g. an intended model or prompt change"),
)

# Schema version 6 (issue 10): judges measured against people, per night, scorer and judge model.
TABLES["calibration"] = (
    *RUN_KEYS,
    *LINEAGE_KEYS,
    _c("scorer", "VARCHAR", STR, "the judge scorer", nullable=False),
    _c("rubric", "VARCHAR", STR, "its rubric (file stem in prompts/)", nullable=False),
    _c("judge_model", "VARCHAR", STR, "one judge of the scorer's panel", nullable=False),
    _c("judge_model_version", "VARCHAR", STR, "the model version the judge reported (anchors: tonight's)"),
    _c("sample", "VARCHAR", STR, "decisions (people's decided tasks up to the night) or anchors (the frozen "
       "anchor set, re-graded tonight)", nullable=False),
    _c("n", "BIGINT", INT, "paired ratings (judge and person on the same output)", nullable=False),
    _c("agreement", "DOUBLE", FLOAT, "share of pairs on the same point of the scale (null when n = 0)"),
    _c("kappa", "DOUBLE", FLOAT, "weighted Cohen's kappa, judge vs people (null when n = 0)"),
    _c("kappa_low", "DOUBLE", FLOAT, "lower bound of kappa's confidence interval"),
    _c("kappa_high", "DOUBLE", FLOAT, "upper bound of kappa's confidence interval"),
    _c("weighting", "VARCHAR", STR, "quadratic or linear disagreement weights", nullable=False),
    _c("calibrated", "BOOLEAN", BOOL, "enough decisions and kappa's lower bound above the floor: the judge's "
       "error thresholds may block (decisions sample)", nullable=False),
    _c("reason", "VARCHAR", STR, "why it is calibrated or not", nullable=False),
    CODE_SHA,
)  # fmt: skip

# Schema version 7 (issue 12): the content hashes of the config's reproducibility: inputs on every answer and score.
REPRODUCIBILITY = _c(
    "reproducibility_json",
    "VARCHAR",
    STR,
    "{input: content hash} of the config's reproducibility: inputs, e.g. a retrieval index, taken before the "
    "night's first call (null when the config names none, and for rows written before schema 7)",
    required=True,
)
for _table in ("responses", "scores"):
    TABLES[_table] = (*TABLES[_table], REPRODUCIBILITY)

# Schema version 8 (issue 11): repeats and the flakiness ledger, in their own module (kept short to read).
add_repeats_and_ledger(TABLES)

#: Which tables are computed directly from each table. Rewriting a table's cell clears everything downstream
#: of it in the same transaction, so a rerun that stops at a gate never leaves the previous run's verdicts
#: looking current.
DERIVED_FROM_HERE: dict[str, tuple[str, ...]] = {
    "examples": ("responses",),
    "responses": ("scores", "judge_verdicts"),
    "scores": ("metrics", "runs", "comparisons", "flips", "review_tasks", "flakiness"),
    "judge_verdicts": ("metrics", "runs", "review_tasks", "calibration"),
    "flips": ("review_tasks",),
    "metrics": ("gate_results",),
    "runs": ("gate_results",),
    "comparisons": ("gate_results",),
}


def downstream_of(table: str) -> set[str]:
    """Every table computed, directly or not, from ``table``."""
    found: set[str] = set()
    pending = list(DERIVED_FROM_HERE.get(table, ()))
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(DERIVED_FROM_HERE.get(current, ()))
    return found


#: Tables written per (eval_date, config_name) cell.
PARTITIONED_TABLES = tuple(name for name, columns in TABLES.items() if columns[0].name == "eval_date")

VIEWS: dict[str, str] = {
    "pass_rates": """
        SELECT eval_date, config_name, split_part(metric, '.', 1) AS scorer, coalesce(tag, '(all)') AS tag,
               value AS pass_rate, n, baseline_value AS baseline_pass_rate, delta, run_id, git_sha, config_hash
        FROM metrics WHERE metric LIKE '%.pass_rate'""",
    "latest_runs": """
        SELECT * FROM runs QUALIFY row_number() OVER (PARTITION BY config_name ORDER BY eval_date DESC) = 1""",
    "scored_examples": """
        SELECT s.eval_date, s.config_name, s.dataset, s.example_id, s.scorer, s.score, s.passed, s.detail,
               s.tags, e.input_text, e.reference, r.output_text, r.model_id, r.model_version, r.error_type,
               r.latency_ms, r.cost_usd, s.run_id, s.git_sha, s.config_hash, s.dataset_hash, s.prompt_hash
        FROM scores s
        JOIN examples e USING (eval_date, config_name, dataset, example_id)
        JOIN responses r USING (eval_date, config_name, dataset, example_id, repeat_index)""",
    # The ledger of each config's latest night: what is flaky, newly broken or fixed right now.
    "flaky_examples": """
        SELECT eval_date, config_name, dataset, example_id, scorer, stability, pass_probability, wilson_low,
               wilson_high, flip_rate, last_outcomes, nights, outcomes
        FROM flakiness
        QUALIFY eval_date = max(eval_date) OVER (PARTITION BY config_name)""",
}


def describe_tables() -> str:
    """Markdown listing of tables and columns (kept in the README)."""
    out = []
    for table, columns in TABLES.items():
        out.append(f"### `{table}`\n\n| column | type | meaning |\n|---|---|---|")
        out.extend(f"| `{c.name}` | {c.sql_type} | {c.doc} |" for c in columns)
        out.append("")
    return "\n".join(out)
