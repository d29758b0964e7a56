"""The editors' desk at `/desk/`: pick, order, pitch and preview this week's edition, send a test, and
(for an admin) send it. Nothing here answers without a session but the login page.

Sign-in: `feedpipe.editors` checks the password (argon2) and opens a session in the store; the browser
holds the session's random id in Flask's signed session cookie (HttpOnly, SameSite=Lax, Secure over
HTTPS, expiring with the session). Logins are rate-limited per account and per client address, and a
wrong address or password gets the same answer. Every change calls `feedpipe.digest.picks` (as the
CLI does), which records it in the edition log. Each form works without JavaScript (POST, then a
redirect back); `desk.js` only makes it quicker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import flask
from flask import abort, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from feedpipe import pipeline
from feedpipe.core.errors import FeedpipeError
from feedpipe.digest import picks as picking
from feedpipe.digest.editions import edition_key, parse_key
from feedpipe.digest.send import send_edition, send_test
from feedpipe.editors import SESSION_LIFETIME, authenticate, open_session
from feedpipe.web import desk_editors
from feedpipe.web.deps import current
from feedpipe.web.desk_auth import admin_only, editor
from feedpipe.web.desk_view import Filters, desk_view, load, preview_html, state
from feedpipe.web.ratelimit import RateLimiter

TEMPLATES = Path(__file__).resolve().parent.parent / "defaults" / "templates"
SCRIPT = TEMPLATES / "desk" / "desk.js"
EXTENSION = "feedpipe.desk"
SESSION_KEY = "desk"
OPEN_ENDPOINTS = {"desk.login_form", "desk.login"}
PREVIEW_CSP = ("default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
               "frame-ancestors 'self'; form-action 'none'")

logger = logging.getLogger(__name__)
bp = flask.Blueprint("desk", __name__, url_prefix="/desk", template_folder=str(TEMPLATES))
bp.register_blueprint(desk_editors.bp)  # /desk/editors/: admins manage the accounts, behind the same login


@dataclass(frozen=True, kw_only=True)
class DeskLimits:
    """The login rate limits: per account (the address typed) and per client address."""

    per_account: RateLimiter
    per_address: RateLimiter


@bp.record_once
def _install(state: flask.blueprints.BlueprintSetupState) -> None:
    state.app.extensions.setdefault(EXTENSION, DeskLimits(per_account=RateLimiter(capacity=5, per_seconds=900),
                                                          per_address=RateLimiter(capacity=20, per_seconds=900)))
    state.app.permanent_session_lifetime = SESSION_LIFETIME  # only the desk makes a session permanent


def limits() -> DeskLimits:
    found = flask.current_app.extensions[EXTENSION]
    if not isinstance(found, DeskLimits):
        raise TypeError(f"extensions[{EXTENSION!r}] is not DeskLimits")
    return found


@bp.before_request
def _require_session() -> ResponseReturnValue | None:
    """Every desk page but the login needs a live session; no session: to the login page."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    app = current().app
    sid = session.get(SESSION_KEY)
    found = app.store.editors.session_editor(sid, now=app.clock()) if isinstance(sid, str) else None
    if found is None:
        if request.method == "GET":
            return redirect(url_for("desk.login_form", next=request.full_path.rstrip("?")), 303)
        return redirect(url_for("desk.login_form"), 303)
    g.editor = found
    return None


@bp.after_request
def _no_store(response: flask.Response) -> flask.Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Only a desk path on this site: never an absolute URL someone slipped into the login link."""
    if target and target.startswith("/desk/") and "//" not in target and "\\" not in target:
        return target
    return url_for("desk.home")


# -- signing in -----------------------------------------------------------------------------------------


@bp.get("/login")
def login_form() -> str:
    return render_template("desk/login.html", error=None, email="", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login() -> ResponseReturnValue:
    app = current().app
    email = (request.form.get("email") or "").strip()
    target = _safe_next(request.form.get("next"))
    ok_account, wait_account = limits().per_account.allow(email.casefold() or "?")
    ok_address, wait_address = limits().per_address.allow(request.remote_addr or "?")
    if not (ok_account and ok_address):
        page = render_template("desk/login.html", email=email, next=target,
                               error="Too many attempts. Please wait a few minutes and try again.")
        response = flask.make_response(page, 429)
        response.headers["Retry-After"] = str(int(max(wait_account, wait_address)) + 1)
        return response
    found = authenticate(app.store.editors, email, request.form.get("password") or "", now=app.clock())
    if found is None:
        return render_template("desk/login.html", email=email, next=target,
                               error="Wrong email address or password."), 401
    session.clear()  # a fresh session: nothing from before the login carries over
    session[SESSION_KEY] = open_session(app.store.editors, found, now=app.clock())
    session.permanent = True
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sid = session.get(SESSION_KEY)
    if isinstance(sid, str):
        current().app.store.editors.close_session(sid)
    session.clear()
    return redirect(url_for("desk.login_form"), 303)


# -- the desk -------------------------------------------------------------------------------------------


def _week() -> str:
    week = request.values.get("week") or ""
    if week:
        try:
            parse_key(week)
            return week
        except FeedpipeError:
            abort(400)
    app = current().app
    return edition_key(app.clock(), app.settings.digest)


def _profile() -> tuple[tuple[str, ...], tuple[str, ...]]:
    countries = tuple(sorted({c.strip().upper() for c in request.args.getlist("pc") if c.strip()}))
    topics = tuple(sorted({t.strip() for t in request.args.getlist("pt") if t.strip()}))
    return countries, topics


@bp.get("/")
def home() -> str:
    app = current().app
    filters = Filters(q=(request.args.get("q") or "").strip()[:200], country=request.args.get("country") or "",
                      topic=request.args.get("topic") or "", section=request.args.get("section") or "")
    key = _week()
    view = desk_view(app.store, app.settings, key, app.clock(), filters)
    countries, topics = _profile()
    preview_query = urlencode({"week": key, "pc": countries, "pt": topics}, doseq=True)
    return render_template("desk/desk.html", view=view, filters=filters, editor=editor(), back=_back(),
                           profile_countries=countries, profile_topics=topics, preview_query=preview_query,
                           notice=request.args.get("notice") or "")


def _back(notice: str = "") -> str:
    """Where a form sends the editor back to: the desk with the same search, filters and profile."""
    if request.method == "GET":
        query = request.query_string.decode("ascii", "replace")
        return "/desk/" + (f"?{query}" if query else "")
    target = _safe_next(request.form.get("back"))
    if notice:
        target = target.split("#", 1)[0]
        glue = "&" if "?" in target else "?"
        target = f"{target}{glue}{urlencode({'notice': notice})}"
    return target


def _refresh(key: str) -> None:
    """Rebuild the edition's web view after its picks changed or it was sent, as the CLI does
    (`cli.digest.refresh_web_view`), so the archive page shows what the email holds."""
    app = current().app
    try:
        pipeline.build_edition_view(app.store, app.settings, key, now=app.clock())
    except FeedpipeError as exc:
        logger.warning("the web view of %s was not rebuilt: %s", key, exc)


def _change(action: Callable[[str, str], object]) -> ResponseReturnValue:
    """Run one change on this week's edition as the signed-in editor, then back to the desk."""
    article_id = request.form.get("article") or ""
    if not article_id:
        abort(400)
    key = _week()
    try:
        action(key, article_id)
    except FeedpipeError as exc:
        return redirect(_back(notice=f"{exc.message}: {exc.hint}" if exc.hint else exc.message), 303)
    _refresh(key)
    return redirect(_back() + f"#a-{article_id}", 303)


@bp.post("/pick")
def pick() -> ResponseReturnValue:
    app, who = current().app, editor().email
    pitch = request.form.get("pitch")
    return _change(lambda key, aid: picking.pick(app.store, key, aid, pitch=pitch or None, actor=who, now=app.clock()))


@bp.post("/unpick")
def unpick() -> ResponseReturnValue:
    app, who = current().app, editor().email
    return _change(lambda key, aid: picking.unpick(app.store, key, aid, actor=who, now=app.clock()))


@bp.post("/move")
def move() -> ResponseReturnValue:
    app, who = current().app, editor().email
    step = {"up": -1, "down": 1}.get(request.form.get("direction") or "")
    if step is None:
        abort(400)
    return _change(lambda key, aid: picking.move(app.store, key, aid, step, actor=who, now=app.clock()))


@bp.post("/pitch")
def pitch() -> ResponseReturnValue:
    app, who = current().app, editor().email
    text = request.form.get("pitch") or ""
    return _change(lambda key, aid: picking.set_pitch(app.store, key, aid, text, actor=who, now=app.clock()))


# -- preview, test, send -------------------------------------------------------------------------------


@bp.get("/preview")
def preview() -> str:
    app = current().app
    key = _week()
    countries, topics = _profile()
    view = desk_view(app.store, app.settings, key, app.clock(), Filters())
    query = urlencode({"week": key, "pc": countries, "pt": topics}, doseq=True)
    return render_template("desk/preview.html", view=view, editor=editor(), preview_query=query,
                           profile_countries=countries, profile_topics=topics)


@bp.get("/preview/email")
def preview_email() -> flask.Response:
    """The email itself, to show in the desk's frames (its own CSP: no script, framed by the desk only)."""
    app = current().app
    countries, topics = _profile()
    html = preview_html(load(app.store, app.settings, _week(), app.clock()), countries, topics, app.clock())
    response = flask.make_response(html)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/test")
def test_copy() -> ResponseReturnValue:
    app, who = current().app, editor().email
    key = _week()
    s = app.settings
    try:
        report = send_test(app.store, s.digest, app.transport(), key, app.clock(), [who],
                           feeds_public_url=s.feeds_public_url, templates_dir=s.templates_dir)
    except FeedpipeError as exc:
        return redirect(_back(notice=f"The test copy was not sent: {exc.message}"), 303)
    picking.record(app.store, key, "test", f"test copy to {who}", actor=who, now=app.clock())
    return redirect(_back(notice=f"A test copy went to {who}." if report.sent else "No test copy was sent."), 303)


@bp.get("/send")
@admin_only
def send_form() -> str:
    app = current().app
    key = _week()
    edition = load(app.store, app.settings, key, app.clock()).edition
    return render_template("desk/send.html", key=key, state=state(app.store, edition), editor=editor(),
                           error=None)


@bp.post("/send")
@admin_only
def send_now() -> ResponseReturnValue:
    app, who = current().app, editor().email
    key = _week()
    s = app.settings
    now_state = state(app.store, load(app.store, s, key, app.clock()).edition)
    if request.form.get("recipients") != str(now_state.recipients):
        return render_template("desk/send.html", key=key, state=now_state, editor=editor(),
                               error="The number of recipients changed since you looked. Check it and "
                                     "confirm again."), 409
    report = send_edition(app.store, s.digest, app.transport(), key, app.clock(),
                          feeds_public_url=s.feeds_public_url, templates_dir=s.templates_dir)
    summary = (f"{report.sent} sent, {report.failed} failed, {report.uncertain} uncertain"
               if not report.skipped else "skipped: no articles")
    if report.not_claimed:
        summary = "another process is sending this edition"
    else:
        _refresh(key)
    picking.record(app.store, key, "send", summary, actor=who, now=app.clock())
    return redirect(url_for("desk.home", week=key, notice=f"{key}: {summary}."), 303)


@bp.get("/log")
def log() -> str:
    key = _week()
    return render_template("desk/log.html", key=key, entries=current().app.store.edition_log.entries(key),
                           editor=editor())


@bp.get("/desk.js")
def script() -> flask.Response:
    response = flask.make_response(SCRIPT.read_bytes())
    response.mimetype = "text/javascript"
    return response
