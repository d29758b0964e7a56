"""`/digest/`: the archive of sent editions (the HTML files in `public/digest/`) and their Atom feed."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import flask
from feedgen.feed import FeedGenerator
from flask import abort, render_template

from feedpipe.web.deps import Web, current
from feedpipe.web.files import CONTENT_TYPES, conditional, etag_of, serve_file

EDITION_KEY = re.compile(r"^\d{4}-W\d{2}$")
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
EDITION_MAX_AGE = 3600
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)

bp = flask.Blueprint("archive", __name__)


@dataclass(frozen=True, kw_only=True)
class EditionLink:
    key: str  # "2026-W48"
    title: str  # the edition page's <title>
    modified: datetime
    url: str  # on the public site


def editions(web: Web) -> list[EditionLink]:
    """The published editions, newest first."""
    folder = web.app.settings.digest_dir
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob("*.html"):
        if not EDITION_KEY.match(path.stem):
            continue
        cached = web.files.get(path)
        if cached is None:
            continue
        found = TITLE.search(cached.body[:20_000])
        title = found.group(1).decode("utf-8", "replace").strip() if found else path.stem
        out.append(EditionLink(key=path.stem, title=html.unescape(" ".join(title.split())),
                               modified=cached.modified, url=f"{web.site.public_url}/digest/{path.stem}"))
    return sorted(out, key=lambda e: e.key, reverse=True)


@bp.get("/digest/")
@bp.get("/digest")
def index() -> str:
    return render_template("archive.html", editions=editions(current()))


@bp.get("/digest/<key>")
def edition(key: str) -> flask.Response:
    web = current()
    key = key.removesuffix(".html")
    if not EDITION_KEY.match(key):
        abort(404)
    return serve_file(web.files, web.app.settings.digest_dir / f"{key}.html", max_age=EDITION_MAX_AGE)


@bp.get("/digest/editions.atom")
def editions_feed() -> flask.Response:
    web = current()
    items = editions(web)
    home = f"{web.site.public_url}/digest/"
    fg = FeedGenerator()
    fg.id(home)
    fg.title(web.site.newsletter)
    fg.link(href=home, rel="alternate")
    fg.link(href=f"{home}editions.atom", rel="self")
    fg.language(web.app.settings.outlet.language)
    fg.updated(items[0].modified if items else EMPTY_FEED_UPDATED)
    for item in reversed(items):
        entry = fg.add_entry()
        entry.id(item.url)
        entry.title(item.title)
        entry.link(href=item.url)
        entry.updated(item.modified)
        entry.published(item.modified)
    body: bytes = fg.atom_str(pretty=True)
    return conditional(body, content_type=CONTENT_TYPES[".atom"], etag=etag_of(body),
                       modified=max((i.modified for i in items), default=None))
