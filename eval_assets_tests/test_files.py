"""Publishing generated files: concurrent writers of one report never crash and readers never see a torn file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval_assets import files
from eval_assets.files import write_atomically

#: Each writer process publishes documents that say who wrote them and how long they are, so a reader can
#: tell a whole document from a mix of two (a torn file) or a prefix (a half-written one).
WRITER = """
import sys
from pathlib import Path
from eval_assets.files import write_atomically

path, writer, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(count):
    body = writer * (200_000 + 997 * i)
    write_atomically(path, f"{writer}:{i}:{len(body)}:{body}:END")
"""
WHOLE = re.compile(r"([ab]):(\d+):(\d+):([ab]*):END", re.S)


def test_two_processes_writing_one_report_never_tear_it(tmp_path: Path) -> None:
    # Two runs of one partition used to share `.report.html.partial`: one crashed with FileNotFoundError
    # and a reader saw a torn report. Here two writer processes race while this process keeps reading.
    target = tmp_path / "runs" / "2026-11-07" / "nightly" / "report.html"
    write_atomically(target, "a:0:0::END")
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(target), name, "60"], stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    reads, bad = 0, []
    while any(w.poll() is None for w in writers) or reads < 50:
        text = target.read_text(encoding="utf-8")
        reads += 1
        match = WHOLE.fullmatch(text)
        whole = match and len(match[4]) == int(match[3]) and set(match[4]) <= {match[1]}
        if not whole:
            bad.append(text[:40] + "..." + text[-20:])
    errors = [w.communicate()[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert reads >= 50 and bad == [], f"{len(bad)} of {reads} reads saw a partial file: {bad[:3]}"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temporary file left behind


def test_threads_writing_one_file_all_succeed(tmp_path: Path) -> None:
    # Threads of one process share the pid: the temporary name must still differ per call.
    target = tmp_path / "dashboard.html"
    failures: list[BaseException] = []

    def write(name: str) -> None:
        try:
            for i in range(40):
                write_atomically(target, f"{name}{i}" * 1000)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert os.listdir(tmp_path) == ["dashboard.html"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.md"
    write_atomically(target, "old")

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.md"]


def test_a_document_written_in_pieces_is_published_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "outputs.json"
    write_atomically(target, iter([b"{", b'"a": 1', b"}"]))
    assert target.read_bytes() == b'{"a": 1}'

    def encoder_that_fails() -> Iterator[bytes]:
        yield b'{"half": '
        raise ValueError("cannot encode entry 2")

    with pytest.raises(ValueError, match="entry 2"):
        write_atomically(target, encoder_that_fails())
    assert target.read_bytes() == b'{"a": 1}'
    assert os.listdir(tmp_path) == ["outputs.json"]
    copy = tmp_path / "copy.json"
    write_atomically(copy, files.file_pieces(target, size=3))
    assert copy.read_bytes() == b'{"a": 1}'


def test_published_files_follow_the_umask_like_open_does(tmp_path: Path) -> None:
    # mkstemp would create 0600 files: a report served by another user (a web server) must stay readable.
    previous = os.umask(0o022)
    try:
        write_atomically(tmp_path / "report.html", b"<!DOCTYPE html>")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644
    assert (tmp_path / "report.html").read_bytes() == b"<!DOCTYPE html>"


def test_json_document_reads_back_as_the_standard_librarys_encoding_did() -> None:
    @dataclasses.dataclass
    class Point:
        x: int

    moment = dt.datetime(2026, 11, 7, 1, 2, 3, 123000, tzinfo=dt.UTC)
    document = {
        "date": dt.date(2026, 11, 7),
        "at": moment,
        "point": Point(1),
        "nested": [{"text": "na\u00efve \u2013 \u201cquoted\u201d \n", "n": 3, "share": 0.1, "none": None, "ok": True}],
        "tuple": (1, "two"),
    }
    assert json.loads(files.json_document(document)) == json.loads(json.dumps(document, default=str))
    assert json.loads(files.json_document({1: "a", None: "b"})) == {"1": "a", "null": "b"}
    assert json.loads(files.json_document({"nan": float("nan"), "inf": float("inf")})) == {"nan": None, "inf": None}
    assert files.json_document({"a": [1]}).decode().splitlines() == ["{", '  "a": [', "    1", "  ]", "}"]
