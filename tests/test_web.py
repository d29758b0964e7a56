"""The web side over real HTTP: waitress on 127.0.0.1 (port 0), a real store, and mail read from a
local SMTP server (aiosmtpd) through feedpipe's own SMTP transport."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import feedparser
import pytest
import requests
from aiosmtpd.controller import Controller

from feedpipe.app import App
from feedpipe.config import load_settings
from feedpipe.core.settings import DigestSettings, FetchSettings, OutletSettings, Settings
from feedpipe.scheduler import run_digest_job
from feedpipe.store import Store
from feedpipe.web import RateLimiter, Site, WebServer, create_app
from feedpipe.web.security import MAX_FORM_BYTES
from tests.conftest import make_article

FRIDAY = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # an hour after the digest's Friday 08:00 (London)
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>All</title><id>urn:all</id>
<updated>2026-11-27T08:00:00Z</updated></feed>
"""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Inbox:
    """An aiosmtpd handler keeping every message that arrives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in m["X-Rcpt"]]

    def wait_for(self, address: str, count: int = 1, timeout: float = 5.0) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.to(address)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Smtp:
    inbox: Inbox
    port: int


@dataclass(frozen=True)
class RunningSite:
    """A running web side: the real App behind it, its server's URL, its public folder and clock."""

    app: App
    url: str
    public: Path
    clock: Clock
    inbox: Inbox

    @property
    def store(self) -> Store:
        return self.app.store


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield Smtp(inbox=inbox, port=controller.port)
    controller.stop()


@pytest.fixture
def site(tmp_path: Path, smtp):
    """A configured feedpipe with public files, its web side on a real server, mail to aiosmtpd."""
    config = tmp_path / "feedpipe.toml"
    config.write_text(f"""
[outlet]
name = "The Example Times"
public_url = "https://news.example.org"
timezone = "Europe/London"

[store]
path = "var/feedpipe.db"

[paths]
public = "public"

[digest]
title = "Example Weekly"
from = "Example Weekly <weekly@example.org>"
day = "friday"
time = "08:00"
timezone = "Europe/London"

[mail]
transport = "smtp"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
""")
    public = tmp_path / "public"
    for rel, body in {
        "feeds/all.atom": ATOM,
        "feeds/all.rss": b"<rss version='2.0'><channel><title>All</title></channel></rss>",
        "feeds/all.json": b'{"version": "https://jsonfeed.org/version/1.1", "title": "All", "items": []}',
        "feeds/country/ua.atom": ATOM,
        "feeds/country/by.atom": ATOM,
        "feeds/topic/politics.json": b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
        "feeds/index.opml": b"<?xml version='1.0'?><opml version='2.0'><head><title>Feeds</title></head><body/></opml>",
        "digest/2026-W47.html": b"<!DOCTYPE html><html><head><title>Example Weekly: Kyiv talks</title></head></html>",
        "digest/2026-W46.html": b"<!DOCTYPE html><html><head><title>Example Weekly &amp; more</title></head></html>",
    }.items():
        (public / rel).parent.mkdir(parents=True, exist_ok=True)
        (public / rel).write_bytes(body)
    clock = Clock(FRIDAY - timedelta(days=1))
    app = App(load_settings(config, cwd=tmp_path), clock=clock)
    limiter = RateLimiter(capacity=3, per_seconds=600)
    with WebServer(create_app(app, signup_limiter=limiter), host="127.0.0.1", port=0) as server:
        yield RunningSite(app=app, url=server.url, public=public, clock=clock, inbox=smtp.inbox)
    app.close()


def local(site, link: str) -> str:
    """A link from an email (on the outlet's public URL) pointed at the test server."""
    return site.url + urlparse(link).path


def csrf_token(page: requests.Response) -> str:
    return CSRF.search(page.text).group(1)


# -- feeds --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "content_type"), [
    ("/feeds/all.atom", "application/atom+xml; charset=utf-8"),
    ("/feeds/all.rss", "application/rss+xml; charset=utf-8"),
    ("/feeds/all.json", "application/feed+json; charset=utf-8"),
    ("/feeds/country/ua.atom", "application/atom+xml; charset=utf-8"),
    ("/feeds/topic/politics.json", "application/feed+json; charset=utf-8"),
    ("/feeds/index.opml", "text/x-opml; charset=utf-8"),
])
def test_feeds_are_served_at_their_public_paths(site, path, content_type):
    response = requests.get(site.url + path, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.content == (site.public / path.lstrip("/")).read_bytes()
    assert "public" in response.headers["Cache-Control"] and "max-age=300" in response.headers["Cache-Control"]


def test_a_feed_answers_200_then_304_to_if_none_match_and_if_modified_since(site):
    first = requests.get(site.url + "/feeds/all.atom", timeout=5)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")

    again = requests.get(site.url + "/feeds/all.atom", headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag

    since = requests.get(site.url + "/feeds/all.atom", headers={"If-Modified-Since": modified}, timeout=5)
    assert since.status_code == 304 and since.content == b""

    # the feed is rebuilt: a new ETag, and the old validators get the new body
    path = site.public / "feeds" / "all.atom"
    path.write_bytes(ATOM.replace(b"<title>All</title>", b"<title>All news</title>"))
    later = path.stat().st_mtime + 5
    os.utime(path, (later, later))
    changed = requests.get(site.url + "/feeds/all.atom", headers={"If-None-Match": etag}, timeout=5)
    assert changed.status_code == 200 and b"All news" in changed.content
    assert changed.headers["ETag"] != etag
    assert requests.get(site.url + "/feeds/all.atom", headers={"If-Modified-Since": modified},
                        timeout=5).status_code == 200


def test_nothing_outside_the_feeds_folder_is_served(site):
    (site.public.parent / "secret.atom").write_text("no")
    for path in ("/feeds/../../secret.atom", "/feeds/%2e%2e/%2e%2e/secret.atom", "/feeds/missing.atom",
                 "/feeds/../var/feedpipe.db"):
        assert requests.get(site.url + path, timeout=5).status_code == 404, path


# -- archive ------------------------------------------------------------------------------------------


def test_the_digest_archive_lists_shows_and_syndicates_the_editions(site):
    index = requests.get(site.url + "/digest/", timeout=5)
    assert index.status_code == 200
    assert index.text.index("2026-W47") < index.text.index("2026-W46"), "newest first"
    assert "Example Weekly: Kyiv talks" in index.text and "Example Weekly &amp; more" in index.text

    edition = requests.get(site.url + "/digest/2026-W47", timeout=5)
    assert edition.status_code == 200 and edition.headers["Content-Type"].startswith("text/html")
    assert edition.content == (site.public / "digest" / "2026-W47.html").read_bytes()
    assert requests.get(site.url + "/digest/2026-W01", timeout=5).status_code == 404

    feed = requests.get(site.url + "/digest/editions.atom", timeout=5)
    assert feed.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo
    assert [e.link for e in parsed.entries] == ["https://news.example.org/digest/2026-W47",
                                                 "https://news.example.org/digest/2026-W46"]
    assert requests.get(site.url + "/digest/editions.atom", headers={"If-None-Match": feed.headers["ETag"]},
                        timeout=5).status_code == 304


def test_healthz(site):
    response = requests.get(site.url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "ok", "scheduler": None, "ingest": None, "digest": None,
                               "last_digest": None}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_says_ok_and_the_age_of_the_last_runs_nothing_about_hosts_or_processes(site):
    now = site.clock()
    assert site.store.leases.acquire("scheduler", "host-1.internal:4242", now=now - timedelta(minutes=3),
                                     ttl=timedelta(minutes=5))
    assert site.store.leases.claim_job_run("digest", "2026-W47", holder="host-1.internal:4242",
                                           now=now - timedelta(hours=2))
    site.store.leases.finish_job_run("digest", "2026-W47", holder="host-1.internal:4242",
                                     now=now - timedelta(hours=1))
    site.store.sources.record_fetch(name="world", kind="feed", location="https://news.example.org/world.rss",
                                    now=now - timedelta(seconds=90), status="ok")
    site.store.sources.record_fetch(name="gone", kind="feed", location="https://news.example.org/gone.rss",
                                    now=now - timedelta(seconds=600), status="error", error="HTTP 404")
    for key, days in (("2026-W46", 8), ("2026-W47", 1)):  # sent by cron `run` or `serve` alike
        site.store.editions.ensure(key, window_start=None, window_end=None, now=now - timedelta(days=days))
        site.store.editions.finish(key, "sent", now=now - timedelta(days=days))
    response = requests.get(site.url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "store": "ok", "scheduler": {"active": True},
        "ingest": {"age_seconds": 90, "failing_sources": 1},
        "digest": {"age_seconds": 3600, "status": "ok", "edition": "2026-W47"},
        "last_digest": {"edition": "2026-W47", "age_seconds": 86400},
    }
    assert "host-1" not in response.text and "4242" not in response.text


def test_healthz_is_not_ok_when_the_store_does_not_answer_and_says_no_more(site, monkeypatch):
    def broken(*_args, **_kw):
        raise RuntimeError("connection to postgresql://feedpipe:s3cret@db.internal:5432/feedpipe failed")

    monkeypatch.setattr(site.store.leases, "get", broken)
    response = requests.get(site.url + "/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json() == {"status": "not ok", "store": "not ok"}
    assert response.headers["Cache-Control"] == "no-store"


# -- subscribers ----------------------------------------------------------------------------------------


def sign_up(site, address: str, name: str = "") -> requests.Response:
    browser = requests.Session()
    form = browser.get(site.url + "/subscribe", timeout=5)
    return browser.post(site.url + "/subscribe", data={"csrf_token": csrf_token(form), "email": address,
                                                       "name": name}, timeout=10)


def confirm(site, link: str) -> requests.Response:
    browser = requests.Session()
    page = browser.get(local(site, link), timeout=5)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    return browser.post(local(site, link), data={"csrf_token": csrf_token(page)}, timeout=5)


def test_sign_up_confirm_receive_unsubscribe_and_receive_nothing_more(site):
    store = site.store
    form = requests.get(site.url + "/subscribe", timeout=5)
    assert "every Friday" in form.text and "privacy policy" in form.text.lower()

    # 1. sign up: pending, and a confirmation email with a token link
    answer = sign_up(site, "reader@Example.COM", "Ann")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert store.subscribers.get("reader@example.com").status == "pending"
    [confirmation] = site.inbox.wait_for("reader@example.com")
    assert confirmation["Subject"] == "Confirm your subscription to Example Weekly"
    link = re.search(r"https://news\.example\.org/confirm/\S+", confirmation.get_content()).group(0)

    # 2. opening the link only asks; the button confirms
    assert requests.get(local(site, link), timeout=5).status_code == 200
    assert store.subscribers.get("reader@example.com").status == "pending"
    confirmed = confirm(site, link)
    assert confirmed.status_code == 200 and "You are subscribed" in confirmed.text
    assert store.subscribers.get("reader@example.com").status == "active"

    # 3. Friday's edition reaches the new subscriber (and a second one who stays)
    store.subscribers.add("stays@example.org", status="active", now=FRIDAY - timedelta(days=3))
    store.articles.upsert([make_article("https://news.example.org/a/kyiv", title="Talks in Kyiv",
                                        published_at=FRIDAY - timedelta(days=2))], now=FRIDAY - timedelta(days=2))
    decision = run_digest_job(site.app, now=FRIDAY, holder="test")
    assert (decision.slot.key, decision.action) == ("2026-W48", "sent")
    [edition] = site.inbox.wait_for("reader@example.com", count=2)[1:]
    assert "Talks in Kyiv" in edition["Subject"] or "Talks in Kyiv" in edition.as_string()
    assert edition["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.search(r"<(https://[^>]+)>", edition["List-Unsubscribe"]).group(1)

    # 4. the unsubscribe page does nothing by itself; the one-click POST (no cookie, no token) does
    page = requests.get(local(site, unsubscribe), timeout=5)
    assert page.status_code == 200 and 'value="One-Click"' in page.text
    assert store.subscribers.get("reader@example.com").status == "active"
    one_click = requests.post(local(site, unsubscribe), data={"List-Unsubscribe": "One-Click"},
                              allow_redirects=False, timeout=5)
    assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text
    assert "Set-Cookie" not in one_click.headers
    assert store.subscribers.get("reader@example.com").status == "unsubscribed"

    # 5. next Friday's edition goes to the one who stayed, not to the one who left
    next_friday = FRIDAY + timedelta(days=7)
    store.articles.upsert([make_article("https://news.example.org/a/minsk", title="Minsk answers",
                                        published_at=next_friday - timedelta(days=2))], now=next_friday)
    assert run_digest_job(site.app, now=next_friday, holder="test").action == "sent"
    assert len(site.inbox.wait_for("stays@example.org", count=2)) == 2
    assert len(site.inbox.to("reader@example.com")) == 2, "confirmation + one edition, nothing after leaving"


def test_forms_need_their_csrf_token_but_one_click_needs_none(site):
    refused = requests.post(site.url + "/subscribe", data={"email": "nocsrf@example.com"}, timeout=5)
    assert refused.status_code == 400
    assert site.store.subscribers.get("nocsrf@example.com") is None

    sub = site.store.subscribers.add("a@example.com", status="active", now=FRIDAY)
    assert requests.post(f"{site.url}/preferences/{sub.token}", data={"countries": "UA"},
                         timeout=5).status_code == 400
    assert requests.post(f"{site.url}/confirm/{sub.token}", timeout=5).status_code == 400
    # a POST to the unsubscribe URL without the RFC 8058 body is not an unsubscribe
    assert requests.post(f"{site.url}/unsubscribe/{sub.token}", data={"x": "y"}, timeout=5).status_code == 400
    assert site.store.subscribers.get("a@example.com").status == "active"
    # some mailbox providers send the one-click body as multipart/form-data: that works too
    multipart = requests.post(f"{site.url}/unsubscribe/{sub.token}", files={"List-Unsubscribe": (None, "One-Click")},
                              allow_redirects=False, timeout=5)
    assert multipart.status_code == 200
    assert site.store.subscribers.get("a@example.com").status == "unsubscribed"


def test_a_form_body_over_the_limit_is_refused_before_it_is_read(site):
    big = {"email": "big@example.com", "pad": "x" * (MAX_FORM_BYTES * 4)}
    assert requests.post(site.url + "/subscribe", data=big, timeout=10).status_code == 413
    assert site.store.subscribers.get("big@example.com") is None


def test_unknown_or_guessed_tokens_find_nothing(site):
    sub = site.store.subscribers.add("a@example.com", status="active", now=FRIDAY)
    for token in ("x" * 43, sub.token[:-1] + ("A" if sub.token[-1] != "A" else "B"), sub.token[:10], ""):
        for path in ("confirm", "unsubscribe", "preferences"):
            response = requests.get(f"{site.url}/{path}/{token}", timeout=5)
            assert response.status_code == 404, (path, token)
        assert requests.post(f"{site.url}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"},
                             timeout=5).status_code == 404
    assert site.store.subscribers.get("a@example.com").status == "active"


def test_preferences_choose_countries_and_topics_by_their_names(site):
    (site.public / "feeds" / "country" / "kp.atom").write_bytes(ATOM)
    (site.public / "feeds" / "topic" / "arts-culture-entertainment-and-media.rss").write_bytes(ATOM)
    (site.public / "feeds" / "topic" / "sub-elections.rss").write_bytes(ATOM)
    sub = site.store.subscribers.add("a@example.com", status="active", now=FRIDAY)
    browser = requests.Session()
    page = browser.get(f"{site.url}/preferences/{sub.token}", timeout=5)
    assert 'value="UA"> Ukraine</label>' in page.text and 'value="KP"> North Korea</label>' in page.text
    assert 'value="medtop:01000000"> arts, culture, entertainment and media</label>' in page.text
    assert 'value="sub:elections"> elections</label>' in page.text and "sub-elections" not in page.text
    saved = browser.post(f"{site.url}/preferences/{sub.token}",
                         data={"csrf_token": csrf_token(page), "countries": ["UA", "BY"],
                               "topics": ["medtop:11000000"]}, timeout=5)
    assert saved.status_code == 200 and "Saved." in saved.text
    stored = site.store.subscribers.get("a@example.com")
    assert set(stored.countries) == {"UA", "BY"} and list(stored.topics) == ["medtop:11000000"]
    assert 'value="UA" checked' in saved.text and 'value="medtop:11000000" checked' in saved.text


def test_preferences_refuse_an_unknown_country_with_the_closest_ones_and_save_nothing(site):
    sub = site.store.subscribers.add("a@example.com", status="active", countries=["UA"], now=FRIDAY)
    browser = requests.Session()
    page = browser.get(f"{site.url}/preferences/{sub.token}", timeout=5)
    refused = browser.post(f"{site.url}/preferences/{sub.token}",
                           data={"csrf_token": csrf_token(page), "countries": ["Ukrain"]}, timeout=5)
    assert refused.status_code == 400 and "Not saved: unknown country" in refused.text
    assert "Ukraine (UA)" in refused.text
    assert site.store.subscribers.get("a@example.com").countries == ("UA",)


def test_a_sign_up_with_an_internationalised_domain_gets_its_confirmation_idna_encoded(site):
    assert sign_up(site, "henry@exämple.org", "Henry").status_code == 200
    [confirmation] = site.inbox.wait_for("henry@xn--exmple-cua.org")
    assert confirmation["To"] == "henry@xn--exmple-cua.org"
    assert site.store.subscribers.get("HENRY@xn--exmple-cua.org").status == "pending"


def test_sign_up_is_rate_limited_per_address(site):
    answers = [sign_up(site, f"r{i}@example.com").status_code for i in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = sign_up(site, "r9@example.com")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert site.store.subscribers.get("r9@example.com") is None


def test_sign_up_refuses_a_bad_address_and_never_tells_who_is_subscribed(site):
    bad = sign_up(site, "not-an-address")
    assert bad.status_code == 400 and "valid email address" in bad.text
    site.store.subscribers.add("known@example.com", status="active", now=FRIDAY)
    again = sign_up(site, "known@example.com")
    assert again.status_code == 200 and "Check your inbox" in again.text
    assert site.inbox.to("known@example.com") == [], "an active subscriber gets no new confirmation"


def test_the_rate_limit_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(capacity=2, per_seconds=60, clock=lambda: now[0])
    assert [limiter.allow("10.0.0.1")[0] for _ in range(3)] == [True, True, False]
    assert limiter.allow("10.0.0.2")[0], "another address has its own bucket"
    allowed, wait = limiter.allow("10.0.0.1")
    assert not allowed and wait == pytest.approx(30.0)
    now[0] = 30.0
    assert limiter.allow("10.0.0.1") == (True, 0.0)


def test_the_privacy_page_and_the_home_page(site):
    privacy = requests.get(site.url + "/privacy", timeout=5)
    assert privacy.status_code == 200 and "unsubscribe with one click" in privacy.text
    home = requests.get(site.url + "/", timeout=5)
    assert 'href="/subscribe"' in home.text and "2026-W47" in home.text
    assert home.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]


# -- settings and templates, without a server -----------------------------------------------------------


def settings_for(tmp_path: Path, **fields) -> Settings:
    return Settings(path=None, base_dir=tmp_path, store_url=f"sqlite:///{tmp_path / 'feedpipe.db'}", sources=(),
                    fetch=FetchSettings(), fetch_workers=1, parse_processes=0, public_dir=tmp_path / "public",
                    tagging_dir=None, **{"outlet": OutletSettings(), "templates_dir": None, **fields})


def test_the_site_words_come_from_the_digest_and_outlet_settings(tmp_path):
    site = Site.from_settings(settings_for(
        tmp_path, outlet=OutletSettings(name="The Example Times", public_url="https://example.org"),
        digest=DigestSettings(title="Example Weekly", day="tuesday", public_url="https://news.example.org/"),
    ))
    assert (site.outlet, site.newsletter, site.day) == ("The Example Times", "Example Weekly", "Tuesday")
    assert site.public_url == "https://news.example.org", "[digest] public_url wins over the outlet's"
    assert site.privacy_url == "https://news.example.org/privacy"
    plain = Site.from_settings(settings_for(tmp_path, outlet=OutletSettings(public_url="https://example.org")))
    assert plain.public_url == "https://example.org"


def test_an_outlet_template_replaces_the_packaged_one(tmp_path):
    (tmp_path / "mine" / "web").mkdir(parents=True)
    (tmp_path / "mine" / "web" / "privacy.html").write_text("Our own words about {{ site.newsletter }}.")
    app = App(settings_for(tmp_path, templates_dir=tmp_path / "mine"), clock=Clock(FRIDAY))
    client = create_app(app, secret_key="test").test_client()
    assert client.get("/privacy").text == "Our own words about Feedpipe News Weekly."
    assert "Sign up" in client.get("/").text, "templates the outlet did not replace stay the packaged ones"
    app.close()
