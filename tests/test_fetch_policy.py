"""The outbound policy (no internal addresses, redirects checked, the checked address is the one connected
to), robots.txt per RFC 9309, and deadlines that count only a source's own transfer time.

These tests switch the policy ON: the suite allows private addresses for its local servers (conftest.py),
so every Fetcher here is built with allow_private_addresses=False, and the CLI tests clear the variable.
A single test server can be let through with `exempt`, while the production predicate judges every
other address, including redirect targets.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import feedpipe.ingest as ingest_service
from feedpipe.app import App
from feedpipe.cli import run
from feedpipe.cli.context import EXIT_OK, EXIT_SOURCES_FAILED
from feedpipe.config import load_settings
from feedpipe.core.clock import system_clock
from feedpipe.core.errors import ConfigError, FetchError
from feedpipe.core.settings import FetchSettings
from feedpipe.fetch import Fetcher, robots
from feedpipe.fetch.policy import refusal

try:  # tests/ may or may not be a package
    from tests.httpfixtures import local_server, send
except ImportError:  # pragma: no cover
    from httpfixtures import local_server, send

UA = "feedpipe-test/1 (+https://example.org/contact)"
RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>Minsk court jails activists</title><link>{link}</link><guid>g1</guid>
<description>A one-line summary.</description></item></channel></rss>"""
PAGE = ("<!DOCTYPE html><html><head><title>Internal</title></head><body><article><h1>Internal admin page</h1>"
        + "<p>SECRET-TOKEN internal salaries and passwords, never to be published anywhere at all.</p>" * 6
        + "</article></body></html>")


@pytest.fixture
def server():
    with local_server() as s:
        yield s


@pytest.fixture
def other():
    with local_server() as s:
        yield s


def guarded(*, exempt: tuple[tuple[str, int], ...] = (), **kw: float) -> Fetcher:
    """A Fetcher with the policy on, as in production."""
    base: dict[str, float] = {"connect_timeout": 2.0, "read_timeout": 2.0, "deadline": 5.0, **kw}
    settings = FetchSettings(user_agent=UA, allow_private_addresses=False, **base)
    return Fetcher(settings, now=system_clock, exempt=exempt)


def local(**kw: float) -> Fetcher:
    base: dict[str, float] = {"connect_timeout": 2.0, "read_timeout": 2.0, "deadline": 5.0, **kw}
    settings = FetchSettings(user_agent=UA, allow_private_addresses=True, **base)
    return Fetcher(settings, now=system_clock)


# -- the address policy --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "0177.0.0.1",
                                  "[::ffff:127.0.0.1]", "localhost", "LOCALHOST"])
def test_loopback_is_refused_in_every_spelling(server, host):
    server.routes["/admin"] = lambda h: send(h, 200, b"internal")
    url = f"http://{host}:{server.port}/admin"
    with guarded() as f, pytest.raises(FetchError) as err:
        f.get(url)
    assert err.value.message.startswith(f"{url}: refused: ")
    assert "127.0.0.1" in err.value.message and "loopback address" in err.value.message
    assert "allow_private_addresses = true" in err.value.hint and "--allow-private-addresses" in err.value.hint
    assert server.requests == []  # not a single byte reached the internal server


@pytest.mark.parametrize(("address", "kind"), [
    ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("172.16.5.4", "private"),
    ("169.254.169.254", "link-local"), ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"), ("100.64.0.1", "non-global (special-purpose)"), ("::1", "loopback"),
    ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "private"), ("ff02::1", "multicast"),
    ("::ffff:10.0.0.1", "IPv4-embedding private"), ("::ffff:169.254.169.254", "IPv4-embedding link-local"),
    ("64:ff9b::7f00:1", "IPv4-embedding loopback"), ("2002:7f00:1::", "IPv4-embedding loopback"),
    ("93.184.216.34", None), ("2606:4700:4700::1111", None), ("::ffff:93.184.216.34", None),
])
def test_each_kind_of_internal_address_is_named(address, kind):
    assert refusal(ipaddress.ip_address(address)) == kind


def test_a_redirect_to_an_internal_address_is_refused(server, other):
    other.routes["/secret"] = lambda h: send(h, 200, b"internal")
    targets = {"/to-ip": f"http://127.0.0.1:{other.port}/secret", "/to-hex": f"http://0x7f000001:{other.port}/secret",
               "/to-name": f"http://localhost:{other.port}/secret", "/to-file": "file:///etc/passwd"}
    for path, target in targets.items():
        server.routes[path] = (lambda t: lambda h: send(h, 302, headers={"Location": t}))(target)
    server.routes["/hop"] = lambda h: send(h, 301, headers={"Location": "/ok"})
    server.routes["/ok"] = lambda h: send(h, 200, b"fine")
    with guarded(exempt=(("127.0.0.1", server.port),)) as f:
        assert f.get(f"http://127.0.0.1:{server.port}/hop").body == b"fine"  # the exempt server itself works
        for path, target in targets.items():
            with pytest.raises(FetchError) as err:
                f.get(f"http://127.0.0.1:{server.port}{path}")
            if path == "/to-file":
                assert "not an http(s) URL" in err.value.message
            else:
                assert f"redirect to {target} refused" in err.value.message and "loopback" in err.value.message
    assert other.requests == []


def test_the_host_is_resolved_once_and_the_checked_address_is_connected_to(server, monkeypatch):
    """A rebinding resolver would answer differently the second time: there is no second time."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def resolver(host, port, *args, **kwargs):
        if host == "feeds.example.org":
            asked.append(host)
            address = "127.0.0.1" if len(asked) == 1 else "10.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    server.routes["/feed"] = lambda h: send(h, 200, b"ok")
    with guarded(exempt=(("127.0.0.1", server.port),)) as f:
        got = f.get(f"http://feeds.example.org:{server.port}/feed")
    assert got.body == b"ok" and asked == ["feeds.example.org"]
    assert server.requests[-1][1]["Host"] == f"feeds.example.org:{server.port}"  # the name, not the address


def test_tls_checks_the_host_name_while_connecting_to_the_checked_address(tmp_path, monkeypatch):
    """Pinning the address keeps SNI and the certificate check on the host name."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=feeds.example.org",
                    "-addext", "subjectAltName=DNS:feeds.example.org"], check=True, capture_output=True)
    names: list[str | None] = []
    hosts: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            hosts.append(self.headers["Host"])
            send(self, 200, b"secure")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.handle_error = lambda *a: None  # type: ignore[method-assign]
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: real(
        "127.0.0.1" if host == "feeds.example.org" else host, *a, **kw))
    try:
        with guarded(exempt=(("127.0.0.1", port),)) as f:
            f._session.verify = str(cert)
            assert f.get(f"https://feeds.example.org:{port}/feed").body == b"secure"
            with pytest.raises(FetchError, match="connection failed"):  # the certificate names the host, not the IP
                f.get(f"https://127.0.0.1:{port}/feed")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert names[0] == "feeds.example.org" and hosts == [f"feeds.example.org:{port}"]


# -- the operator's allowance: config key, CLI flag, environment -----------------------------------------


def _config(tmp_path: Path, url: str, fetch: str = "") -> Path:
    cfg = tmp_path / "feedpipe.toml"
    cfg.write_text(f'[store]\npath = "var/feedpipe.db"\n[paths]\npublic = "public"\n[fetch]\n{fetch}\n'
                   f'connect_timeout = 2\nread_timeout = 2\ndeadline = 5\n'
                   f'[[sources]]\nname = "local"\ntype = "feed"\nurl = "{url}"\n', encoding="utf-8")
    return cfg


def test_fetch_allow_private_addresses_is_a_boolean_key(tmp_path):
    url = "http://127.0.0.1:9/feed.xml"
    assert load_settings(_config(tmp_path, url), cwd=tmp_path).fetch.allow_private_addresses is False
    on = load_settings(_config(tmp_path, url, "allow_private_addresses = true"), cwd=tmp_path)
    assert on.fetch.allow_private_addresses is True
    with pytest.raises(ConfigError, match=r"\[fetch\] allow_private_addresses: must be true or false"):
        load_settings(_config(tmp_path, url, 'allow_private_addresses = "yes"'), cwd=tmp_path)


def test_the_cli_refuses_local_sources_unless_the_operator_allows_them(server, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FEEDPIPE_ALLOW_PRIVATE_ADDRESSES", raising=False)
    server.routes["/feed.xml"] = lambda h: send(h, 200, RSS.format(link="https://example.org/1").encode(),
                                                {"Content-Type": "application/rss+xml"})
    cfg = _config(tmp_path, server.url("/feed.xml"))
    assert run(["--config", str(cfg), "ingest"]) == EXIT_SOURCES_FAILED
    assert run(["--config", str(cfg), "sources", "--json"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "refused: 127.0.0.1 is a loopback address" in out and server.requests == []
    # the refusal counted as a failure (the source backs off): --force fetches it now
    assert run(["--config", str(cfg), "--allow-private-addresses", "ingest", "--force"]) == EXIT_OK
    monkeypatch.setenv("FEEDPIPE_ALLOW_PRIVATE_ADDRESSES", "1")
    assert run(["--config", str(cfg), "ingest", "--force"]) == EXIT_OK
    assert [p for p, _ in server.requests] == ["/feed.xml", "/feed.xml"]


# -- through the ingest service ----------------------------------------------------------------------------


def _app(tmp_path: Path, url: str, now, *, full_text: bool = False) -> App:
    cfg = _config(tmp_path, url)
    if full_text:
        cfg.write_text(cfg.read_text() + "full_text = true\n")
    return App(load_settings(cfg, cwd=tmp_path), clock=lambda: now)


def test_ingest_refuses_a_loopback_source_and_stores_nothing(server, tmp_path, now):
    server.routes["/feed.xml"] = lambda h: send(h, 200, RSS.format(link="https://example.org/1").encode())
    app = _app(tmp_path, f"http://127.1:{server.port}/feed.xml", now)
    assert app.settings.fetch.allow_private_addresses is False

    (result,) = ingest_service.ingest(app, now=now).results

    assert result.status == "error"
    assert "refused: 127.1 resolves to 127.0.0.1, which is a loopback address" in result.error
    assert "allow_private_addresses" in result.error
    assert app.store.articles.count() == 0 and server.requests == []


def test_full_text_of_an_item_on_an_internal_address_is_not_fetched(server, other, tmp_path, now):
    other.routes["/admin"] = lambda h: send(h, 200, PAGE.encode(), {"Content-Type": "text/html"})
    feed = RSS.format(link=f"http://127.0.0.1:{other.port}/admin").encode()
    server.routes["/feed.xml"] = lambda h: send(h, 200, feed, {"Content-Type": "application/rss+xml"})
    app = _app(tmp_path, server.url("/feed.xml"), now, full_text=True)
    # the feed's own server may be reached; the policy judges everything else (the item's page included)
    app.__dict__["fetcher"] = Fetcher(app.settings.fetch, now=app.clock, exempt=[("127.0.0.1", server.port)])

    (result,) = ingest_service.ingest(app, now=now).results

    assert result.status == "ok" and result.new == 1
    (article,) = app.store.articles.query(source="local")
    assert "SECRET-TOKEN" not in article.text and article.text == "A one-line summary."
    assert other.requests == []


# -- robots.txt (RFC 9309) ---------------------------------------------------------------------------------

ROBOTS = b"""# comments and unknown lines are ignored
Sitemap: https://example.org/sitemap.xml
User-agent: *
Disallow: /

User-Agent: FeedPipe
Disallow: /private
Allow: /private/press$
Disallow: /*.pdf$
Disallow: /caf%C3%A9
User-agent: other
Allow: /
"""


def test_robots_rules_longest_match_allow_wins_ties_and_groups_merge():
    rules = robots.parse("https://example.org/robots.txt", ROBOTS + b"user-agent: feedpipe\nallow: /private/ok\n")
    assert rules.group == "feedpipe"

    def deciding(path: str) -> str | None:
        rule = rules.deciding_rule("https://example.org" + path)
        return None if rule is None else f"{'allow' if rule.allow else 'disallow'} {rule.pattern}"

    assert deciding("/news/1") is None  # the * group does not apply: feedpipe has its own
    assert deciding("/private/x") == "disallow /private"
    assert deciding("/private/press") == "allow /private/press$"
    assert deciding("/private/press/2") == "disallow /private"
    assert deciding("/private/ok/1") == "allow /private/ok"  # merged from the second feedpipe group
    assert deciding("/files/a.pdf") == "disallow /*.pdf$" and deciding("/files/a.pdf?x=1") is None
    assert deciding("/caf\u00e9/menu") == "disallow /caf%C3%A9" and deciding("/%63af%c3%a9") == "disallow /caf%C3%A9"
    assert deciding("/robots.txt") is None
    tie = robots.parse("u", b"User-agent: *\nDisallow: /page\nAllow: /page\n")
    assert tie.group == "*" and tie.deciding_rule("https://e.org/page").allow
    assert robots.parse("u", b"User-agent: other\nDisallow: /\n").deciding_rule("https://e.org/x") is None


def test_pages_obey_robots_txt_and_feeds_do_not(server):
    server.routes["/robots.txt"] = lambda h: send(h, 200, ROBOTS, {"Content-Type": "text/plain"})
    for path in ("/private/report", "/private/press", "/news/1", "/feed.xml"):
        server.routes[path] = lambda h: send(h, 200, b"<html>ok</html>")
    with local() as f:
        with pytest.raises(FetchError) as err:
            f.get(server.url("/private/report"), obey_robots=True)
        assert f.get(server.url("/private/press"), obey_robots=True).status == 200
        assert f.get(server.url("/news/1"), obey_robots=True).status == 200
        assert f.get(server.url("/private/report")).status == 200  # a feed fetch does not ask robots.txt
    assert err.value.message == (f"{server.url('/private/report')}: disallowed by {server.url('/robots.txt')}: "
                                 "Disallow: /private (line 7) for user-agent 'feedpipe'")
    assert "full_text" in err.value.hint
    fetched = [p for p, _ in server.requests]
    assert fetched.count("/robots.txt") == 1 and "/private/report" in fetched  # once per host


def test_robots_4xx_allows_5xx_and_silence_disallow(server):
    server.routes["/page"] = lambda h: send(h, 200, b"<html>ok</html>")
    answer = {"status": 404}
    server.routes["/robots.txt"] = lambda h: (time.sleep(1.0) if answer["status"] == 0
                                              else send(h, answer["status"], b"x"))
    for status, allowed in ((404, True), (403, True), (503, False), (500, False), (0, False)):
        answer["status"] = status
        with local(read_timeout=0.3) as f:
            if allowed:
                assert f.get(server.url("/page"), obey_robots=True).status == 200
            else:
                with pytest.raises(FetchError, match="robots.txt could not be fetched") as err:
                    f.get(server.url("/page"), obey_robots=True)
                assert "RFC 9309" in err.value.message and err.value.hint


def test_robots_txt_is_cached_for_at_most_a_day_and_read_up_to_500_kib(server):
    padding = b"# " + b"x" * (robots.MAX_BYTES + 10) + b"\n"
    body = b"User-agent: *\nDisallow: /early\n" + padding + b"Disallow: /late\n"
    server.routes["/robots.txt"] = lambda h: send(h, 200, body)
    server.routes["/late"] = lambda h: send(h, 200, b"ok")
    clock = {"t": 1000.0}
    settings = FetchSettings(user_agent=UA, allow_private_addresses=True, max_bytes=2_000_000)
    with Fetcher(settings, now=system_clock, clock=lambda: clock["t"]) as f:
        assert f.get(server.url("/late"), obey_robots=True).status == 200  # past the cap: not read
        with pytest.raises(FetchError, match="Disallow: /early"):
            f.get(server.url("/early"), obey_robots=True)
        clock["t"] += 24 * 3600 - 1
        f.get(server.url("/late"), obey_robots=True)
        assert [p for p, _ in server.requests].count("/robots.txt") == 1
        clock["t"] += 2
        f.get(server.url("/late"), obey_robots=True)
    assert [p for p, _ in server.requests].count("/robots.txt") == 2


# -- deadlines ---------------------------------------------------------------------------------------------


def test_waiting_for_another_sources_host_lock_does_not_use_up_the_deadline(server):
    """Failure 6: a trickling /slow on a host made the healthy feeds queued behind it miss their deadline."""

    @server.route("/slow")
    def _(h):
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(100):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)

    def healthy(h):
        time.sleep(0.3)  # a bit slow, well within its own deadline
        send(h, 200, b"<rss/>")

    server.routes["/a.xml"] = server.routes["/b.xml"] = healthy
    outcome: dict[str, str] = {}

    def fetch(path: str) -> None:
        try:
            f.get(server.url(path))
            outcome[path] = "ok"
        except FetchError as exc:
            outcome[path] = exc.message

    with local(deadline=1.0, read_timeout=1.0) as f:
        slow = threading.Thread(target=fetch, args=("/slow",))
        slow.start()
        while not server.requests:
            time.sleep(0.005)
        others = [threading.Thread(target=fetch, args=(p,)) for p in ("/a.xml", "/b.xml")]
        for t in others:
            t.start()
        for t in [slow, *others]:
            t.join()
    assert "deadline" in outcome["/slow"]  # the trickle itself is still cut off
    assert outcome["/a.xml"] == outcome["/b.xml"] == "ok"
