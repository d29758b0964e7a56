"""WebSub (W3C) publisher side: tell the hub that a feed changed, so subscribers get it at once."""

from __future__ import annotations

from collections.abc import Callable

import requests

from feedpipe.core.errors import FetchError

TIMEOUT_SECONDS = 10.0


def websub_ping(
    hub: str, url: str, session: requests.Session | None = None, *, timeout: float = TIMEOUT_SECONDS
) -> None:
    """POST `hub.mode=publish&hub.url=<url>` to the hub; raise FetchError unless it answers 2xx.

    Pass a `requests.Session` to reuse one connection for many pings.
    """
    try:
        response = (session or requests).post(
            hub, data={"hub.mode": "publish", "hub.url": url}, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise FetchError(
            hub,
            f"WebSub ping for {url} failed: {exc}",
            "check [feeds] websub_hub and that the hub is reachable",
        ) from exc
    if not 200 <= response.status_code < 300:
        raise FetchError(
            hub,
            f"WebSub hub answered HTTP {response.status_code} to the ping for {url}",
            "check [feeds] websub_hub; the hub must accept hub.mode=publish",
        )


def hub_pinger(
    hub: str, session: requests.Session | None = None, *, timeout: float = TIMEOUT_SECONDS
) -> Callable[[str], None]:
    """`ping(url)` for `publish_feeds`, bound to one hub and one HTTP session."""

    def ping(url: str) -> None:
        websub_ping(hub, url, session, timeout=timeout)

    return ping
