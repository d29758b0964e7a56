"""The editors' desk over real HTTP (waitress on 127.0.0.1, a real SQLite store, mail to aiosmtpd):
nothing answers without a session, each role sees what it may, every change goes through the digest's
pick service and lands in the edition log, and the edition the desk shaped is the one that is built."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from feedpipe.cli import run
from feedpipe.digest.build import build_edition
from feedpipe.editors import add_editor
from feedpipe.web import create_app
from feedpipe.web.desk import DeskLimits
from feedpipe.web.ratelimit import RateLimiter
from tests.digest_support import WEEK, week_of_articles
from tests.test_web import csrf_token, site, smtp  # noqa: F401 - the fixtures of the HTTP tests

EDITOR, ADMIN = "ed@example.org", "boss@example.org"
PASSWORD = "correct horse battery"


@pytest.fixture
def desk(site):  # noqa: F811
    """The running site with a week of articles, an editor, an admin and two active subscribers."""
    now = site.clock()
    site.store.articles.upsert(week_of_articles(), now=now)
    add_editor(site.store.editors, EDITOR, PASSWORD, role="editor", now=now)
    add_editor(site.store.editors, ADMIN, PASSWORD, role="admin", now=now)
    for address, countries in (("una@example.com", ["UA"]), ("rui@example.com", [])):
        site.store.subscribers.add(address, status="active", now=now)
        site.store.subscribers.set_preferences(address, countries=countries, topics=[], now=now)
    return site


def sign_in(running, email: str, password: str = PASSWORD) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    form = browser.get(running.url + "/desk/login", timeout=5)
    answer = browser.post(running.url + "/desk/login", data={
        "csrf_token": csrf_token(form), "email": email, "password": password, "next": "/desk/"}, timeout=10)
    return browser, answer


def post(browser: requests.Session, running, path: str, **fields: str) -> requests.Response:
    page = browser.get(running.url + "/desk/", timeout=10)
    return browser.post(running.url + path, data={"csrf_token": csrf_token(page), "back": "/desk/", **fields},
                        timeout=20)


def by_title(title: str) -> str:
    return next(a.id for a in week_of_articles() if a.title == title)


def desk_routes(running) -> list[tuple[str, str]]:
    """Every route of the desk, read from the application itself (a new route is walked too)."""
    web = create_app(running.app)
    routes = []
    for rule in web.url_map.iter_rules():
        if rule.endpoint.startswith("desk."):
            routes += [(method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_the_desk_has_the_routes_an_editor_needs(desk):
    paths = {path for _, path in desk_routes(desk)}
    assert {"/desk/", "/desk/login", "/desk/editors/", "/desk/editors/add", "/desk/pick", "/desk/unpick", "/desk/move", "/desk/pitch", "/desk/preview",
            "/desk/preview/email", "/desk/test", "/desk/send", "/desk/log", "/desk/desk.js"} <= paths


def test_nothing_of_the_desk_answers_without_a_session(desk):
    stranger = requests.Session()
    token = csrf_token(stranger.get(desk.url + "/desk/login", timeout=5))  # a valid form token, but no login
    for method, path in desk_routes(desk):
        if path == "/desk/login":
            continue
        answer = stranger.request(method, desk.url + path, data={"csrf_token": token, "article": "x"},
                                  allow_redirects=False, timeout=10)
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["Location"].startswith("/desk/login"), (method, path)
        assert "Ruble Slides" not in answer.text and "use strict" not in answer.text
    assert desk.store.editions.picks(WEEK) == []
    assert desk.inbox.messages == []


@pytest.mark.parametrize(("email", "send_status"), [(EDITOR, 403), (ADMIN, 200)])
def test_each_role_reaches_its_pages_and_only_an_admin_may_send(desk, email, send_status):
    browser, answer = sign_in(desk, email)
    assert answer.status_code == 200 and "Edition 2026-W48" in answer.text
    for method, path in desk_routes(desk):
        if method != "GET" or path == "/desk/login":
            continue
        expected = send_status if path in ("/desk/send", "/desk/editors/") else 200
        assert browser.get(desk.url + path, timeout=10).status_code == expected, path
    assert ("Send now" in browser.get(desk.url + "/desk/", timeout=10).text) == (email == ADMIN)
    refused = post(browser, desk, "/desk/send", recipients="999")
    assert refused.status_code == (403 if email == EDITOR else 409)
    assert desk.inbox.messages == []


def test_a_wrong_address_or_password_gets_the_same_answer(desk):
    _, unknown = sign_in(desk, "nobody@example.org")
    _, wrong = sign_in(desk, EDITOR, "not the password")
    assert unknown.status_code == wrong.status_code == 401
    message = "Wrong email address or password."
    assert message in unknown.text and message in wrong.text
    assert "nobody@example.org" not in unknown.text.replace('value="nobody@example.org"', "")


def test_logins_are_rate_limited_per_account_and_per_address(desk):
    for _ in range(5):
        assert sign_in(desk, EDITOR, "guessing wrong")[1].status_code == 401
    blocked = sign_in(desk, EDITOR)[1]
    assert blocked.status_code == 429 and "Too many attempts" in blocked.text and "Retry-After" in blocked.headers
    assert sign_in(desk, ADMIN)[1].status_code == 200, "another account from the same address still signs in"
    for n in range(14):
        sign_in(desk, f"guess{n}@example.org", "x")
    assert sign_in(desk, ADMIN)[1].status_code == 429, "the address has used up its attempts"


def test_the_session_cookie_is_signed_httponly_lax_expiring_and_secure_over_https(desk):
    web = create_app(desk.app)
    web.extensions["feedpipe.desk"] = DeskLimits(per_account=RateLimiter(), per_address=RateLimiter())
    client = web.test_client()
    form = client.get("/desk/login", base_url="https://news.example.org")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = client.post("/desk/login", base_url="https://news.example.org",
                         data={"csrf_token": token, "email": EDITOR, "password": PASSWORD})
    assert answer.status_code == 303
    cookie = answer.headers["Set-Cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Expires="):
        assert flag in cookie, flag
    assert "ed@example.org" not in cookie
    assert client.get("/desk/", base_url="https://news.example.org").status_code == 200
    # twelve hours later the session is over, whatever the cookie says
    desk.clock.now += timedelta(hours=12, minutes=1)
    assert client.get("/desk/", base_url="https://news.example.org").status_code == 303


def test_an_editor_removed_or_signed_out_loses_the_desk_at_once(desk):
    browser, _ = sign_in(desk, EDITOR)
    post(browser, desk, "/desk/logout")
    assert browser.get(desk.url + "/desk/", allow_redirects=False, timeout=5).status_code == 303
    browser, _ = sign_in(desk, EDITOR)
    assert run(["--store", desk.store.url, "editors", "remove", EDITOR]) == 0
    assert browser.get(desk.url + "/desk/", allow_redirects=False, timeout=5).status_code == 303


def test_the_desk_lists_the_week_ranked_with_picks_on_top_and_filters_it(desk):
    browser, page = sign_in(desk, EDITOR)
    assert page.text.count('data-article="') == len(week_of_articles()) - 1, "all but the one from last week"
    assert "Ukraine" in page.text and "Conflict, war and peace" in page.text and "analysis" in page.text
    sought = browser.get(desk.url + "/desk/", params={"q": "ruble"}, timeout=10).text
    assert "Ruble Slides To Two-Year Low" in sought and "Thousands Rally In Tbilisi" not in sought
    georgia = browser.get(desk.url + "/desk/", params={"country": "GE"}, timeout=10).text
    assert "Thousands Rally In Tbilisi" in georgia and "Ruble Slides" not in georgia
    features = browser.get(desk.url + "/desk/", params={"section": "feature"}, timeout=10).text
    assert "Siberian Theatre" in features and "Ruble Slides" not in features
    economy = browser.get(desk.url + "/desk/", params={"topic": "medtop:04000000"}, timeout=10).text
    assert "Kazakhstan Reroutes Oil" in economy and "Thousands Rally" not in economy

    theatre = by_title("A Siberian Theatre Keeps Its Doors Open")
    post(browser, desk, "/desk/pick", article=theatre)
    page = browser.get(desk.url + "/desk/", timeout=10).text
    first = page.index('data-article="')
    assert page[first:first + 200].startswith(f'data-article="{theatre}"'), "the pick comes first"


def test_picks_order_and_pitch_from_the_desk_shape_the_built_edition_and_the_log(desk, tmp_path):
    browser, _ = sign_in(desk, EDITOR)
    titles = ["Thousands Rally In Tbilisi", "Kazakhstan Reroutes Oil Exports", "Ruble Slides To Two-Year Low"]
    ids = [by_title(t) for t in titles]
    for article_id in ids:
        assert post(browser, desk, "/desk/pick", article=article_id).status_code == 200
    post(browser, desk, "/desk/move", article=ids[2], direction="up")
    post(browser, desk, "/desk/pitch", article=ids[0], pitch="Why the square filled\nagain")
    post(browser, desk, "/desk/unpick", article=by_title("Thousands Rally In Tbilisi"))
    post(browser, desk, "/desk/pick", article=ids[0], pitch="Back again")

    picks = desk.store.editions.picks(WEEK)
    assert [p.article_id for p in picks] == [ids[2], ids[1], ids[0]], "Ruble moved up; Tbilisi picked again"
    assert picks[2].pitch == "Back again"

    s = desk.app.settings
    web_view = build_edition(desk.store, s.digest, s.feeds_public_url, WEEK, desk.clock(), tmp_path)
    html = web_view.read_text()
    at = [html.index(t) for t in ("Ruble Slides To Two-Year Low", "Kazakhstan Reroutes Oil Exports",
                                  "Thousands Rally In Tbilisi")]
    assert at == sorted(at) and "Back again" in html

    actions = [(e.actor, e.action) for e in desk.store.edition_log.entries(WEEK)]
    assert actions == [(EDITOR, "pick")] * 3 + [(EDITOR, "order"), (EDITOR, "pitch"), (EDITOR, "unpick"),
                                                 (EDITOR, "pick"), (EDITOR, "pitch")]
    assert desk.store.edition_log.entries(WEEK)[4].detail.endswith("Why the square filled again"), "one line"


def test_digest_log_prints_changes_from_the_desk_and_the_command_line(desk, capsys):
    browser, _ = sign_in(desk, EDITOR)
    post(browser, desk, "/desk/pick", article=by_title("Ruble Slides To Two-Year Low"))
    store = ["--store", desk.store.url, "--now", "2026-11-26T10:00:00+00:00"]
    assert run([*store, "digest", "pick", "https://news.example.org/2026/11/kazakh-oil", "--pitch", "Oil"]) == 0
    capsys.readouterr()
    assert run([*store, "digest", "log"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ed@example.org  pick  #1 Ruble Slides To Two-Year Low" in lines[0]
    assert re.search(r"2026-W48  cli:\S+  pick  #2 Kazakhstan Reroutes Oil Exports", lines[1])
    assert "pitch  Kazakhstan Reroutes Oil Exports: Oil" in lines[2]


def test_the_preview_is_the_email_a_subscriber_following_ukraine_gets(desk):
    browser, _ = sign_in(desk, EDITOR)
    post(browser, desk, "/desk/pick", article=by_title("A Siberian Theatre Keeps Its Doors Open"))
    email = browser.get(desk.url + "/desk/preview/email", params={"pc": "UA"}, timeout=10)
    assert email.status_code == 200
    assert "frame-ancestors 'self'" in email.headers["Content-Security-Policy"]
    assert "script-src" not in email.headers["Content-Security-Policy"]  # default-src 'none': no script
    assert "A Siberian Theatre" in email.text, "picks are in every personal edition"
    assert "Grain Corridor Talks Resume" in email.text and "Thousands Rally In Tbilisi" not in email.text
    everyone = browser.get(desk.url + "/desk/preview/email", timeout=10).text
    assert "Thousands Rally In Tbilisi" in everyone
    page = browser.get(desk.url + "/desk/preview", params={"pc": "UA"}, timeout=10).text
    assert 'width="600"' in page and 'width="375"' in page and "pc=UA" in page


def test_a_test_copy_goes_to_the_editor_only_and_is_logged(desk):
    browser, _ = sign_in(desk, EDITOR)
    answer = post(browser, desk, "/desk/test")
    assert "A test copy went to ed@example.org." in answer.text
    [mail] = desk.inbox.wait_for(EDITOR)
    assert "Example Weekly" in mail["Subject"]
    assert len(desk.inbox.messages) == 1 and desk.store.ledger.entries(WEEK) == []
    assert [e.action for e in desk.store.edition_log.entries(WEEK)] == ["test"]


def test_an_admin_sends_after_a_confirmation_naming_the_recipients(desk):
    browser, _ = sign_in(desk, ADMIN)
    confirm = browser.get(desk.url + "/desk/send", timeout=10)
    assert "to <strong>2 recipients</strong>" in confirm.text
    stale = browser.post(desk.url + "/desk/send", data={"csrf_token": csrf_token(confirm), "recipients": "3"},
                         timeout=10)
    assert stale.status_code == 409 and desk.inbox.messages == []
    sent = browser.post(desk.url + "/desk/send", data={"csrf_token": csrf_token(confirm), "recipients": "2"},
                        timeout=30)
    assert "2026-W48: 2 sent, 0 failed, 0 uncertain." in sent.text
    assert 'data-state="sent"' in sent.text and "2 sent, 0 failed, 0 uncertain" in sent.text
    assert {m["X-Rcpt"] for m in desk.inbox.messages} == {"una@example.com", "rui@example.com"}
    assert [(e.actor, e.action) for e in desk.store.edition_log.entries(WEEK)] == [(ADMIN, "send")]
    # a sent edition is shown, no longer edited
    assert "/desk/pick" not in sent.text and "Send now" not in sent.text
    refused = post(browser, desk, "/desk/pick", article=by_title("Ruble Slides To Two-Year Low"))
    assert "is sent: its picks can no longer change" in refused.text


def test_editors_cli_takes_the_password_twice_from_stdin_or_the_environment(tmp_path, monkeypatch, capsys):
    import io
    import sys

    store = ["--store", f"sqlite:///{tmp_path / 'f.db'}"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long passphrase\na long passphrase\n"))
    assert run([*store, "editors", "add", "Anna@Example.org", "--role", "admin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("one long passphrase\nanother passphrase\n"))
    assert run([*store, "editors", "add", "bob@example.org"]) == 2
    assert "the two passwords on standard input differ" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert run([*store, "editors", "add", "bob@example.org"]) == 2
    assert "too short" in capsys.readouterr().err
    monkeypatch.setenv("FEEDPIPE_EDITOR_PASSWORD", "from the environment")
    assert run([*store, "editors", "add", "bob@example.org", "--role", "editor"]) == 0
    assert run([*store, "editors", "add", "bob@example.org"]) == 4
    assert "already an editor" in capsys.readouterr().err
    assert run([*store, "editors", "add", "x@example.org", "--role", "owner"]) == 2
    assert run([*store, "editors", "passwd", "bob@example.org"]) == 0
    assert run([*store, "editors", "list"]) == 0
    out = capsys.readouterr().out
    assert "Anna@example.org  admin" in out and "bob@example.org  editor" in out
    assert "passphrase" not in out and "environment" not in out
    assert run([*store, "editors", "remove", "bob@example.org"]) == 0
    assert run([*store, "editors", "remove", "bob@example.org"]) == 4


def test_the_desk_names_the_editions_state_and_the_recipients_in_doubt(desk, tmp_path):
    browser, page = sign_in(desk, ADMIN)
    assert 'data-state="collecting"' in page.text
    s = desk.app.settings
    build_edition(desk.store, s.digest, s.feeds_public_url, WEEK, desk.clock(), tmp_path)
    assert 'data-state="built"' in browser.get(desk.url + "/desk/", timeout=10).text

    # a send that lost the connection after DATA for one subscriber, and was then stopped
    now = desk.clock()
    assert desk.store.editions.claim(WEEK, now)
    desk.store.ledger.enqueue(WEEK, now=now)
    desk.store.ledger.transition(WEEK, "una@example.com", expect="pending", to="uncertain", now=now,
                                 error="connection lost after DATA")
    desk.store.ledger.transition(WEEK, "rui@example.com", expect="pending", to="sent", now=now)
    page = browser.get(desk.url + "/desk/", timeout=10).text
    assert 'data-state="sending"' in page and "1 sent, 0 failed, 1 uncertain" in page
    assert "una@example.com: uncertain (connection lost after DATA)" in page
    assert "/desk/pick" not in page, "an edition being sent is no longer edited"
    assert "No active subscriber is waiting" in browser.get(desk.url + "/desk/send", timeout=10).text


def test_the_pick_service_keeps_picks_sensible_and_logs_only_changes(tmp_path):
    from datetime import UTC, datetime

    from feedpipe.core.errors import FeedpipeError
    from feedpipe.digest import picks as picking
    from feedpipe.store import Store

    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    store = Store.open(f"sqlite:///{tmp_path / 'f.db'}", now=now)
    store.articles.upsert(week_of_articles(), now=now)
    a, b = by_title(RUBLE := "Ruble Slides To Two-Year Low"), by_title("Thousands Rally In Tbilisi")
    for article_id in (a, b):
        picking.pick(store, WEEK, article_id, actor="anna", now=now)
    picking.pick(store, WEEK, a, actor="anna", now=now)  # picked already: nothing changes, nothing logged
    assert [p.article_id for p in picking.move(store, WEEK, a, -1, actor="anna", now=now)] == [a, b], "top stays"
    with pytest.raises(FeedpipeError, match="only a picked article has a pitch"):
        picking.set_pitch(store, WEEK, by_title("Grain Corridor Talks Resume"),
                          "x", actor="anna", now=now)
    pitch = picking.set_pitch(store, WEEK, a, "  Why\nit\tmatters " + "!" * 400, actor="anna", now=now).pitch
    assert pitch is not None and pitch.startswith("Why it matters !") and len(pitch) == picking.PITCH_MAX
    assert [e.action for e in store.edition_log.entries(WEEK)] == ["pick", "pick", "pitch"]
    assert store.edition_log.entries(WEEK)[0].detail == f"#1 {RUBLE}"

    store.editions.finish(WEEK, "sent", now=now)
    with pytest.raises(FeedpipeError, match="2026-W48 is sent: its picks can no longer change"):
        picking.unpick(store, WEEK, a, actor="anna", now=now)
    assert len(store.editions.picks(WEEK)) == 2
    store.close()


VNU = Path(__file__).resolve().parent / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.mark.skipif(not VNU.exists(), reason="vnu.jar absent: run `npm ci --prefix tests/vnu`")
@pytest.mark.skipif(shutil.which("java") is None, reason="no java to run the Nu HTML checker")
def test_the_desk_pages_pass_the_nu_html_checker(desk, tmp_path):
    anonymous = requests.get(desk.url + "/desk/login", timeout=5).text
    browser, _ = sign_in(desk, ADMIN)
    post(browser, desk, "/desk/pick", article=by_title("Ruble Slides To Two-Year Low"), pitch="A pitch")
    files = [tmp_path / "login.html"]
    files[0].write_text(anonymous, encoding="utf-8")
    for name in ("", "preview?pc=UA", "send", "log", "?q=ruble&country=RU", "editors/"):
        path = tmp_path / f"desk-{len(files)}.html"
        path.write_text(browser.get(desk.url + "/desk/" + name, timeout=10).text, encoding="utf-8")
        files.append(path)
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", *map(str, files)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_a_form_without_its_csrf_token_changes_nothing_even_when_signed_in(desk):
    browser, _ = sign_in(desk, ADMIN)
    for path, fields in (("/desk/pick", {"article": by_title("Ruble Slides To Two-Year Low")}),
                         ("/desk/send", {"recipients": "2"}), ("/desk/test", {})):
        answer = browser.post(desk.url + path, data=fields, timeout=10)
        assert answer.status_code == 400 and "Please try again" in answer.text, path
    assert desk.store.editions.picks(WEEK) == [] and desk.inbox.messages == []
    assert desk.store.edition_log.entries(WEEK) == []


def test_an_admin_adds_and_removes_editors_on_the_desk_and_an_editor_cannot(desk):
    editor_browser, _ = sign_in(desk, EDITOR)
    assert post(editor_browser, desk, "/desk/editors/add", email="x@example.org", role="admin",
                password=PASSWORD, password2=PASSWORD).status_code == 403
    admin, _ = sign_in(desk, ADMIN)
    differ = post(admin, desk, "/desk/editors/add", email="new@example.org", role="editor",
                  password=PASSWORD, password2=PASSWORD + "!")
    assert differ.status_code == 400 and "The two passwords differ." in differ.text
    short = post(admin, desk, "/desk/editors/add", email="new@example.org", role="editor",
                 password="short", password2="short")
    assert short.status_code == 400 and "too short" in short.text
    added = post(admin, desk, "/desk/editors/add", email="new@example.org", role="editor",
                 password=PASSWORD, password2=PASSWORD)
    assert "Added new@example.org (editor)." in added.text
    assert sign_in(desk, "new@example.org")[1].status_code == 200
    assert post(admin, desk, "/desk/editors/remove", email=ADMIN).status_code == 400, "not yourself"
    removed = post(admin, desk, "/desk/editors/remove", email=EDITOR)
    assert "Removed ed@example.org" in removed.text
    assert editor_browser.get(desk.url + "/desk/", allow_redirects=False, timeout=5).status_code == 303
    assert [e.email for e in desk.store.editors.all()] == [ADMIN, "new@example.org"]


@pytest.mark.postgres
def test_editors_sessions_and_the_edition_log_on_postgresql(pg_url):
    from datetime import UTC, datetime

    from feedpipe.digest import picks as picking
    from feedpipe.editors import authenticate, open_session
    from feedpipe.store import Store

    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    store = Store.open(pg_url, now=now)
    try:
        assert 340 in store.schema_versions()
        anna = add_editor(store.editors, "anna@example.org", PASSWORD, role="admin", now=now)
        assert authenticate(store.editors, "anna@example.org", PASSWORD, now=now) == anna
        assert authenticate(store.editors, "anna@example.org", "wrong password", now=now) is None
        sid = open_session(store.editors, anna, now=now)
        assert store.editors.session_editor(sid, now=now + timedelta(hours=11)) == anna
        assert store.editors.session_editor(sid, now=now + timedelta(hours=13)) is None
        store.articles.upsert(week_of_articles(), now=now)
        for title in ("Ruble Slides To Two-Year Low", "Thousands Rally In Tbilisi"):
            picking.pick(store, WEEK, by_title(title), actor=anna.email, now=now)
        picking.move(store, WEEK, by_title("Thousands Rally In Tbilisi"), -1, actor=anna.email, now=now)
        assert [e.action for e in store.edition_log.entries(WEEK)] == ["pick", "pick", "order"]
        assert store.edition_log.entries()[2].at == now
        assert store.editors.remove("anna@example.org") and store.editors.session_editor(sid, now=now) is None
    finally:
        store.close()
