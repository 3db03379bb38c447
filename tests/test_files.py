"""mechcode.files: a write that fails leaves the old file as it was and no temporary file behind."""
from __future__ import annotations

import json

import pytest

from mechcode.files import atomic_path, copy_atomic, write_json_atomic, write_jsonl_atomic


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    write_json_atomic(target, {"a": 1})

    def rows():
        yield {"b": 2}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(target, rows())
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_writes_and_copies(tmp_path):
    n = write_jsonl_atomic(tmp_path / "sub" / "p.jsonl", [{"x": "é"}, {"x": 2}])
    assert n == 2 and (tmp_path / "sub" / "p.jsonl").read_text(encoding="utf-8") == '{"x": "é"}\n{"x": 2}\n'
    copy_atomic(tmp_path / "sub" / "p.jsonl", tmp_path / "copy.jsonl")
    assert (tmp_path / "copy.jsonl").read_bytes() == (tmp_path / "sub" / "p.jsonl").read_bytes()
    with atomic_path(tmp_path / "t.txt") as tmp:
        tmp.write_text("done")
        assert not (tmp_path / "t.txt").exists()  # not visible before the block ends
    assert (tmp_path / "t.txt").read_text() == "done"
