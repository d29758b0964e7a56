"""Canonical URLs and stable ids, so tracking-parameter and http/https variants are one article."""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader; dropping them never changes the page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "igsh",
        "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "ref_src", "ref_url", "cmpid",
        "ocid", "icid", "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id",
        "rb_clickid", "s_cid", "spm", "twclid", "ttclid", "li_fat_id", "at_medium", "at_campaign",
        "wt_mc", "wt.mc_id", "smid", "sr_share", "cid",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_", "__hs")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


@lru_cache(maxsize=8192)  # pure, and a feed asks for the same URL more than once
def canonical_url(url: str) -> str:
    """The URL an article is keyed by: tracking params, fragment, default port and case noise removed.

    http becomes https (outlets serve both; the article is the same), remaining query parameters
    are sorted, and a trailing slash on a non-root path is dropped. Non-web URLs (file:, urn:)
    come back stripped but otherwise unchanged.
    """
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host.lower()
    except UnicodeError:
        host = host.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query.sort()
    return urlunsplit(("https", netloc, path, urlencode(query, doseq=True), ""))


def _h(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def article_id(canonical_url: str | None = None, source: str | None = None, guid: str | None = None) -> str:
    """Stable id: hash of the canonical URL, else of source + guid (32 hex chars of sha256)."""
    if canonical_url:
        return _h("url", canonical_url)
    if guid:
        return _h("guid", source or "", guid)
    raise ValueError("article_id needs a canonical URL or a guid")


def content_hash(title: str, text: str) -> str:
    """Hash of normalised title + text, for spotting edits and near-identical copies."""

    def norm(s: str) -> str:
        # Whitespace runs (str.isspace) collapsed to one space and trimmed, as re.sub(r"\s+", " ", ...).strip() did.
        return " ".join(unicodedata.normalize("NFKC", s or "").split()).casefold()

    return _h("content", norm(title), norm(text))
