"""`create_app`: the Flask application for a running feedpipe, its blueprints registered."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import flask
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader

from feedpipe.store import Store
from feedpipe.tagging.names import TopicNames, country_name
from feedpipe.web import archive, desk, feeds, health, pages, preferences, signup, unsubscribe
from feedpipe.web.deps import Site, Web, WebApp
from feedpipe.web.files import FileCache
from feedpipe.web.ratelimit import RateLimiter
from feedpipe.web.security import secure

SECRET_ENV = "FEEDPIPE_SECRET_KEY"
SECRET_META_KEY = "web.secret_key"
# The packaged templates: feedpipe/defaults/templates is a link to the repository's templates/.
TEMPLATE_DIRS = (Path(__file__).resolve().parent.parent / "defaults" / "templates" / "web",)
BLUEPRINTS = (feeds.bp, archive.bp, signup.bp, preferences.bp, unsubscribe.bp, health.bp, pages.bp, desk.bp)


def create_app(app: WebApp, *, signup_limiter: RateLimiter | None = None,
               secret_key: str | None = None) -> flask.Flask:
    """The Flask application for `app` (settings, clock, store, transport).

    `secret_key` signs the session cookie; by default FEEDPIPE_SECRET_KEY, else one kept in the store."""
    web = flask.Flask(__name__, static_folder=None)
    web.jinja_loader = _templates(app.settings.templates_dir)
    csrf = secure(web, secret_key or _secret_key(app.store))
    csrf.exempt(unsubscribe.one_click)
    site = Site.from_settings(app.settings)
    topics = TopicNames.load(app.settings.tagging_dir)
    Web(app=app, site=site, files=FileCache(), limiter=signup_limiter or RateLimiter(), topics=topics).install(web)
    web.context_processor(lambda: {"site": site})
    web.jinja_env.filters["country_name"] = country_name  # names people read (tagging.names)
    web.jinja_env.filters["topic_label"] = topics.label
    for blueprint in BLUEPRINTS:
        web.register_blueprint(blueprint)
    return web


def _templates(outlet_dir: Path | None) -> BaseLoader:
    """The outlet's `<templates>/web/` first (when configured), then the packaged ones."""
    dirs = [outlet_dir / "web"] if outlet_dir is not None else []
    dirs += [d for d in TEMPLATE_DIRS if d.is_dir()]
    return ChoiceLoader([FileSystemLoader(str(d)) for d in dirs])


def _secret_key(store: Store) -> str:
    """FEEDPIPE_SECRET_KEY, else a random key kept in the store so every web process shares it."""
    env = os.environ.get(SECRET_ENV)
    if env:
        return env
    key = store.meta.get(SECRET_META_KEY)
    if not key:
        fresh = secrets.token_hex(32)
        store.meta.set(SECRET_META_KEY, fresh)
        key = store.meta.get(SECRET_META_KEY) or fresh
    return key
