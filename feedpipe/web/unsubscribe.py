"""`/unsubscribe/<token>`: RFC 8058 one-click unsubscribe.

POST `List-Unsubscribe=One-Click` (form-encoded or multipart) unsubscribes and answers 200: no
redirect, no cookie, no CSRF token (a mailbox provider's POST carries none; the token is the
authority; `create_app` exempts `one_click` from CSRF). GET only shows a page with the button.
"""

from __future__ import annotations

import flask
from flask import abort, render_template, request

from feedpipe.web.deps import current, subscriber_or_404

ONE_CLICK = ("List-Unsubscribe", "One-Click")

bp = flask.Blueprint("unsubscribe", __name__)


@bp.get("/unsubscribe/<token>")
def page(token: str) -> str:
    sub = subscriber_or_404(token)
    return render_template("unsubscribe.html", subscriber=sub, token=token, done=False)


@bp.post("/unsubscribe/<token>")
def one_click(token: str) -> tuple[str, int]:
    app = current().app
    sub = subscriber_or_404(token)
    field, value = ONE_CLICK
    if request.form.get(field) != value:
        abort(400)
    if sub.status != "unsubscribed":
        sub = app.store.subscribers.set_status(sub.email, "unsubscribed", now=app.clock(),
                                               reason="one-click unsubscribe")
    return render_template("unsubscribe.html", subscriber=sub, token=token, done=True), 200
