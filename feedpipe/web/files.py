"""Public files (feeds, OPML, digest editions): read once per change, served with strong validators.

The one owner of how the web side answers with bytes: content type per suffix, ETag (a hash of the
bytes), Last-Modified, Cache-Control, and 304 on If-None-Match or If-Modified-Since.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import flask
from flask import abort, request
from werkzeug.security import safe_join

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
FEED_MAX_AGE = 300  # seconds a client or proxy may reuse a feed without asking


def etag_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


@dataclass(frozen=True)
class CachedFile:
    stamp: tuple[int, int]  # (mtime_ns, size)
    body: bytes
    etag: str
    modified: datetime


class FileCache:
    """Bytes and ETag of public files, re-read only when the file's mtime or size changes."""

    def __init__(self, limit: int = 512) -> None:
        self._items: dict[str, CachedFile] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def get(self, path: Path) -> CachedFile | None:
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        key = str(path)
        cached = self._items.get(key)
        if cached is not None and cached.stamp == stamp:
            return cached
        body = path.read_bytes()
        cached = CachedFile(stamp=stamp, body=body, etag=etag_of(body),
                            modified=datetime.fromtimestamp(int(st.st_mtime), UTC))
        with self._lock:
            if len(self._items) >= self.limit:
                self._items.clear()
            self._items[key] = cached
        return cached


def public_path(public_dir: Path, *parts: str) -> Path:
    """`public_dir/parts...`, or 404 when the parts would leave `public_dir`."""
    joined = safe_join(str(public_dir), *parts)
    if joined is None:
        abort(404)
    return Path(joined)


def conditional(body: bytes, *, content_type: str, etag: str, modified: datetime | None,
                max_age: int = FEED_MAX_AGE) -> flask.Response:
    """A public, cacheable answer: 200 with the body, or 304 when the request's validators match."""
    response = flask.Response(body, content_type=content_type)
    response.set_etag(etag)
    if modified is not None:
        response.last_modified = modified
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.make_conditional(request)  # in place: 304 and an empty body when the validators match
    return response


def serve_file(files: FileCache, path: Path, *, max_age: int = FEED_MAX_AGE) -> flask.Response:
    """The file at `path` (404 when missing) with its content type and validators."""
    cached = files.get(path)
    if cached is None:
        abort(404)
    return conditional(cached.body, content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                       etag=cached.etag, modified=cached.modified, max_age=max_age)
