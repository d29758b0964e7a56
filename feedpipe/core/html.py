"""The one HTML policy: article HTML is sanitised with these nh3 rules when it is extracted, and
again when a feed publishes it, so stored and published HTML never follow two policies."""

from __future__ import annotations

import hashlib
import logging
from importlib.metadata import version

import nh3

from feedpipe.core.text import xml_safe
from feedpipe.core.urls import WEB_SCHEMES

log = logging.getLogger(__name__)

ALLOWED_TAGS = frozenset(
    ["a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dfn", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul"]
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "abbr": {"title"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
URL_SCHEMES = frozenset(WEB_SCHEMES | {"mailto"})  # the schemes core.urls.safe_url allows in links
_NH3_TAGS = set(ALLOWED_TAGS)
_NH3_ATTRIBUTES = {k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()}
_NH3_SCHEMES = set(URL_SCHEMES)
_LINK_REL = "noopener nofollow"
_REVISION = 1  # bump when `sanitize_html` changes in a way the fingerprint below cannot see
# Which policy sanitised a piece of HTML: the allowlists, the nh3 (ammonia) release and the revision of
# `sanitize_html`. The store records it with each article's HTML (see `core.html_stamp.html_stamp`), and a
# feed publishes stored HTML without a second nh3 pass only when it was checked under this very policy:
# changing the lists or upgrading nh3 changes it, so every older article is sanitised again.
POLICY_VERSION = hashlib.sha256(
    repr((_REVISION, version("nh3"), sorted(_NH3_TAGS), sorted((k, sorted(v)) for k, v in _NH3_ATTRIBUTES.items()),
          sorted(_NH3_SCHEMES), _LINK_REL)).encode()
).hexdigest()[:16]


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Allowlist-sanitise article HTML with nh3; relative links become absolute, links get rel=noopener nofollow."""
    if not html:
        return ""
    html = xml_safe(html)
    if base_url and base_url.startswith(("http://", "https://")):
        try:  # resolved inside nh3 (Rust): a Python callback per attribute cost more than the parse
            return _clean(html, url_relative=("rewrite_with_base", base_url))
        except ValueError:
            log.debug("unusable base URL for relative links: %r", base_url)
    return _clean(html, url_relative=None)


def _clean(html: str, *, url_relative: nh3.UrlRelative | None) -> str:  # (a name in nh3's stub only)
    return nh3.clean(
        html,
        tags=_NH3_TAGS,
        attributes=_NH3_ATTRIBUTES,
        url_schemes=_NH3_SCHEMES,
        link_rel=_LINK_REL,
        strip_comments=True,
        url_relative=url_relative,
    ).strip()
