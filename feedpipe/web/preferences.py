"""`/preferences/<token>`: the countries and topics a subscriber's edition covers.

The choices are the countries and topics with a published feed plus those already chosen, shown by
name (`tagging.names`); the form posts codes, and a code feedpipe does not know is refused (400) with
the closest valid choices, nothing saved."""

from __future__ import annotations

from pathlib import Path

import flask
from flask import render_template, request
from flask.typing import ResponseReturnValue

from feedpipe.tagging.names import TopicNames, UnknownChoice, country_code, country_codes, country_name
from feedpipe.web.deps import current, subscriber_or_404

bp = flask.Blueprint("preferences", __name__)


def choices(feeds_dir: Path, kind: str, current: tuple[str, ...], topics: TopicNames) -> list[str]:
    """The known codes with a published feed (`public/feeds/<kind>/*`) plus those already chosen, in the
    order of their names; a code feedpipe no longer knows is not offered (saving would refuse it)."""
    folder = feeds_dir / kind
    stems = {p.stem for p in folder.glob("*.*")} if folder.is_dir() else set()
    if kind == "country":
        found = {c for c in (_country(s) for s in [*stems, *current]) if c}
        return sorted(found, key=lambda c: country_name(c).casefold())
    found = {c for c in (topics.find(s) for s in [*stems, *current]) if c}  # a stale choice is dropped
    return sorted(found, key=lambda c: topics.label(c).casefold())


def _country(text: str) -> str | None:
    try:
        return country_code(text)
    except UnknownChoice:
        return None


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> ResponseReturnValue:
    web = current()
    app = web.app
    sub = subscriber_or_404(token)
    saved, error = False, None
    if request.method == "POST":
        try:
            countries = country_codes(request.form.getlist("countries"))
            topics = web.topics.codes(request.form.getlist("topics"))
        except UnknownChoice as exc:
            error = f"{exc.message}; {exc.hint}"
        else:
            sub = app.store.subscribers.set_preferences(sub.email, countries=countries, topics=topics,
                                                       now=app.clock())
            saved = True
    feeds_dir = app.settings.feeds_dir
    chosen_topics = tuple(web.topics.find(t) or t for t in sub.topics)
    page = render_template(
        "preferences.html", subscriber=sub, token=token, saved=saved, error=error,
        countries=choices(feeds_dir, "country", sub.countries, web.topics),
        topics=choices(feeds_dir, "topic", sub.topics, web.topics), chosen_topics=chosen_topics,
    )
    return (page, 400) if error else page
