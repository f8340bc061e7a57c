"""Dagster glue, one module per stage of the graph, with that stage's checks beside it."""
