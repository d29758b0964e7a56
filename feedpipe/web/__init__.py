"""The web side: feeds over HTTP, the digest archive, sign-up, one-click unsubscribe, preferences.

`create_app(app)` builds the Flask application from the running `feedpipe.app.App` (anything with
its settings, clock, store and `transport()`: see `deps.WebApp`); `WebServer` runs it on waitress
(a production WSGI server) in a thread, so `feedpipe serve` can run it beside the scheduler and
tests can run the real thing on 127.0.0.1, port 0.

One module per concern, each a Flask Blueprint:

- `feeds`: `/feeds/...` serves the files under `public/feeds/` at the same paths, with a strong
  ETag, Last-Modified, Cache-Control, 304 on If-None-Match or If-Modified-Since, and the right
  content type per format (`files` owns all of that).
- `archive`: `/digest/` lists the editions in `public/digest/`, `/digest/2026-W48` shows one, and
  `/digest/editions.atom` is an Atom feed of them.
- `signup`: `/subscribe` (double opt-in) → email with `/confirm/<token>` → a button there makes the
  subscriber active. The confirm page asks for a click (POST) rather than confirming on GET, so a
  mail scanner that prefetches links cannot subscribe anyone.
- `unsubscribe`: POST `List-Unsubscribe=One-Click` (RFC 8058) unsubscribes and answers 200, no
  redirect, no cookie, no CSRF token; GET only shows a page with a button.
- `preferences`: `/preferences/<token>`: countries and topics.
- `health`: `/healthz`: the store answers; who holds the scheduler lease.
- `pages`: `/` and `/privacy`, and the 404 and expired-form pages.

Shared parts: `files` (file cache, conditional responses), `ratelimit` (sign-up token bucket),
`security` (headers, session cookie, CSRF), `server` (waitress), `deps` (what the routes receive).

Forms carry a CSRF token (Flask-WTF CSRFProtect); subscriber tokens are looked up in constant time
by the store; sign-up is rate-limited per client IP by an in-process token bucket (per process:
several web processes each keep their own buckets).
"""

from __future__ import annotations

from feedpipe.web.deps import Site, WebApp
from feedpipe.web.factory import create_app
from feedpipe.web.ratelimit import RateLimiter
from feedpipe.web.server import WebServer

__all__ = ["RateLimiter", "Site", "WebApp", "WebServer", "create_app"]
