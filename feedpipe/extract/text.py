"""Plain-text articles copied from a web page (like the seed): title, credit, body, subheadings."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from feedpipe.core.errors import ExtractError
from feedpipe.core.model import Article
from feedpipe.core.text import one_line

from .article import make_article
from .clean import (
    boilerplate_flags,
    is_banner,
    is_heading_like,
    is_photo_credit,
    normalize_paragraph,
)
from .dates import date_from_url, parse_date

_DATELINE = re.compile(
    r"^(?:(?:published|updated|posted|last updated)\s*(?:on|at)?:?\s*)?"
    r"(?P<date>(?:\w{3,9}\.?,?\s+)?(?:\d{1,2}\s+\w{3,9}\.?|\w{3,9}\.?\s+\d{1,2}),?\s+\d{4}|\d{4}-\d{2}-\d{2})"
    r"(?:[,\s]+(?:at\s+)?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?)?\s*$",
    re.IGNORECASE,
)
_DATE_FORMATS = ("%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d")
_BYLINE = re.compile(r"^(?i:by)\s+([A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,4}(?:\s*(?:,|and|&)\s*[A-Z][\w.'’ -]+)*)$")


def decode_text(body: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, which never fails on real text."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of plain text: one per line (text copied from a web page), except hard-wrapped
    blocks (no line over 100 chars, half of them 40 or more), whose lines are joined; there an indented line or a short line
    ending a sentence closes a paragraph."""
    out: list[str] = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        raw = [ln.rstrip() for ln in block.split("\n") if ln.strip()]
        if not raw:
            continue
        out.extend(p for p in (normalize_paragraph(x) for x in _unwrap(raw)) if p)
    return out


def _unwrap(raw: list[str]) -> list[str]:
    lines = [ln.strip() for ln in raw]
    widths = [len(ln) for ln in lines[:-1]]
    if not widths or max(widths) > 100 or sum(w >= 40 for w in widths) < 0.5 * len(widths):
        return lines
    width = max(widths)
    paras: list[str] = []
    cur: list[str] = []
    for original, line in zip(raw, lines, strict=True):
        if cur and original[:1] in (" ", "\t"):
            paras.append(" ".join(cur))
            cur = []
        cur.append(line)
        if len(line) < 0.6 * width and line.endswith((".", "!", "?", '"', "”", ":")):
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return paras


def parse_dateline(line: str) -> datetime | None:
    """A date line under a title ("Aug. 13, 2022", "Updated: 3 January 2022 10:15") as UTC midnight."""
    m = _DATELINE.match(line.strip())
    if not m:
        return None
    words = [w for w in re.split(r"[\s,.]+", m.group("date")) if w]
    if words and words[0].lower().startswith(("mon", "tue", "wed", "thu", "fri", "sat", "sun")):
        words = words[1:]
    text = " ".join(words)
    if text.lower().startswith("sept "):
        text = "Sep " + text[5:]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    found = parse_date(m.group("date"))  # another language: "24 septembre 2018"
    return found.replace(hour=0, minute=0, second=0, microsecond=0) if found else None


def location_url(path_or_url: str) -> str:
    """The URL an article from this location is known by (file: URI for local paths)."""
    if urlsplit(path_or_url).scheme in ("http", "https", "file"):
        return path_or_url
    return Path(path_or_url).resolve().as_uri()


def parse_text(body: bytes, path_or_url: str, *, source: str) -> Article:
    """One Article from plain text; banner, credit line and page furniture are not in its text."""
    paras = split_paragraphs(decode_text(body))
    i = 0
    while i < len(paras) and i < 3 and is_banner(paras[i]):
        i += 1
    if i >= len(paras):
        raise ExtractError(f"{path_or_url}: no text found", "the file is empty or only has a banner line")
    title = one_line(paras[i])
    if len(title) > 300:
        raise ExtractError(f"{path_or_url}: no title line found (the first line is {len(title)} characters long)",
                           "put the headline on its own first line, followed by a blank line")
    rest = paras[i + 1:]
    extra: dict[str, str] = {}
    authors: list[str] = []
    published: datetime | None = None
    # Furniture between the title and the body: credit line, byline.
    while rest and len(rest[0]) <= 120:
        if "image_credit" not in extra and is_photo_credit(rest[0], position_known=True):
            extra["image_credit"] = rest.pop(0)
        elif m := _BYLINE.match(rest[0]):
            authors.extend(a for a in re.split(r"\s*(?:,|\band\b|&)\s*", m.group(1)) if a)
            rest.pop(0)
        elif published is None and (published := parse_dateline(rest[0])) is not None:
            rest.pop(0)
        else:
            break
    flags = boilerplate_flags(rest)
    kept = [p for p, f in zip(rest, flags, strict=True) if f is None]
    if not kept:
        raise ExtractError(f"{path_or_url}: no body text after the title",
                           "a plain-text article needs the headline, a blank line, then its paragraphs")
    html_parts: list[str] = []
    text_parts: list[str] = []
    for n, p in enumerate(kept):
        nxt = kept[n + 1] if n + 1 < len(kept) else None
        if nxt is not None and is_heading_like(p) and not is_heading_like(nxt):
            html_parts.append(f"<h2>{html_lib.escape(p, quote=False)}</h2>")
        else:
            html_parts.append(f"<p>{html_lib.escape(p, quote=False)}</p>")
        text_parts.append(p)
    summary = next((p for p in kept if not is_heading_like(p)), kept[0])
    return make_article(
        source=source,
        url=location_url(path_or_url),
        title=title,
        summary=summary,
        content_html="\n".join(html_parts),  # built from escaped text: already safe
        text="\n\n".join(text_parts),
        authors=authors,
        published_at=published or date_from_url(location_url(path_or_url)),
        extra=extra,
    )
