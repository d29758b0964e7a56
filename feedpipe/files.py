"""The one atomic writer for every file feedpipe publishes: feeds, the OPML index, digest web views, previews.

The bytes go to a temporary file in the same folder, are fsynced, get their mode, and replace the
old file with `os.replace`: a reader (a web server sending the file) sees the old file or the new
one, never half of one. (The folder itself is not fsynced: after a crash the old file may come back,
and the next build rewrites it.)

`mode` is the file's permission bits, applied as given (the umask does not narrow it): 0644 by
default, because the web server that serves the public folder often runs as another user.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

FILE_MODE = 0o644


def write_if_changed(path: Path | str, data: bytes, *, mode: int = FILE_MODE) -> bool:
    """Write `data` to `path` atomically unless the file already holds exactly these bytes.

    Returns True when the file was written, False when it already held these bytes: its mtime is
    then untouched (so ETag / Last-Modified stay meaningful), and only its mode is corrected if it
    differs from `mode`.
    """
    path = Path(path)
    try:
        st = path.stat()
        if st.st_size == len(data) and path.read_bytes() == data:
            if stat.S_IMODE(st.st_mode) != mode:
                os.chmod(path, mode)
            return False
    except FileNotFoundError:
        pass
    _replace(path, data, mode)
    return True


def write_file(path: Path | str, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write `data` to `path` atomically, whether or not the file already holds these bytes."""
    _replace(Path(path), data, mode)


def _replace(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
