"""The web side: feeds over HTTP, the digest archive, sign-up, one-click unsubscribe, preferences.

`create_app(app)` builds the Flask application; `WebServer` runs it on waitress (a production WSGI
server) in a thread, so `feedpipe serve` can run it beside the scheduler and tests can run the
real thing on 127.0.0.1, port 0.

- `/feeds/...` serves the files under `public/feeds/` at the same paths, with a strong ETag (a
  hash of the bytes), Last-Modified (the file's mtime), Cache-Control, 304 on If-None-Match or
  If-Modified-Since, and the right content type per format.
- `/digest/` lists the editions in `public/digest/`, `/digest/2026-W48` shows one, and
  `/digest/editions.atom` is an Atom feed of them.
- `/subscribe` (double opt-in) → email with `/confirm/<token>` → a button there makes the
  subscriber active. The confirm page asks for a click (POST) rather than confirming on GET, so
  a mail scanner that prefetches links cannot subscribe anyone.
- `/unsubscribe/<token>`: POST `List-Unsubscribe=One-Click` (RFC 8058) unsubscribes and answers
  200, no redirect, no cookie, no CSRF token; GET only shows a page with a button.
- `/preferences/<token>`: countries and topics.
- `/healthz`: the store answers; who holds the scheduler lease.

Forms carry a CSRF token (Flask-WTF CSRFProtect); subscriber tokens are looked up in constant time
by the store; sign-up is rate-limited per client IP by an in-process token bucket (per process:
several web processes each keep their own buckets).
"""

from __future__ import annotations

import contextlib
import email.policy
import hashlib
import html
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import flask
from flask import abort, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.security import safe_join

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.text import one_line

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
FEED_MAX_AGE = 300  # seconds a client or proxy may reuse a feed without asking
EDITION_KEY = re.compile(r"^\d{4}-W\d{2}$")
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
SECRET_META_KEY = "web.secret_key"
# The packaged templates: feedpipe/defaults/templates is a link to the repository's templates/.
TEMPLATE_DIRS = (Path(__file__).resolve().parent / "defaults" / "templates" / "web",)


# -- small parts -----------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket per key (client IP): `capacity` requests at once, refilled at `capacity`
    per `per_seconds`. In-process only."""

    def __init__(self, capacity: int = 5, per_seconds: float = 600.0, clock=time.monotonic) -> None:
        self.capacity = capacity
        self.rate = capacity / per_seconds
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next token when not allowed)."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if len(self._buckets) > 10_000:  # forget full buckets so memory stays bounded
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.capacity}
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1 - tokens) / self.rate


@dataclass(frozen=True)
class _Cached:
    stamp: tuple[int, int]  # (mtime_ns, size)
    body: bytes
    etag: str
    modified: datetime


class FileCache:
    """Bytes and ETag of public files, re-read only when the file's mtime or size changes."""

    def __init__(self, limit: int = 512) -> None:
        self._items: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def get(self, path: Path) -> _Cached | None:
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
        cached = _Cached(
            stamp=stamp,
            body=body,
            etag=hashlib.sha256(body).hexdigest()[:32],
            modified=datetime.fromtimestamp(int(st.st_mtime), UTC),
        )
        with self._lock:
            if len(self._items) >= self.limit:
                self._items.clear()
            self._items[key] = cached
        return cached


def _setting(obj: Any, name: str, default: Any = None) -> Any:
    value = getattr(obj, name, None)
    return default if value is None else value


class _RequestSecureSessions(SecureCookieSessionInterface):
    """The session cookie (it only carries the CSRF secret) is `Secure` when the request came over
    HTTPS, directly or through a trusted proxy's X-Forwarded-Proto (see `WebServer(trusted_proxy=)`)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return flask.has_request_context() and request.is_secure


# -- the application ------------------------------------------------------------------------------


def create_app(app: Any, *, signup_limiter: RateLimiter | None = None, secret_key: str | None = None) -> flask.Flask:
    """The Flask application for `app` (settings, store, clock, transport)."""
    settings = app.settings
    digest = getattr(settings, "digest", None)
    outlet = getattr(settings, "outlet", None)
    public_dir = Path(settings.public_dir)
    public_url = (_setting(digest, "public_url") or _setting(outlet, "public_url", "http://localhost:8080")).rstrip("/")
    outlet_name = _setting(outlet, "name", "feedpipe")
    newsletter = _setting(digest, "title", f"{outlet_name} Weekly")
    day = _setting(digest, "day", "friday").capitalize()

    web = flask.Flask(__name__, static_folder=None)
    dirs = []
    if getattr(settings, "templates_dir", None):
        dirs.append(Path(settings.templates_dir) / "web")
    dirs += [d for d in TEMPLATE_DIRS if d.is_dir()]
    web.jinja_loader = ChoiceLoader([FileSystemLoader(str(d)) for d in dirs])
    web.config.update(
        SECRET_KEY=secret_key or _secret_key(app),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session cookie
        WTF_CSRF_SSL_STRICT=False,  # a proxy may terminate TLS; the token and SameSite cookie suffice
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    web.session_interface = _RequestSecureSessions()
    csrf = CSRFProtect(web)
    limiter = signup_limiter or RateLimiter()
    files = FileCache()
    page = {
        "outlet": outlet_name,
        "newsletter": newsletter,
        "day": day,
        "public_url": public_url,
        "privacy_line": _setting(digest, "privacy_line", "Subscribers agree to our privacy policy."),
        "privacy_url": _setting(digest, "privacy_url") or f"{public_url}/privacy",
        "intro": f"Our weekly newsletter brings you a hand-picked selection of news, features, analysis "
                 f"and more from {outlet_name}.",
    }

    @web.context_processor
    def _globals() -> dict:
        return {"site": page}

    @web.after_request
    def _headers(response: flask.Response) -> flask.Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # token URLs never leak on
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.mimetype == "text/html":
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; "
                "frame-ancestors 'none'; form-action 'self'",
            )
        return response

    @web.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return render_template("message.html", title="Please try again",
                               text="The form expired or was sent from elsewhere. Reload the page and try again."), 400

    @web.errorhandler(404)
    def _not_found(_exc):
        return render_template("message.html", title="Not found",
                               text="There is nothing at this address. The link may be old or mistyped."), 404

    # -- files: feeds, OPML, editions -----------------------------------------------------------

    def serve_file(path: Path, content_type: str | None = None, *, max_age: int = FEED_MAX_AGE):
        cached = files.get(path)
        if cached is None:
            abort(404)
        response = flask.Response(cached.body, content_type=content_type or CONTENT_TYPES.get(path.suffix,
                                                                                               "application/octet-stream"))
        response.set_etag(cached.etag)
        response.last_modified = cached.modified
        response.cache_control.public = True
        response.cache_control.max_age = max_age
        return response.make_conditional(request)

    def public_path(*parts: str) -> Path:
        joined = safe_join(str(public_dir), *parts)
        if joined is None:
            abort(404)
        return Path(joined)

    @web.get("/feeds/<path:name>")
    def feed(name: str):
        path = public_path("feeds", name)
        if path.suffix not in CONTENT_TYPES:
            abort(404)
        return serve_file(path)

    @web.get("/feeds/")
    def feeds_index():
        return flask.redirect("/feeds/index.opml", code=302)

    def editions() -> list[dict]:
        folder = public_dir / "digest"
        out = []
        if folder.is_dir():
            for path in folder.glob("*.html"):
                if not EDITION_KEY.match(path.stem):
                    continue
                cached = files.get(path)
                if cached is None:
                    continue
                found = TITLE.search(cached.body[:20_000])
                title = found.group(1).decode("utf-8", "replace").strip() if found else path.stem
                out.append({"key": path.stem, "title": html.unescape(" ".join(title.split())),
                            "modified": cached.modified, "url": f"{public_url}/digest/{path.stem}"})
        return sorted(out, key=lambda e: e["key"], reverse=True)

    @web.get("/digest/")
    @web.get("/digest")
    def digest_index():
        return render_template("archive.html", editions=editions())

    @web.get("/digest/<key>")
    def digest_edition(key: str):
        key = key.removesuffix(".html")
        if not EDITION_KEY.match(key):
            abort(404)
        return serve_file(public_dir / "digest" / f"{key}.html", max_age=3600)

    @web.get("/digest/editions.atom")
    def digest_feed():
        from feedgen.feed import FeedGenerator

        items = editions()
        fg = FeedGenerator()
        fg.id(f"{public_url}/digest/")
        fg.title(newsletter)
        fg.link(href=f"{public_url}/digest/", rel="alternate")
        fg.link(href=f"{public_url}/digest/editions.atom", rel="self")
        fg.language(_setting(outlet, "language", "en"))
        fg.updated(items[0]["modified"] if items else datetime(2000, 1, 1, tzinfo=UTC))
        for item in reversed(items):
            entry = fg.add_entry()
            entry.id(item["url"])
            entry.title(item["title"])
            entry.link(href=item["url"])
            entry.updated(item["modified"])
            entry.published(item["modified"])
        body = fg.atom_str(pretty=True)
        response = flask.Response(body, content_type=CONTENT_TYPES[".atom"])
        response.set_etag(hashlib.sha256(body).hexdigest()[:32])
        if items:
            response.last_modified = max(i["modified"] for i in items)
        response.cache_control.public = True
        response.cache_control.max_age = FEED_MAX_AGE
        return response.make_conditional(request)

    # -- subscribers ----------------------------------------------------------------------------

    def subscriber_or_404(token: str):
        sub = app.store.subscribers.by_token(token)
        if sub is None:
            abort(404)
        return sub

    @web.route("/subscribe", methods=["GET", "POST"])
    def subscribe():
        if request.method == "GET":
            return render_template("subscribe.html", error=None, email="", name="")
        allowed, wait = limiter.allow(request.remote_addr or "?")
        if not allowed:
            response = flask.make_response(render_template(
                "message.html", title="Too many sign-ups",
                text="Too many sign-ups from your address. Please try again in a few minutes."), 429)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        email = (request.form.get("email") or "").strip()
        name = " ".join((request.form.get("name") or "").split())[:100] or None
        try:
            sub = app.store.subscribers.add(email, name=name, status="pending", now=app.clock())
        except FeedpipeError:
            return render_template("subscribe.html", error="Please enter a valid email address.",
                                   email=email, name=name or ""), 400
        if sub.status == "bounced":
            sub = app.store.subscribers.set_status(sub.email, "pending", now=app.clock())
        if sub.status == "pending":
            try:
                send_confirmation(sub)
            except Exception:
                log.exception("could not send the confirmation email to a new subscriber")
                return render_template("message.html", title="Something went wrong",
                                       text="We could not send the confirmation email. Please try again later."), 503
        # the same answer whether the address was new, pending or active: no one learns who is subscribed
        return render_template("message.html", title="Check your inbox",
                               text="We have sent you an email with a link. Follow it to confirm your "
                                    f"subscription; until then you will not receive {newsletter}.")

    def send_confirmation(sub) -> None:
        link = f"{public_url}/confirm/{sub.token}"
        msg = EmailMessage()
        sender = _setting(digest, "from_address", f"{outlet_name} <no-reply@{urlparse(public_url).hostname}>")
        msg["From"] = one_line(sender)
        msg["To"] = sub.email
        msg["Subject"] = one_line(f"Confirm your subscription to {newsletter}")
        msg["Date"] = format_datetime(app.clock())
        domain = parseaddr(sender)[1].rpartition("@")[2] or "feedpipe.invalid"
        msg["Message-ID"] = make_msgid("confirm", domain=domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(render_template("confirm_email.txt", link=link, subscriber=sub))
        transport = app.transport()
        deliver(transport, msg, sub.email)

    @web.get("/confirm/<token>")
    def confirm_page(token: str):
        sub = subscriber_or_404(token)
        return render_template("confirm.html", subscriber=sub, token=token, done=sub.status == "active")

    @web.post("/confirm/<token>")
    def confirm(token: str):
        sub = subscriber_or_404(token)
        if sub.status in ("pending", "active"):
            sub = app.store.subscribers.set_status(sub.email, "active", now=app.clock())
        return render_template("confirm.html", subscriber=sub, token=token, done=sub.status == "active")

    @web.get("/unsubscribe/<token>")
    def unsubscribe_page(token: str):
        sub = subscriber_or_404(token)
        return render_template("unsubscribe.html", subscriber=sub, token=token, done=False)

    @csrf.exempt
    @web.post("/unsubscribe/<token>")
    def unsubscribe(token: str):
        # RFC 8058: the POST from a mailbox provider carries no cookie; the token is the authority
        sub = subscriber_or_404(token)
        if request.form.get("List-Unsubscribe") != "One-Click":
            abort(400)
        if sub.status != "unsubscribed":
            sub = app.store.subscribers.set_status(sub.email, "unsubscribed", now=app.clock())
        return render_template("unsubscribe.html", subscriber=sub, token=token, done=True), 200

    def choices(kind: str, current: tuple[str, ...]) -> list[str]:
        folder = public_dir / "feeds" / kind
        found = {p.stem.upper() if kind == "country" else p.stem for p in folder.glob("*.*")} if folder.is_dir() else set()
        return sorted(found | set(current))

    @web.route("/preferences/<token>", methods=["GET", "POST"])
    def preferences(token: str):
        sub = subscriber_or_404(token)
        saved = False
        if request.method == "POST":
            countries = [c for c in request.form.getlist("countries") if re.fullmatch(r"[A-Za-z]{2}", c)]
            topics = [t for t in request.form.getlist("topics") if re.fullmatch(r"[\w:.-]{1,64}", t)]
            sub = app.store.subscribers.set_preferences(sub.email, countries=countries, topics=topics,
                                                       now=app.clock())
            saved = True
        return render_template(
            "preferences.html", subscriber=sub, token=token, saved=saved,
            countries=choices("country", sub.countries), topics=choices("topic", sub.topics),
        )

    @web.get("/healthz")
    def healthz():
        body: dict[str, Any] = {"status": "ok"}
        try:
            lease = app.store.leases.get("scheduler")
        except Exception as exc:  # the store does not answer
            return flask.jsonify({"status": "error", "store": str(exc)[:200]}), 503
        now = app.clock()
        body["store"] = "ok"
        body["scheduler"] = (
            {"holder": lease.holder, "expires_at": lease.expires_at.isoformat(), "active": lease.active(now)}
            if lease else None
        )
        runs = app.store.leases.job_runs("digest", limit=1)
        if runs:
            body["last_digest"] = {"edition": runs[0].slot, "status": runs[0].status,
                                   "at": (runs[0].finished_at or runs[0].started_at).isoformat()}
        response = flask.jsonify(body)
        response.cache_control.no_store = True
        return response

    @web.get("/privacy")
    def privacy():
        return render_template("privacy.html")

    @web.get("/")
    def home():
        return render_template("home.html", editions=editions()[:5])

    return web


def deliver(transport: Any, msg: EmailMessage, to: str) -> None:
    """Send one message through the app's transport (`feedpipe.mailer`: SMTP or outbox), then close it."""
    try:
        transport.send(
            msg.as_bytes(policy=email.policy.SMTP),
            sender=parseaddr(msg["From"])[1],
            recipients=[to],
            message_id=msg["Message-ID"],
        )
    finally:
        transport.close()


def _secret_key(app: Any) -> str:
    """FEEDPIPE_SECRET_KEY, else a random key kept in the store so every web process shares it."""
    env = os.environ.get("FEEDPIPE_SECRET_KEY")
    if env:
        return env
    store = app.store
    key = store.meta.get(SECRET_META_KEY)
    if not key:
        store.meta.set(SECRET_META_KEY, secrets.token_hex(32))
        key = store.meta.get(SECRET_META_KEY)
    return key


# -- the server ------------------------------------------------------------------------------------


class WebServer:
    """waitress serving a WSGI app from a thread; `port=0` picks a free port (see `.port`)."""

    def __init__(self, wsgi_app: Any, *, host: str = "127.0.0.1", port: int = 8080, threads: int = 8,
                 trusted_proxy: str | None = None) -> None:
        from waitress import create_server

        proxy = ({"trusted_proxy": trusted_proxy, "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}}
                 if trusted_proxy else {})
        self._server = create_server(wsgi_app, host=host, port=port, threads=threads, ident="feedpipe",
                                     clear_untrusted_proxy_headers=True, **proxy)
        self.host = host
        self.port = self._server.effective_port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        self._thread = threading.Thread(target=self._server.run, name="waitress", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.run()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let the requests in flight finish and their answers go out, then close
        every connection. Sockets are closed on the server's own thread (through its trigger), never
        under its select(); the trigger's pipe is closed after that thread has ended."""
        server = self._server
        running = self._thread is not None and self._thread.is_alive()

        def stop_accepting() -> None:
            server.accepting = False
            server.del_channel()
            with contextlib.suppress(OSError):
                server.socket.close()

        def close_channels() -> None:
            for channel in list(server._map.values()):
                if channel is not server.trigger:
                    with contextlib.suppress(Exception):  # a channel already closing
                        channel.close()
            server.trigger.del_channel()  # the map is empty now: the loop ends

        if running:
            server.trigger.pull_trigger(stop_accepting)
        else:
            stop_accepting()
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=timeout)
        deadline = time.monotonic() + 1.0
        while running and time.monotonic() < deadline and any(
            getattr(ch, "total_outbufs_len", 0) for ch in list(server._map.values())
        ):
            time.sleep(0.01)
        if running:
            server.trigger.pull_trigger(close_channels)
            self._thread.join(timeout)
        else:
            close_channels()
        if not (self._thread and self._thread.is_alive()):
            server.trigger.close()  # its pipe, once no select() watches it

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
