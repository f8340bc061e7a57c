"""inspect_ai datasets: samples as JSON Lines, a JSON array or CSV (``input``, ``target``, ``id``, ``metadata``).

``input`` is a string or chat messages; ``target`` a string or a list of acceptable answers. A dataset
read with a ``FieldSpec`` names its own fields: pass them as ``--input-key`` / ``--reference-key``. The
scorer lives in the inspect task's Python code, not in the samples, so the import's ``--scorer`` scores them.
"""

from __future__ import annotations

from pathlib import Path

from eval_assets.importing.model import Case, NotImportableError, Parsed, source_error
from eval_assets.importing.sources import clean_id, read_records, to_prompt, to_references

#: Sample fields that need inspect's sandbox (tools, files in a container): nothing to replay here.
_SANDBOX_FIELDS = ("sandbox", "files", "setup")


def parse(source: Path, *, input_key: str | None = None, reference_key: str | None = None) -> Parsed:
    """Read inspect_ai samples.

    Raises:
        InvalidInputError: for an unreadable source or one without samples.
    """
    input_field, target_field = input_key or "input", reference_key or "target"
    parsed = Parsed(has_graders=False)
    seen: set[str] = set()
    count = 0
    for where, sample in read_records(source):
        count += 1
        if not isinstance(sample, dict):
            parsed.skip("sample", where, "not an object")
            continue
        try:
            if input_field not in sample:
                raise NotImportableError(
                    f"no {input_field!r} field (fields: {', '.join(sample)}; choose with --input-key)"
                )
            prompt = to_prompt(sample[input_field])
        except NotImportableError as exc:
            parsed.skip("sample", where, str(exc))
            continue
        case_id, renamed = clean_id(sample.get("id"), f"sample-{count}", seen)
        if renamed:
            parsed.skip("id", where, renamed + f"; imported as {case_id!r}")
        metadata = dict(sample.get("metadata") or {}) if isinstance(sample.get("metadata"), dict) else {}
        if sample.get("choices"):
            metadata["choices"] = sample["choices"]
            _note(
                parsed,
                "choices -> metadata (inspect's multiple_choice() solver adds them to the prompt; here "
                "the prompt is sent as it is)",
            )
        for field in _SANDBOX_FIELDS:
            if sample.get(field):
                parsed.skip(field, where, "needs inspect's sandbox, which this project does not run")
        for field in sorted(set(sample) - {input_field, target_field, "id", "metadata", "choices", *_SANDBOX_FIELDS}):
            metadata[field] = sample[field]
            _note(parsed, f"field {field!r} -> metadata")
        parsed.cases.append(
            Case(case_id, prompt, where, reference=to_references(sample.get(target_field)), metadata=metadata)
        )
    if count == 0:
        raise source_error(source, "no samples")
    return parsed


def _note(parsed: Parsed, note: str) -> None:
    if note not in parsed.kept:
        parsed.kept.append(note)
