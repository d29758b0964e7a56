"""HTML article pages: trafilatura finds the main text and metadata, clean.py drops its boilerplate."""

from __future__ import annotations

import html as html_lib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import trafilatura
from lxml import etree
from trafilatura.settings import Document

from feedpipe.core.errors import ExtractError
from feedpipe.core.model import Article
from feedpipe.core.text import one_line

from .article import absolute, make_article
from .clean import boilerplate_flags, normalize_paragraph
from .dates import page_published

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Block:
    """One block of the extracted body: its tag in our HTML and its paragraphs of text."""

    tag: str  # p, h2, h3, li, blockquote, pre
    text: str


def _text(el: etree._Element) -> str:
    # lxml yields str for a parsed tree; its stubs also allow bytes
    return "".join(cast("Iterator[str]", el.itertext()))


def _blocks(body: etree._Element | None) -> list[Block]:
    """Flatten trafilatura's XML body (<p>, <head>, <list><item>, <quote>, <table>, <code>) into blocks."""
    out: list[Block] = []
    if body is None:
        return out
    for el in body:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "list":
            for item in el.iter("item"):
                t = normalize_paragraph(_text(item))
                if t:
                    out.append(Block("li", t))
            continue
        if tag == "table":
            for row in el.iter("row"):
                cells = [normalize_paragraph(_text(c)) for c in row]
                t = " | ".join(c for c in cells if c)
                if t:
                    out.append(Block("p", t))
            continue
        t = normalize_paragraph(_text(el))
        if not t:
            continue
        if tag == "head":
            rend = el.get("rend") or "h2"
            out.append(Block("h3" if rend in ("h3", "h4", "h5", "h6") else "h2", t))
        elif tag == "quote":
            out.append(Block("blockquote", t))
        elif tag == "code":
            out.append(Block("pre", t))
        else:
            out.append(Block("p", t))
    return out


def _render(blocks: list[Block]) -> str:
    parts: list[str] = []
    in_list = False
    for b in blocks:
        if b.tag == "li" and not in_list:
            parts.append("<ul>")
            in_list = True
        elif b.tag != "li" and in_list:
            parts.append("</ul>")
            in_list = False
        parts.append(f"<{b.tag}>{html_lib.escape(b.text, quote=False)}</{b.tag}>")
    if in_list:
        parts.append("</ul>")
    return "\n".join(parts)


def parse_page(body: bytes, url: str, *, source: str) -> Article:
    """One Article from an HTML page: main text as text and (escaped, hence safe) HTML, plus metadata."""
    try:
        doc = trafilatura.bare_extraction(
            body, url=url, with_metadata=True, include_comments=False, include_tables=True,
            include_images=False, include_links=False,
        )
    except Exception as exc:  # trafilatura raises assorted errors on broken markup
        raise ExtractError(f"{url}: the page could not be parsed ({type(exc).__name__}: {one_line(str(exc))[:160]})",
                           "check that the URL serves an HTML article page") from exc
    if not isinstance(doc, Document):  # None: nothing found (a dict only comes with as_dict=True)
        raise ExtractError(f"{url}: no article text found on the page",
                           "the page may be a home page, a paywall or rendered by JavaScript; "
                           "use the outlet's feed or a different article URL")
    title = one_line(doc.title)
    blocks = _blocks(doc.body)
    # The headline often comes back as the first heading of the body.
    if blocks and blocks[0].tag in ("h2", "h3") and title and blocks[0].text.casefold() == title.casefold():
        blocks = blocks[1:]
    flags = boilerplate_flags([b.text for b in blocks])
    folded_title = title.casefold()
    for k, b in enumerate(blocks):  # the headline repeated inside the body
        if flags[k] is None and len(b.text) <= 300 and b.text.casefold() == folded_title:
            flags[k] = "title-repeat"
    dropped = [(f, b.text[:50]) for f, b in zip(flags, blocks, strict=True) if f]
    if dropped:
        log.debug("%s: boilerplate dropped: %s", url, dropped)
    kept = [b for b, f in zip(blocks, flags, strict=True) if f is None]
    if not kept:
        raise ExtractError(f"{url}: the page has no article text after removing boilerplate",
                           "check that the URL is an article, not an index or sign-up page")
    text = "\n\n".join(b.text for b in kept)
    if not title:
        title = kept[0].text[:120]
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    categories = list(doc.categories or []) + list(doc.tags or [])
    extra = {k: v for k, v in {"sitename": doc.sitename, "description": doc.description}.items() if v}
    summary = one_line(doc.description) or next((b.text for b in kept if b.tag == "p"), "")
    return make_article(
        source=source,
        url=url,
        title=title,
        summary=summary,
        content_html=_render(kept),
        text=text,
        published_at=page_published(body, day=doc.date, url=url, language=doc.language),
        authors=authors,
        image=absolute(doc.image, url) or None,
        categories=categories,
        language=doc.language,
        extra=extra,
    )
