"""The one atomic writer for every file feedpipe publishes: feeds, the OPML index, digest web views, previews.

The bytes go to a temporary file in the same folder, are fsynced, get their mode, and replace the
old file with `os.replace`: a reader (a web server sending the file) sees the old file or the new
one, never half of one. (The folder itself is not fsynced: after a crash the old file may come back,
and the next build rewrites it.)

`FileBatch` does the same for many files (a feed build writes hundreds) at the cost of one disk flush
per batch instead of one per file: each file's bytes go to its temporary file at once; `commit` then
fsyncs every temporary file of the batch (the first flush writes them all; the others find nothing
left to write), renames each over its file, and fsyncs each folder once, so the renames are on disk
too. Every file is still on disk before it replaces the old one; what differs is that the files of a
batch appear together, when it is committed.

`mode` is the file's permission bits, applied as given (the umask does not narrow it): 0644 by
default, because the web server that serves the public folder often runs as another user.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from types import TracebackType

FILE_MODE = 0o644


def write_if_changed(path: Path | str, data: bytes, *, mode: int = FILE_MODE) -> bool:
    """Write `data` to `path` atomically unless the file already holds exactly these bytes.

    Returns True when the file was written, False when it already held these bytes: its mtime is
    then untouched (so ETag / Last-Modified stay meaningful), and only its mode is corrected if it
    differs from `mode`.
    """
    path = Path(path)
    if _holds(path, data, mode):
        return False
    _replace(path, data, mode)
    return True


def _holds(path: Path, data: bytes, mode: int) -> bool:
    """The file already holds exactly `data` (its mode is then corrected if it differs from `mode`)."""
    try:
        st = path.stat()
        if st.st_size == len(data) and path.read_bytes() == data:
            if stat.S_IMODE(st.st_mode) != mode:
                os.chmod(path, mode)
            return True
    except FileNotFoundError:
        pass
    return False


def write_file(path: Path | str, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write `data` to `path` atomically, whether or not the file already holds these bytes."""
    _replace(Path(path), data, mode)


def _replace(path: Path, data: bytes, mode: int) -> None:
    tmp = _temporary(path, data, mode, sync=True)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _temporary(path: Path, data: bytes, mode: int, *, sync: bool) -> str:
    """`data` in a new temporary file beside `path` with `mode` (fsynced if `sync`); its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if sync:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


class FileBatch:
    """Atomic replacement of many files with one disk flush per batch (see the module's docstring).

    Use it as a context manager: leaving the block commits what is left, an exception discards it (the
    old files stay, no temporary file is left). Not for several threads at once.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, Path]] = []  # (temporary file, final path), in the order written

    def __len__(self) -> int:
        return len(self._staged)

    def write_if_changed(self, path: Path | str, data: bytes, *, mode: int = FILE_MODE) -> bool:
        """As `write_if_changed`, but the new file replaces the old one only at `commit`."""
        path = Path(path)
        if _holds(path, data, mode):
            return False
        self._staged.append((_temporary(path, data, mode, sync=False), path))  # flushed at commit
        return True

    def commit(self) -> None:
        """Flush every staged file to disk, move each over its file, then flush each folder once."""
        staged, self._staged = self._staged, []
        moved = 0
        try:
            for tmp, _ in staged:
                _fsync(tmp, os.O_RDONLY)
            for tmp, path in staged:
                os.replace(tmp, path)
                moved += 1
        except BaseException:
            self._staged = staged[moved:]
            self.discard()
            raise
        for folder in dict.fromkeys(path.parent for _, path in staged):
            _fsync(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))

    def discard(self) -> None:
        """Delete the staged temporary files: their files stay as they were."""
        staged, self._staged = self._staged, []
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def __enter__(self) -> FileBatch:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _fsync(path: str | Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
