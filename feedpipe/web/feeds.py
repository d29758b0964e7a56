"""`/feeds/...`: the published feeds and the OPML list, straight from `public/feeds/`."""

from __future__ import annotations

import flask
from flask import abort
from werkzeug.wrappers.response import Response as BaseResponse

from feedpipe.web.deps import current
from feedpipe.web.files import CONTENT_TYPES, public_path, serve_file

bp = flask.Blueprint("feeds", __name__)


@bp.get("/feeds/<path:name>")
def feed(name: str) -> flask.Response:
    web = current()
    path = public_path(web.app.settings.public_dir, "feeds", name)
    if path.suffix not in CONTENT_TYPES:
        abort(404)
    return serve_file(web.files, path)


@bp.get("/feeds/")
def index() -> BaseResponse:
    return flask.redirect("/feeds/index.opml", code=302)
