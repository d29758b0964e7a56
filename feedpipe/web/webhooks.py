"""`/webhooks/<provider>`: bounces and complaints pushed by a mail provider.

    POST /webhooks/ses       Amazon SES notifications through SNS (signature checked against the
                             certificate at SigningCertURL, fetched from sns.<region>.amazonaws.com only)
    POST /webhooks/mailgun   Mailgun webhooks (HMAC-SHA256 with the signing key from the environment)

An unsigned, badly signed, stale or replayed call is refused (403, or 409 for a replay) and changes
nothing; a good one answers 200. No CSRF token (a provider sends none; the signature is the authority;
`create_app` exempts `receive`). The body is bounded by the app's MAX_CONTENT_LENGTH.
"""

from __future__ import annotations

import logging
import os

import flask
from flask import request

from feedpipe.bounces.hooks import handle_mailgun, handle_ses
from feedpipe.bounces.providers import WebhookRefused
from feedpipe.bounces.sns import SnsClient, fetching_sns_client
from feedpipe.web.deps import current

log = logging.getLogger(__name__)
SNS_EXTENSION = "feedpipe.sns"

bp = flask.Blueprint("webhooks", __name__)


def sns_client() -> SnsClient:
    """The SNS client given to `create_app` (tests: a local certificate), else one over feedpipe's fetcher
    (no redirects, certificates only from sns.<region>.amazonaws.com)."""
    found = flask.current_app.extensions.get(SNS_EXTENSION)
    if found is None:
        app = current().app
        found = fetching_sns_client(app.settings.fetch, app.clock)
        flask.current_app.extensions[SNS_EXTENSION] = found
    client: SnsClient = found
    return client


@bp.post("/webhooks/<provider>")
def receive(provider: str) -> tuple[str, int]:
    app = current().app
    settings = app.settings.bounces
    body = request.get_data(cache=False)
    try:
        if provider == "ses":
            done = handle_ses(app.store, settings, body, sns_client(), app.clock())
        elif provider == "mailgun":
            done = handle_mailgun(app.store, settings, body, os.environ.get(settings.mailgun_key_env), app.clock())
        else:
            return f"unknown provider {provider!r}: use ses or mailgun\n", 404
    except WebhookRefused as exc:
        log.warning("webhook %s refused: %s", provider, exc.reason)
        return f"refused: {exc.reason}\n", exc.status
    return f"ok: {done}\n", 200
