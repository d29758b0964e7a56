"""Headers on every answer, the session cookie (it only carries the CSRF secret), and CSRF protection."""

from __future__ import annotations

import flask
from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'"
)
MAX_FORM_BYTES = 64 * 1024


class RequestSecureSessions(SecureCookieSessionInterface):
    """The session cookie is `Secure` when the request came over HTTPS, directly or through a
    trusted proxy's X-Forwarded-Proto (see `WebServer(trusted_proxy=)`)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return flask.has_request_context() and request.is_secure


def security_headers(response: flask.Response) -> flask.Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # token URLs never leak on
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def secure(web: flask.Flask, secret_key: str) -> CSRFProtect:
    """Session, CSRF and header settings for `web`; the CSRFProtect (to exempt a view)."""
    web.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session cookie
        WTF_CSRF_SSL_STRICT=False,  # a proxy may terminate TLS; the token and SameSite cookie suffice
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
    )
    web.session_interface = RequestSecureSessions()
    web.after_request(security_headers)
    return CSRFProtect(web)
