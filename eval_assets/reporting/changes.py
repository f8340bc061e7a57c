"""What differs between a run and its baseline: the factors a drop can come with (pure).

A report opens with these, so the reader sees at once whether a drop came with a model change, a prompt
change or a dataset change, before reading a single number. Factors are flat ``name -> value`` strings,
stored with the run (``runs.factors_json``) and compared name by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

#: Shown for a system prompt that is not set (distinct from any hash).
NO_PROMPT = "none"


@dataclass(frozen=True)
class FactorChange:
    """One factor that differs: ``before`` None when it is new, ``after`` None when it is gone."""

    factor: str
    before: str | None
    after: str | None


def run_factors(
    *,
    model_id: str,
    model_version: str | None,
    system_prompt: str | None,
    sampling: Mapping[str, object],
    dataset_hashes: Mapping[str, str],
    rubric_hashes: Mapping[str, str],
    judges: Mapping[str, str | None],
    scorer_versions: Mapping[str, str],
    code_sha: str,
    git_sha: str,
    reproducibility: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The factors of one run, in the order a report lists them.

    Args:
        model_id: The model under test as configured.
        model_version: The version the provider reported (None: not reported).
        system_prompt: The system prompt (recorded as a short hash: prompts can be long, and secret-ish).
        sampling: Sampling parameters, e.g. temperature, max_tokens, seed.
        dataset_hashes: Content hash by dataset name.
        rubric_hashes: Content hash by rubric name.
        judges: Judge model id -> the version its provider reported.
        scorer_versions: Scorer name -> version of its scoring function.
        code_sha: Commit of the eval_assets code.
        git_sha: Commit of the data directory.
        reproducibility: Content hash by ``reproducibility:`` input (e.g. a retrieval index).
    """
    prompt = NO_PROMPT if system_prompt is None else "sha256:" + hashlib.sha256(system_prompt.encode()).hexdigest()[:12]
    factors = {"model": model_id, "model version": model_version or "not reported", "system prompt": prompt}
    factors.update({f"sampling {name}": json.dumps(value) for name, value in sorted(sampling.items())})
    factors.update({f"dataset {name}": value for name, value in sorted(dataset_hashes.items())})
    factors.update({f"rubric {name}": value for name, value in sorted(rubric_hashes.items())})
    factors.update({f"input {name}": value for name, value in sorted((reproducibility or {}).items())})
    factors.update({f"judge {name}": version or "version not reported" for name, version in sorted(judges.items())})
    factors.update({f"scorer {name}": version for name, version in sorted(scorer_versions.items())})
    factors["code commit"] = code_sha
    factors["data commit"] = git_sha
    return factors


def changed_factors(current: Mapping[str, str], baseline: Mapping[str, str]) -> list[FactorChange]:
    """The factors that differ, in the current run's order, then those only the baseline had."""
    changes = [
        FactorChange(name, baseline.get(name), value) for name, value in current.items() if baseline.get(name) != value
    ]
    changes.extend(FactorChange(name, value, None) for name, value in baseline.items() if name not in current)
    return changes
