"""The small pages: home, privacy, and the answers for a missing page or an expired form."""

from __future__ import annotations

import flask
from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from feedpipe.web.archive import editions
from feedpipe.web.deps import current

HOME_EDITIONS = 5

bp = flask.Blueprint("pages", __name__)


@bp.get("/")
def home() -> str:
    return render_template("home.html", editions=editions(current())[:HOME_EDITIONS])


@bp.get("/privacy")
def privacy() -> str:
    return render_template("privacy.html")


@bp.app_errorhandler(CSRFError)
def csrf_error(_exc: HTTPException) -> tuple[str, int]:
    return render_template("message.html", title="Please try again",
                           text="The form expired or was sent from elsewhere. Reload the page and try again."), 400


@bp.app_errorhandler(404)
def not_found(_exc: HTTPException) -> tuple[str, int]:
    return render_template("message.html", title="Not found",
                           text="There is nothing at this address. The link may be old or mistyped."), 404
