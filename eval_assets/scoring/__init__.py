"""Scoring: turning model outputs into scores, as pure functions with no Dagster import.

``scorers`` holds the deterministic scorers and ``judge`` parses an LLM judge's answer; the Dagster
assets only call into this package and persist what it returns.
"""
