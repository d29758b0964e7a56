"""The one safe-URL rule: every URL that leaves feedpipe (feed links, enclosures, images, digest links,
web pages) passes `safe_url` or is dropped, so no output publishes a link another does not.

Allowed: absolute http and https URLs with a host (and `mailto:` where the caller says it fits);
a relative URL is resolved against `base` (the source's or article's address) and then judged like
any other. Refused: every other scheme (javascript:, data:, vbscript:, file:, about:, ...), control
characters, line breaks or invisible format characters anywhere (browsers strip some of them, which
is how `java\\tscript:` slips past a naive check), user name or password in the URL (they leak
secrets and spoof the host: `https://bank.example@evil.example/`), a bad port, quote or angle
characters (they end an attribute or a `<...>` header value), and a relative URL with no usable base.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urljoin, urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 8192
_UNSAFE_CHARACTERS = frozenset('"<>\\`')


def safe_url(url: str | None, *, base: str | None = None, allow_mailto: bool = False) -> str | None:
    """`url` (resolved against `base` when relative) if it is safe to publish, else None.

    The URL comes back as given (only surrounding white space removed and inner spaces encoded as
    %20), so a safe URL is published byte for byte as the source wrote it.
    """
    if not url or not isinstance(url, str):
        return None
    return _safe(url, base or "", allow_mailto)


@lru_cache(maxsize=8192)  # pure; a build publishes the same link in several feeds and formats
def _safe(url: str, base: str, allow_mailto: bool) -> str | None:
    url = url.strip(" \t\r\n\f\v").replace(" ", "%20")
    if not _clean_characters(url):
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if not scheme:  # relative (or protocol-relative "//host/path"): only against a safe web base
        if not base or _safe(base, "", False) is None:
            return None
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
        return _safe(url, "", allow_mailto)
    if scheme == "mailto":
        return url if allow_mailto and len(url) > len("mailto:") else None
    return url if scheme in WEB_SCHEMES and _web_url_ok(url) else None


def _clean_characters(url: str) -> bool:
    """No control, line-break, format (bidi, zero-width) or unassigned character; no quote or angle."""
    return (
        0 < len(url) <= MAX_URL_LENGTH
        and url.isprintable()
        and not _UNSAFE_CHARACTERS.intersection(url)
    )


def _web_url_ok(url: str) -> bool:
    """An http(s) URL with a host, no user name or password, and a valid port (if any)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port out of range or not a number)
    except ValueError:
        return False
    host = parts.hostname or ""
    return bool(host.strip(".")) and "@" not in parts.netloc
