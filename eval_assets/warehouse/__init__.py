"""The warehouse: the one owner of the schema, its migrations, typed rows, partition writes and every query.

Nothing outside this package writes SQL (a test greps for it). It knows nothing of Dagster: it takes a
DuckDB connection, or a location. Modules:

- ``location``: where the warehouse lives (one setting: a DuckLake by default, or a plain DuckDB file);
- ``connection``: connections with the lake attached, write transactions retried on conflicts;
- ``schema``: tables, columns, views and what is derived from what;
- ``migrations``: create a warehouse, upgrade an older one in place, refuse a newer one;
- ``rows``: rows as typed frames (a misspelt or missing non-null field is an error, never a NULL);
- ``cells``: replace and read one (date, config) cell of a table;
- ``baselines``: which partition a partition is compared with, and people's accepted baselines;
- ``copy``: moving an older DuckDB warehouse into the lake;
- ``cache``: the response cache (``eval_assets.llm.cache.CacheStore`` on DuckDB);
- ``reads``: what the stages, the gate, the alerts and the pages read;
- ``history``: each example's verdicts over a config's latest nights (the flakiness ledger's input);
- ``review``: review tasks and people's decisions (append-only);
- ``calibration``: judges measured against people (the ``calibration`` table and its pairs);
- ``sandbox``: the read-only query surface for ``eval-assets sql`` and notebooks;
- ``retention``: which per-example rows are past their keeping, and removing them;
- ``maintenance``: giving the space back (DuckLake compaction and snapshot expiry, CHECKPOINT).
"""

from eval_assets.warehouse.baselines import (
    Acceptance,
    BaselineChoice,
    NoBaseline,
    accept_baseline,
    acceptances,
    choose_baseline,
    previous_run_date,
    resolve_baseline,
)
from eval_assets.warehouse.cache import (
    DuckDBCacheStore,
    cache_stats,
    clear_cache,
    lookup_cached_responses,
    store_cached_responses,
)
from eval_assets.warehouse.calibration import (
    calibration_history,
    decided_overrides,
    decided_pairs,
    previous_judge_versions,
    review_task_counts,
)
from eval_assets.warehouse.cells import count_partition, partition_stamp, read_partition, replace_partition
from eval_assets.warehouse.columns import LINEAGE_KEYS, RUN_KEYS, Column
from eval_assets.warehouse.connection import attach_sql, connect, in_transaction, is_write_conflict, scalar, sql_frame
from eval_assets.warehouse.copy import CopiedTable, CopyError, copy_warehouse
from eval_assets.warehouse.history import ledger_highlights, score_history
from eval_assets.warehouse.location import WarehouseLocation, WarehouseSettingError, default_setting, parse_location
from eval_assets.warehouse.maintenance import Maintenance, give_space_back, storage_bytes
from eval_assets.warehouse.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    WarehouseVersionError,
    ensure_schema,
    schema_version,
    table_ddl,
)
from eval_assets.warehouse.reads import (
    OverallMetric,
    StoredGate,
    details_pruned,
    flipped_to_fail,
    gate_run_id,
    latest_evaluated_date,
    latest_run_summaries,
    metric_history,
    model_of,
    overall_metrics,
    scored_examples,
    scores_with_outputs,
    spent_in_run,
    stored_gates,
)
from eval_assets.warehouse.retention import (
    DETAIL_TABLES,
    NightRows,
    Protection,
    RetentionPlan,
    RetentionResult,
    TablePlan,
    Windows,
    apply_retention,
    plan_retention,
)
from eval_assets.warehouse.review import (
    NewDecision,
    TaskContext,
    WarehouseBusyError,
    decisions,
    has_human_verdicts,
    human_verdicts,
    open_for_decisions,
    queue_counts,
    record_decision,
    review_queue,
    reviewer_progress,
    settled_keys,
    task_by_id,
    task_context,
    task_id,
)
from eval_assets.warehouse.rows import RowError, frame
from eval_assets.warehouse.sandbox import QUERYABLE, QueryRefusedError, ReadOnlySession, connect_readonly
from eval_assets.warehouse.schema import (
    DERIVED_FROM_HERE,
    PARTITIONED_TABLES,
    TABLES,
    VIEWS,
    describe_tables,
    downstream_of,
)

__all__ = [
    "DERIVED_FROM_HERE",
    "DETAIL_TABLES",
    "LINEAGE_KEYS",
    "MIGRATIONS",
    "PARTITIONED_TABLES",
    "QUERYABLE",
    "RUN_KEYS",
    "SCHEMA_VERSION",
    "TABLES",
    "VIEWS",
    "Acceptance",
    "BaselineChoice",
    "Column",
    "CopiedTable",
    "CopyError",
    "DuckDBCacheStore",
    "Maintenance",
    "NewDecision",
    "NightRows",
    "NoBaseline",
    "OverallMetric",
    "Protection",
    "QueryRefusedError",
    "ReadOnlySession",
    "RetentionPlan",
    "RetentionResult",
    "RowError",
    "StoredGate",
    "TablePlan",
    "TaskContext",
    "WarehouseBusyError",
    "WarehouseLocation",
    "WarehouseSettingError",
    "WarehouseVersionError",
    "Windows",
    "accept_baseline",
    "acceptances",
    "apply_retention",
    "attach_sql",
    "cache_stats",
    "calibration_history",
    "choose_baseline",
    "clear_cache",
    "connect",
    "connect_readonly",
    "copy_warehouse",
    "count_partition",
    "decided_overrides",
    "decided_pairs",
    "decisions",
    "default_setting",
    "describe_tables",
    "details_pruned",
    "downstream_of",
    "ensure_schema",
    "flipped_to_fail",
    "frame",
    "gate_run_id",
    "give_space_back",
    "has_human_verdicts",
    "human_verdicts",
    "in_transaction",
    "is_write_conflict",
    "latest_evaluated_date",
    "latest_run_summaries",
    "ledger_highlights",
    "lookup_cached_responses",
    "metric_history",
    "model_of",
    "open_for_decisions",
    "overall_metrics",
    "parse_location",
    "partition_stamp",
    "plan_retention",
    "previous_judge_versions",
    "previous_run_date",
    "queue_counts",
    "read_partition",
    "record_decision",
    "replace_partition",
    "resolve_baseline",
    "review_queue",
    "review_task_counts",
    "reviewer_progress",
    "scalar",
    "schema_version",
    "score_history",
    "scored_examples",
    "scores_with_outputs",
    "settled_keys",
    "spent_in_run",
    "sql_frame",
    "storage_bytes",
    "store_cached_responses",
    "stored_gates",
    "table_ddl",
    "task_by_id",
    "task_context",
    "task_id",
]
