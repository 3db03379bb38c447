"""One way to write a file that is never seen half-written (a temporary sibling, fsync, rename),
and one way to read a settings file (:func:`read_parsed`).

Everything mechcode writes for later reading (JSON reports and checkpoints, JSONL predictions,
the extraction cache, a review's codebook copy) goes through :func:`atomic_path`; on any error
the temporary file is removed and the target is left as it was.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is fsynced and renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, data: Any, indent: int | None = None) -> None:
    """``data`` as JSON (UTF-8, non-ASCII kept)."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=indent, default=str))


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """``rows`` as JSON lines; returns how many were written."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def copy_atomic(src: str | Path, dst: str | Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def read_parsed(path: str | Path, parse: Callable[[str], Any], parse_errors: tuple[type[Exception], ...],
                error: type[Exception], what: str, fmt: str) -> Any:
    """``parse`` of a UTF-8 file's text: a missing file or one ``parse`` rejects is one ``error``
    naming the file (``"{what} not found: PATH"``, ``"PATH: not valid {fmt} (...)"``)."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (*parse_errors, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid {fmt} ({exc.__class__.__name__}: {exc})") from exc
