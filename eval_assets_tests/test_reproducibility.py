"""The config's reproducibility: inputs (issue 12 item 3): content hashes of files and directory trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from eval_assets.config import config_hash, load_config
from eval_assets.errors import InvalidInputError
from eval_assets.project import load_plan
from eval_assets.reproducibility import content_hash, hashes_json, reproducibility_hashes


def make_index(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


FILES = {"vectors.bin": b"\x00\x01\x02" * 100, "meta/ids.json": b'["a","b"]', ".manifest": b"v1"}


def test_a_directory_hashes_its_content_not_its_order_or_place(tmp_path: Path) -> None:
    first = make_index(tmp_path / "a", FILES)
    # The same files written in the opposite order (another directory listing order, other mtimes).
    second = make_index(tmp_path / "b", dict(reversed(FILES.items())))
    assert content_hash(first) == content_hash(second)
    copied = shutil.copytree(first, tmp_path / "elsewhere" / "copy")
    assert content_hash(copied) == content_hash(first)
    assert content_hash(first).startswith("sha256:") and len(content_hash(first)) == len("sha256:") + 16


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda root: (root / "vectors.bin").write_bytes(b"\x00\x01\x03" + b"\x00\x01\x02" * 99), id="one-byte"
        ),
        pytest.param(lambda root: (root / "meta" / "ids.json").rename(root / "meta" / "ids2.json"), id="rename"),
        pytest.param(lambda root: (root / "new.bin").write_bytes(b""), id="an-empty-file-added"),
        # A hidden file is as much a part of an index as its vectors.
        pytest.param(lambda root: (root / ".manifest").write_bytes(b"v2"), id="hidden-file"),
        pytest.param(lambda root: (root / "meta" / "ids.json").unlink(), id="removed"),
    ],
)
def test_any_change_to_the_tree_changes_the_hash(tmp_path: Path, change: object) -> None:
    root = make_index(tmp_path / "index", FILES)
    before = content_hash(root)
    change(root)  # type: ignore[operator]
    assert content_hash(root) != before


def test_a_file_hashes_its_bytes_and_odd_trees_are_refused(tmp_path: Path) -> None:
    single = tmp_path / "index.faiss"
    single.write_bytes(b"abc")
    before = content_hash(single)
    single.write_bytes(b"abd")
    assert content_hash(single) != before
    root = make_index(tmp_path / "index", FILES)
    (root / "loop").symlink_to(root, target_is_directory=True)
    with pytest.raises(ValueError, match="symlink to a directory"):
        content_hash(root)
    with pytest.raises(FileNotFoundError):
        content_hash(tmp_path / "missing")


def _with_inputs(data_dir: Path, inputs: dict[str, str]) -> Path:
    path = data_dir / "configs" / "nightly.yaml"
    config = yaml.safe_load(path.read_text())
    config["reproducibility"] = inputs
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_a_missing_input_fails_validation_naming_file_line_and_field(data_dir: Path) -> None:
    make_index(data_dir / "indexes" / "faq", FILES)
    path = _with_inputs(data_dir, {"retrieval_index": "indexes/faq", "tool_fixtures": "fixtures/tools.json"})
    with pytest.raises(InvalidInputError) as caught:
        load_plan(data_dir, "nightly")
    [problem] = caught.value.problems
    lines = path.read_text().splitlines()
    assert problem.path == path and problem.field == "reproducibility.tool_fixtures"
    assert problem.line is not None and "tool_fixtures" in lines[problem.line - 1]
    assert "'fixtures/tools.json' does not exist" in problem.message


def test_bad_names_are_config_errors_and_hashes_are_taken_in_name_order(data_dir: Path) -> None:
    path = _with_inputs(data_dir, {"Retrieval Index": "x"})
    with pytest.raises(InvalidInputError, match="lowercase letters"):
        load_config(path)
    make_index(data_dir / "indexes" / "faq", FILES)
    (data_dir / "tools.json").write_text("{}")
    _with_inputs(data_dir, {"tools": "tools.json", "retrieval_index": "indexes/faq"})
    plan = load_plan(data_dir, "nightly")
    hashes = reproducibility_hashes(data_dir, plan.config)
    assert list(hashes) == ["retrieval_index", "tools"]
    assert hashes_json(hashes) == (
        f'{{"retrieval_index":"{content_hash(data_dir / "indexes" / "faq")}",'
        f'"tools":"{content_hash(data_dir / "tools.json")}"}}'
    )
    assert hashes_json({}) is None


def test_a_config_without_inputs_keeps_its_hash(data_dir: Path) -> None:
    # Configs written before reproducibility: existed must not look changed against their baselines.
    path = data_dir / "configs" / "nightly.yaml"
    before = config_hash(load_config(path).config)
    _with_inputs(data_dir, {})
    assert config_hash(load_config(path).config) == before
    make_index(data_dir / "indexes" / "faq", FILES)
    _with_inputs(data_dir, {"retrieval_index": "indexes/faq"})
    assert config_hash(load_config(path).config) != before
