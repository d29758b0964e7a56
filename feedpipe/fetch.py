"""HTTP fetching, the only user of `requests`: conditional GET, bounded in time, size and redirects.

Politeness: at most one request at a time per host (a lock per host, shared by threads), and an
optional minimum interval between requests to the same host. Errors name the URL, what is wrong
and how to fix it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from feedpipe.core.clock import Clock
from feedpipe.core.errors import FetchError
from feedpipe.core.model import Fetched
from feedpipe.core.settings import FetchSettings

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_STATUS_HINTS = {
    400: "the server rejected the request; check the URL for typos",
    401: "the feed needs a login; feedpipe does not send credentials, use a public feed URL",
    403: "the server refuses feedpipe; check the User-Agent contact URL in the config or ask the site for access",
    404: "the URL does not exist (any more); find the current feed URL on the site",
    410: "the feed was removed for good; delete this source from the config",
    429: "the server is rate-limiting feedpipe; fetch this source less often (interval_minutes)",
    451: "the content is blocked for legal reasons where feedpipe runs",
}


class _Deadline:
    """Closes the response's socket when the total deadline passes, so a trickling server is cut off."""

    def __init__(self, seconds: float, response: requests.Response) -> None:
        self.expired = False
        self._response = response
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.expired = True
        try:
            conn = getattr(self._response.raw, "_connection", None)
            sock = getattr(conn, "sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


class Fetcher:
    """Fetches URLs politely; thread-safe.

    `now` is the app's clock (wall time, for HTTP-date Retry-After); `clock` is a monotonic timer for
    deadlines and politeness intervals. `clock`/`sleep` are injectable for tests.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        now: Clock,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        if "http" not in settings.user_agent and "@" not in settings.user_agent:
            log.warning("User-Agent %r has no contact URL or address; publishers may block anonymous fetchers",
                        settings.user_agent)
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._session = session or self._make_session(settings)
        self._locks: dict[str, threading.Lock] = {}
        self._last_request: dict[str, float] = {}
        self._locks_guard = threading.Lock()

    @staticmethod
    def _make_session(settings: FetchSettings) -> requests.Session:
        s = requests.Session()
        s.headers.update({
            "User-Agent": settings.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
                      "text/html;q=0.8, */*;q=0.5",
        })
        s.max_redirects = settings.max_redirects
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.trust_env = False  # no surprise proxies or .netrc credentials
        return s

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _host_lock(self, host: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(host, threading.Lock())

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET `url`, sending stored validators back byte for byte; a 304 comes back with not_modified=True."""
        try:
            return self._get(url, etag=etag, last_modified=last_modified)
        except FetchError as exc:
            if exc.retry_after is not None and 0 <= exc.retry_after <= self.settings.retry_after_max_wait:
                log.info("%s: retrying once after %.1fs (Retry-After)", url, exc.retry_after)
                self._sleep(exc.retry_after)
                return self._get(url, etag=etag, last_modified=last_modified)
            raise

    def _get(self, url: str, *, etag: str | None, last_modified: str | None) -> Fetched:
        st = self.settings
        start = self._clock()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        seen = [url]
        while True:
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchError(current, "not an http(s) URL", "feed and page sources need http:// or https:// URLs; "
                                 "use a file source for local files")
            remaining = st.deadline - (self._clock() - start)
            if remaining <= 0:
                raise FetchError(url, f"took longer than the {st.deadline:g}s deadline",
                                 "the server is too slow; raise fetch.deadline or try later")
            host = parts.hostname.lower()
            with self._host_lock(host):
                self._wait_politely(host)
                try:
                    resp = self._session.get(
                        current, headers=headers, stream=True, allow_redirects=False,
                        timeout=(st.connect_timeout, min(st.read_timeout, remaining)),
                    )
                except requests.exceptions.ConnectTimeout as exc:
                    raise FetchError(url, f"could not connect within {st.connect_timeout:g}s",
                                     "the host may be down or blocking; check the URL or try later") from exc
                except requests.exceptions.ReadTimeout as exc:
                    raise FetchError(url, f"no answer within {min(st.read_timeout, remaining):g}s",
                                     "the server is too slow; raise fetch.read_timeout or try later") from exc
                except requests.exceptions.InvalidHeader as exc:
                    raise FetchError(url, f"invalid request header ({_short(exc)})",
                                     "stored validators or the User-Agent contain a line break; clear them") from exc
                except requests.exceptions.ConnectionError as exc:
                    raise FetchError(url, f"connection failed ({_short(exc)})",
                                     "check the host name and your network; the site may be down") from exc
                except requests.exceptions.RequestException as exc:
                    raise FetchError(url, f"request failed ({_short(exc)})", "check the URL") from exc
                finally:
                    self._last_request[host] = self._clock()
                try:
                    if resp.status_code in _REDIRECTS and resp.headers.get("Location"):
                        nxt = urljoin(current, resp.headers["Location"])
                        if nxt in seen:
                            chain = " -> ".join([*seen[seen.index(nxt):], nxt])
                            raise FetchError(url, f"redirect loop ({chain})",
                                             "the site redirects in a circle; use the final feed URL or tell the "
                                             "site owner")
                        if len(seen) > st.max_redirects:
                            raise FetchError(url, f"more than {st.max_redirects} redirects (last: {nxt})",
                                             "use the final URL in the config")
                        seen.append(nxt)
                        current = nxt
                        continue
                    return self._finish(url, current, resp, start, etag=etag, last_modified=last_modified)
                finally:
                    resp.close()

    def _wait_politely(self, host: str) -> None:
        interval = self.settings.host_interval
        last = self._last_request.get(host)
        if interval > 0 and last is not None:
            wait = interval - (self._clock() - last)
            if wait > 0:
                self._sleep(wait)

    def _finish(self, url: str, final: str, resp: requests.Response, start: float, *,
                etag: str | None, last_modified: str | None) -> Fetched:
        st = self.settings
        status = resp.status_code
        ctype = resp.headers.get("Content-Type")
        new_etag = resp.headers.get("ETag")
        new_lm = resp.headers.get("Last-Modified")
        if status == 304:
            return Fetched(url=url, final_url=final, status=304, body=b"", content_type=ctype,
                           etag=new_etag or etag, last_modified=new_lm or last_modified, not_modified=True)
        if status in (429, 503):
            retry_after = parse_retry_after(resp.headers.get("Retry-After"), self._now())
            wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
            raise FetchError(url, f"HTTP {status} {resp.reason or ''}".rstrip() + wait,
                             _STATUS_HINTS.get(status, "the server is overloaded or down; feedpipe will try later"),
                             retry_after=retry_after)
        if status >= 400:
            kind = "client error" if status < 500 else "server error"
            raise FetchError(url, f"HTTP {status} {resp.reason or ''} ({kind})".replace("  ", " "),
                             _STATUS_HINTS.get(status, "the server failed; try later" if status >= 500
                                               else "check the URL"))
        if status in _REDIRECTS:
            raise FetchError(url, f"HTTP {status} redirect without a Location header", "tell the site owner")
        declared = resp.headers.get("Content-Length")
        if (declared and declared.isdigit() and int(declared) > st.max_bytes
                and not resp.headers.get("Content-Encoding")):
            raise FetchError(url, f"response is {int(declared):,} bytes, over the {st.max_bytes:,}-byte cap",
                             "raise fetch.max_bytes if this source really is that large")
        remaining = st.deadline - (self._clock() - start)
        body = self._read_body(url, resp, remaining)
        if self._clock() - start > st.deadline:
            raise FetchError(url, f"took longer than the {st.deadline:g}s deadline",
                             "the server is too slow; raise fetch.deadline or try later")
        return Fetched(url=url, final_url=final, status=status, body=body, content_type=ctype,
                       etag=new_etag, last_modified=new_lm)

    def _read_body(self, url: str, resp: requests.Response, remaining: float) -> bytes:
        st = self.settings
        deadline_msg = (f"took longer than the {st.deadline:g}s deadline",
                        "the server sends too slowly; raise fetch.deadline or try later")
        chunks: list[bytes] = []
        total = 0
        end = self._clock() + remaining
        with _Deadline(remaining, resp) as timer:
            try:
                for chunk in resp.iter_content(chunk_size=st.chunk_size):
                    total += len(chunk)
                    if total > st.max_bytes:
                        raise FetchError(url, f"body is over the {st.max_bytes:,}-byte cap (decoded)",
                                         "the response is too large or a compression bomb; raise fetch.max_bytes "
                                         "only if the source is trustworthy")
                    chunks.append(chunk)
                    if timer.expired or self._clock() > end:
                        raise FetchError(url, *deadline_msg)
            except requests.exceptions.RequestException as exc:
                if timer.expired:
                    raise FetchError(url, *deadline_msg) from exc
                if isinstance(exc, requests.exceptions.ContentDecodingError):
                    raise FetchError(url, f"the compressed body is corrupt ({_short(exc)})",
                                     "the server sends broken gzip/deflate; tell the site owner") from exc
                raise FetchError(url, f"the connection broke while reading ({_short(exc)})", "try later") from exc
            if timer.expired:
                raise FetchError(url, *deadline_msg)
        return b"".join(chunks)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or junk."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _short(exc: BaseException) -> str:
    """One line (messages end up in logs and a status table), at most 160 characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."
