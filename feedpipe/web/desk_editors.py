"""`/desk/editors/`: an admin lists, adds and removes editors (the same service as `feedpipe editors`).

Nested in the desk's blueprint, so the desk's login guard runs first; every route here is admin-only.
An admin cannot remove themselves (so the desk is never left without the admin who is using it).
"""

from __future__ import annotations

import logging

import flask
from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from feedpipe.core.errors import FeedpipeError
from feedpipe.editors import add_editor
from feedpipe.store.desk import ROLES
from feedpipe.web.deps import current
from feedpipe.web.desk_auth import admin_only, editor

log = logging.getLogger(__name__)
bp = flask.Blueprint("editors", __name__, url_prefix="/editors")


def _page(error: str | None = None, notice: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("desk/editors.html", editors=current().app.store.editors.all(), roles=ROLES,
                           editor=editor(), error=error, notice=notice or request.args.get("notice")), status


@bp.get("/")
@admin_only
def index() -> tuple[str, int]:
    return _page()


@bp.post("/add")
@admin_only
def add() -> ResponseReturnValue:
    app = current().app
    email = (request.form.get("email") or "").strip()
    role = request.form.get("role") or "editor"
    password = request.form.get("password") or ""
    if password != (request.form.get("password2") or ""):
        return _page(error="The two passwords differ.", status=400)
    try:
        added = add_editor(app.store.editors, email, password, role=role, now=app.clock())
    except FeedpipeError as exc:
        return _page(error=f"{exc.message}. {exc.hint}".strip(), status=400)
    log.info("desk: %s added editor %s (%s)", editor().email, added.email, added.role)
    return redirect(url_for(".index", notice=f"Added {added.email} ({added.role})."), 303)


@bp.post("/remove")
@admin_only
def remove() -> ResponseReturnValue:
    email = (request.form.get("email") or "").strip()
    if email.casefold() == editor().email.casefold():
        return _page(error="You cannot remove yourself; another admin can.", status=400)
    if not current().app.store.editors.remove(email):
        return _page(error=f"{email} is not an editor.", status=404)
    log.info("desk: %s removed editor %s", editor().email, email)
    return redirect(url_for(".index", notice=f"Removed {email}; their sessions have ended."), 303)
