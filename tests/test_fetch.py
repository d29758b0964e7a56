"""Fetcher against a real local HTTP server: validators, limits, redirects, politeness."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from feedpipe.core.clock import fixed_clock, system_clock
from feedpipe.core.errors import FetchError
from feedpipe.core.settings import FetchSettings
from feedpipe.extract import extract
from feedpipe.fetch import Fetcher, parse_retry_after

try:  # tests/ may or may not be a package
    from tests.httpfixtures import local_server, send
except ImportError:  # pragma: no cover
    from httpfixtures import local_server, send

UA = "feedpipe-test/1 (+https://example.org/contact)"


@pytest.fixture
def server():
    with local_server() as s:
        yield s


def fetcher(**kw) -> Fetcher:
    base = dict(user_agent=UA, connect_timeout=2.0, read_timeout=2.0, deadline=5.0, max_bytes=1_000_000)
    base.update(kw)
    return Fetcher(FetchSettings(**base), now=system_clock)


RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>https://example.org/1</link><guid>g1</guid></item></channel></rss>"""


def test_conditional_get_sends_validators_byte_for_byte_and_gets_304(server):
    etag = 'W/"abc-\u00e9x  1"'  # a Latin-1 byte and a double space: must come back unchanged
    lm = "Wed, 21 Oct 2015 07:28:00 GMT"

    @server.route("/feed")
    def _(h):
        if h.headers.get("If-None-Match") == etag and h.headers.get("If-Modified-Since") == lm:
            send(h, 304, headers={"ETag": etag})
        else:
            send(h, 200, RSS, {"Content-Type": "application/rss+xml", "ETag": etag, "Last-Modified": lm})

    with fetcher() as f:
        first = f.get(server.url("/feed"))
        assert first.status == 200 and first.body == RSS and not first.not_modified
        assert first.etag == etag and first.last_modified == lm
        second = f.get(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.etag == etag and second.last_modified == lm
    sent = server.requests[-1][1]
    assert sent["If-None-Match"] == etag and sent["If-Modified-Since"] == lm
    assert sent["User-Agent"] == UA


def test_429_with_retry_after_seconds_raises_with_retry_after(server):
    @server.route("/busy")
    def _(h):
        send(h, 429, b"slow down", {"Retry-After": "120"})

    with fetcher() as f, pytest.raises(FetchError) as err:
        f.get(server.url("/busy"))
    assert err.value.retry_after == 120
    assert server.url("/busy") in str(err.value) and "429" in str(err.value) and err.value.hint


def test_503_with_http_date_retry_after():
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after("junk", now) is None
    assert parse_retry_after(None, now) is None


def test_http_date_retry_after_is_measured_from_the_injected_clock(server):
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    @server.route("/later")
    def _(h):
        send(h, 503, b"", {"Retry-After": format_datetime(now + timedelta(seconds=90), usegmt=True)})

    with Fetcher(FetchSettings(user_agent=UA), now=fixed_clock(now)) as f, pytest.raises(FetchError) as err:
        f.get(server.url("/later"))
    assert err.value.retry_after == 90


def test_short_retry_after_is_retried_once(server):
    calls = []

    @server.route("/flaky")
    def _(h):
        calls.append(1)
        if len(calls) == 1:
            send(h, 503, b"", {"Retry-After": "1"})
        else:
            send(h, 200, RSS, {"Content-Type": "application/rss+xml"})

    slept: list[float] = []
    f = Fetcher(FetchSettings(user_agent=UA, retry_after_max_wait=2), now=system_clock, sleep=slept.append)
    assert f.get(server.url("/flaky")).status == 200
    assert slept == [1.0] and len(calls) == 2


def test_http_errors_carry_status_and_hint(server):
    with fetcher() as f, pytest.raises(FetchError) as err:
        f.get(server.url("/missing"))
    assert "404" in err.value.message and server.url("/missing") in err.value.message
    assert "URL" in err.value.hint


def test_redirect_loop_is_named(server):
    @server.route("/a")
    def _(h):
        send(h, 302, headers={"Location": "/b"})

    @server.route("/b")
    def _(h):
        send(h, 301, headers={"Location": server.url("/a")})

    with fetcher() as f, pytest.raises(FetchError) as err:
        f.get(server.url("/a"))
    assert "redirect loop" in err.value.message and "/a -> " in err.value.message and err.value.hint


def test_redirects_are_followed_and_bounded(server):
    for i in range(8):
        server.routes[f"/r{i}"] = (lambda n: lambda h: send(h, 307, headers={"Location": f"/r{n + 1}"}))(i)
    server.routes["/r8"] = lambda h: send(h, 200, b"ok")
    with fetcher(max_redirects=10) as f:
        got = f.get(server.url("/r3"))
    assert got.body == b"ok" and got.final_url == server.url("/r8")
    with fetcher(max_redirects=3) as f, pytest.raises(FetchError, match="more than 3 redirects"):
        f.get(server.url("/r0"))


def test_trickling_server_is_cut_at_the_deadline(server):
    @server.route("/trickle")
    def _(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)  # every read is fast; only the total is too slow

    t0 = time.monotonic()
    with fetcher(read_timeout=1.0, deadline=1.0) as f, pytest.raises(FetchError, match="deadline") as err:
        f.get(server.url("/trickle"))
    assert time.monotonic() - t0 < 2.5
    assert err.value.hint


def test_chunked_trickle_is_cut_at_the_deadline(server):
    @server.route("/chunks")
    def _(h):
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for _ in range(100):
            h.wfile.write(b"1\r\nx\r\n")
            h.wfile.flush()
            time.sleep(0.05)
        h.wfile.write(b"0\r\n\r\n")

    with fetcher(read_timeout=1.0, deadline=0.6) as f, pytest.raises(FetchError, match="deadline"):
        f.get(server.url("/chunks"))


def test_server_that_never_answers_hits_read_timeout(server):
    @server.route("/silent")
    def _(h):
        time.sleep(1.0)

    with fetcher(read_timeout=0.3, deadline=5) as f, pytest.raises(FetchError, match="no answer") as err:
        f.get(server.url("/silent"))
    assert err.value.hint


def test_gzip_bomb_stops_at_decoded_cap(server):
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000

    @server.route("/bomb")
    def _(h):
        send(h, 200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    with fetcher(max_bytes=1_000_000) as f, pytest.raises(FetchError, match="cap") as err:
        f.get(server.url("/bomb"))
    assert "decoded" in err.value.message


def test_gzip_body_is_decoded(server):
    @server.route("/gz")
    def _(h):
        send(h, 200, gzip.compress(RSS), {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    with fetcher() as f:
        assert f.get(server.url("/gz")).body == RSS


def test_wrong_charset_ends_up_readable(server):
    latin1 = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\u00e9</title>'
        "<item><title>M\u00fcnchen und S\u00e3o Paulo</title><link>https://example.org/m</link></item>"
        "</channel></rss>"
    ).encode("latin-1")

    @server.route("/latin")
    def _(h):
        send(h, 200, latin1, {"Content-Type": "application/rss+xml; charset=utf-8"})

    with fetcher() as f:
        got = f.get(server.url("/latin"))
    arts = extract(got.body, got.final_url, source="t", content_type=got.content_type)
    assert len(arts) == 1
    assert arts[0].title == "M\u00fcnchen und S\u00e3o Paulo"


def test_utf8_body_declared_latin1_does_not_crash(server):
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>S\u00e3o Paulo \u2013 Krak\u00f3w</title><link>https://example.org/k</link></item>"
        "</channel></rss>"
    ).encode("utf-8")
    server.routes["/u8"] = lambda h: send(h, 200, body, {"Content-Type": "text/xml; charset=iso-8859-1"})
    with fetcher() as f:
        got = f.get(server.url("/u8"))
    [art] = extract(got.body, got.final_url, source="t", content_type=got.content_type)
    assert "Paulo" in art.title and "\n" not in art.title


def test_one_request_at_a_time_per_host(server):
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    @server.route("/slow")
    def _(h):
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.15)
        with lock:
            active["now"] -= 1
        send(h, 200, b"ok")

    f = fetcher()
    threads = [threading.Thread(target=f.get, args=(server.url("/slow"),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert active["max"] == 1
    # different host names for the same server may overlap
    active["max"] = 0
    threads = [threading.Thread(target=f.get, args=(server.url("/slow", host=h),)) for h in ("127.0.0.1", "localhost")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert active["max"] in (1, 2)


def test_host_interval_uses_injected_clock(server):
    server.routes["/x"] = lambda h: send(h, 200, b"ok")
    clock = {"t": 100.0}
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock["t"] += s

    f = Fetcher(FetchSettings(user_agent=UA, host_interval=5.0), now=system_clock,
                clock=lambda: clock["t"], sleep=sleep)
    f.get(server.url("/x"))
    clock["t"] += 1.0
    f.get(server.url("/x"))
    assert slept == [pytest.approx(4.0)]


def test_non_http_url_is_refused():
    with pytest.raises(FetchError, match="not an http"):
        fetcher().get("file:///etc/passwd")


def test_connection_refused_names_url():
    with local_server() as s:
        url = s.url("/gone")
    with pytest.raises(FetchError) as err:
        fetcher(connect_timeout=1.0).get(url)
    assert url in err.value.message and err.value.hint


def test_validator_with_a_line_break_is_refused_not_sent(server):
    server.routes["/v"] = lambda h: send(h, 200, b"ok")
    with fetcher() as f, pytest.raises(FetchError) as err:
        f.get(server.url("/v"), etag='"a"\r\nX-Injected: 1')
    assert "header" in err.value.message and err.value.hint
    assert all("X-Injected" not in headers for _, headers in server.requests)
