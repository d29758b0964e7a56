"""Atomic writes of output files, only when their bytes change (so ETag / Last-Modified stay meaningful)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_if_changed(path: Path | str, data: bytes) -> bool:
    """Write `data` to `path` atomically unless the file already holds exactly these bytes.

    The bytes go to a temporary file in the same folder, are fsynced, and replace the old file with
    `os.replace`: a reader sees the old file or the new one, never half of one. (The folder itself is
    not fsynced: after a crash the old file may come back, and the next build rewrites it.)
    Returns True when the file was written, False when it already held these bytes (its mtime is
    then untouched).
    """
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must be able to read the feed
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True
