"""`/preferences/<token>`: the countries and topics a subscriber's edition covers."""

from __future__ import annotations

import re
from pathlib import Path

import flask
from flask import render_template, request

from feedpipe.web.deps import current, subscriber_or_404

COUNTRY = re.compile(r"[A-Za-z]{2}")
TOPIC = re.compile(r"[\w:.-]{1,64}")

bp = flask.Blueprint("preferences", __name__)


def choices(feeds_dir: Path, kind: str, current: tuple[str, ...]) -> list[str]:
    """The codes with a published feed (`public/feeds/<kind>/*`) plus those already chosen."""
    folder = feeds_dir / kind
    found = {p.stem.upper() if kind == "country" else p.stem for p in folder.glob("*.*")} if folder.is_dir() else set()
    return sorted(found | set(current))


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> str:
    app = current().app
    sub = subscriber_or_404(token)
    saved = False
    if request.method == "POST":
        countries = [c for c in request.form.getlist("countries") if COUNTRY.fullmatch(c)]
        topics = [t for t in request.form.getlist("topics") if TOPIC.fullmatch(t)]
        sub = app.store.subscribers.set_preferences(sub.email, countries=countries, topics=topics,
                                                   now=app.clock())
        saved = True
    feeds_dir = app.settings.feeds_dir
    return render_template(
        "preferences.html", subscriber=sub, token=token, saved=saved,
        countries=choices(feeds_dir, "country", sub.countries), topics=choices(feeds_dir, "topic", sub.topics),
    )
