"""What the routes receive: the running app (typed), the site's words, and the shared parts.

`create_app` puts one `Web` on the Flask application; a route asks for it with `current()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import flask
from flask import abort

from feedpipe.core.clock import Clock
from feedpipe.core.model import Subscriber
from feedpipe.core.settings import Settings
from feedpipe.core.urls import safe_url
from feedpipe.mailer import Transport
from feedpipe.store import Store
from feedpipe.tagging.names import TopicNames
from feedpipe.web.files import FileCache
from feedpipe.web.ratelimit import RateLimiter

EXTENSION = "feedpipe"


class WebApp(Protocol):
    """The part of `feedpipe.app.App` the web side uses."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def store(self) -> Store: ...

    def transport(self) -> Transport:
        """A fresh mail transport; the caller closes it."""
        ...


@dataclass(frozen=True, kw_only=True)
class Site:
    """The words every page shows (the templates' `site`), read once from the settings."""

    outlet: str
    newsletter: str
    day: str  # "Friday"
    public_url: str  # no trailing slash
    privacy_line: str
    privacy_url: str
    intro: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Site:
        digest = settings.digest
        public_url = (digest.public_url or settings.outlet.public_url).rstrip("/")
        outlet = settings.outlet.name
        return cls(
            outlet=outlet,
            newsletter=digest.title,
            day=digest.day.capitalize(),
            public_url=public_url,
            privacy_line=digest.privacy_line,
            privacy_url=safe_url(digest.privacy_url) or f"{public_url}/privacy",  # the one safe-URL rule
            intro=f"Our weekly newsletter brings you a hand-picked selection of news, features, analysis "
                  f"and more from {outlet}.",
        )


@dataclass(frozen=True, kw_only=True)
class Web:
    """One web application's dependencies: the running app, its words, the file cache, the sign-up limiter,
    the topics' labels (with the outlet's overrides)."""

    app: WebApp
    site: Site
    files: FileCache
    limiter: RateLimiter
    topics: TopicNames

    def install(self, flask_app: flask.Flask) -> None:
        flask_app.extensions[EXTENSION] = self


def current() -> Web:
    """The `Web` of the application handling this request."""
    web = flask.current_app.extensions[EXTENSION]
    if not isinstance(web, Web):
        raise TypeError(f"extensions[{EXTENSION!r}] is not a feedpipe Web: was the app built by create_app?")
    return web


def subscriber_or_404(token: str) -> Subscriber:
    sub = current().app.store.subscribers.by_token(token)
    if sub is None:
        abort(404)
    return sub
