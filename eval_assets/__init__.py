"""eval_assets: nightly offline LLM evaluations as a Dagster asset graph stored in DuckDB."""

__version__ = "0.1.0"
