"""HTML article pages: trafilatura finds the main text and metadata, clean.py drops its boilerplate.

What trafilatura leaves is fixed in small modules, each saying why: consent.py (cookie notices),
titles.py (site names in titles), bylines.py (places and outlets as authors), pagemeta.py (the
metadata fallback).
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from lxml import etree

from feedpipe.core.errors import ExtractError
from feedpipe.core.model import Article
from feedpipe.core.text import one_line

from .article import absolute, make_article
from .bylines import PLACEHOLDERS, byline_authors, clean_authors, is_role_line
from .clean import boilerplate_flags, normalize_paragraph
from .consent import COOKIE_XPATH, is_cookie_notice
from .dates import page_published
from .pagemeta import PageMeta, read_page_meta
from .titles import clean_title, looks_like_headline

if TYPE_CHECKING:
    from trafilatura.settings import Document

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


def _read(body: bytes, url: str) -> tuple[Document | None, PageMeta]:
    """trafilatura's reading of the page (None: no main text found) and the page's own metadata.

    The tree is parsed once; the metadata is read before trafilatura prunes it. trafilatura is imported
    here, on the first page: a run of feeds never pays for it.
    """
    import trafilatura  # noqa: PLC0415
    from trafilatura.settings import Document  # noqa: PLC0415

    try:
        tree = trafilatura.load_html(body)
        if tree is None:
            raise ValueError("not an HTML document")
        meta = read_page_meta(tree)
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
            include_images=False, include_links=False, prune_xpath=COOKIE_XPATH, author_blacklist=set(PLACEHOLDERS),
        )
    except Exception as exc:  # trafilatura and lxml raise assorted errors on broken markup
        raise ExtractError(f"{url}: the page could not be parsed ({type(exc).__name__}: {one_line(str(exc))[:160]})",
                           "check that the URL serves an HTML article page") from exc
    return (doc if isinstance(doc, Document) else None), meta  # a dict only comes with as_dict=True


def _pick_title(doc: Document | None, meta: PageMeta, sitename: str | None, hostname: str | None) -> str:
    """trafilatura's title unless it is no headline ("escenic"), then og:title, JSON-LD, a lone <h1>;
    without the site's name and date segments."""
    lone_h1 = meta.h1[0] if len(meta.h1) == 1 else ""
    for candidate in (doc.title if doc else None, meta.og_title, meta.headline, lone_h1):
        title = one_line(candidate)
        if looks_like_headline(title):
            return clean_title(title, sitename=sitename, hostname=hostname)
    return ""


# Headlines of other stories run together into one paragraph: "-Escándalo en Cartagena-La historia de ...".
_RUN_ON_BREAK = re.compile(r"(?:^|(?<=[^\W_]))[-•]\s?(?=[A-ZÀ-ÖØ-Þ¿¡])")


def _run_on_headlines(text: str) -> bool:
    """Three or more headlines of several words each, glued by dashes ("Anne-Marie" is one name)."""
    if not text.startswith(("-", "•")):
        return False
    parts = [p for p in _RUN_ON_BREAK.split(text) if p.strip()]
    return len(parts) >= 3 and all(len(p.split()) >= 3 for p in parts)


def _keep(blocks: list[Block], headlines: set[str], url: str) -> list[Block]:
    """The body blocks minus boilerplate (clean.py), cookie notices, the headline repeated in the body, an
    author's role line and other stories' headlines run together (trafilatura keeps all four)."""
    flags = boilerplate_flags([b.text for b in blocks])
    for k, b in enumerate(blocks):
        if flags[k] is None and len(b.text) <= 300 and b.text.casefold() in headlines:
            flags[k] = "title-repeat"
        elif flags[k] is None and is_cookie_notice(b.text):
            flags[k] = "cookie-notice"
        elif flags[k] is None and is_role_line(b.text):
            flags[k] = "author-role"
        elif flags[k] is None and _run_on_headlines(b.text):
            flags[k] = "link-list"
    dropped = [(f, b.text[:50]) for f, b in zip(flags, blocks, strict=True) if f]
    if dropped:
        log.debug("%s: boilerplate dropped: %s", url, dropped)
    return [b for b, f in zip(blocks, flags, strict=True) if f is None]


def _from_metadata(meta: PageMeta, headlines: set[str], url: str) -> tuple[list[Block], str]:
    """Body blocks from JSON-LD articleBody, else og:description; and where they came from."""
    if meta.article_body:
        kept = _keep([Block("p", p) for p in meta.article_body.split("\n\n")], headlines, url)
        if kept:
            return kept, "json-ld:articleBody"
    if meta.og_description:
        return [Block("p", meta.og_description)], "og:description"
    return [], ""


def _body_bylines(kept: list[Block], sitename: str | None, hostname: str | None) -> tuple[list[Block], list[str]]:
    """The body without the byline lines near its start or end ("Von A und B, NDR", "Auteur : A"), and
    the people they name. trafilatura keeps such lines as paragraphs and does not read them as authors."""
    names: list[str] = []
    out: list[Block] = []
    for k, b in enumerate(kept):
        near_edge = k < 4 or k >= len(kept) - 3
        people = byline_authors(b.text, sitename=sitename, hostname=hostname) if near_edge and b.tag == "p" else None
        if people is None or len(kept) == 1:
            out.append(b)
        else:
            names.extend(p for p in people if p not in names)
    return out, names


def _same_text(kept: list[Block], article_body: str) -> bool:
    """trafilatura's baseline returned the JSON-LD articleBody as one block: its paragraphs are better."""
    return bool(article_body) and " ".join(" ".join(b.text for b in kept).split()) == " ".join(article_body.split())


def parse_page(body: bytes, url: str, *, source: str) -> Article:
    """One Article from an HTML page: main text as text and (escaped, hence safe) HTML, plus metadata.

    trafilatura reads the page; when it finds no main text, or much less than the page's JSON-LD
    `articleBody`, the page's metadata stands in (articleBody, else og:description), noted in
    `extra["extracted_from"]`. ExtractError names what the page held when even that is missing.
    """
    doc, meta = _read(body, url)
    sitename = doc.sitename if doc else None
    hostname = (doc.hostname if doc else None) or urlsplit(url).hostname
    title = _pick_title(doc, meta, sitename, hostname)
    headlines = {h.casefold() for h in (title, one_line(doc.title if doc else ""), meta.og_title, meta.headline,
                                        *meta.h1) if h}
    blocks = _blocks(doc.body) if doc else []
    # The headline often comes back as the first heading of the body.
    if blocks and blocks[0].tag in ("h2", "h3") and blocks[0].text.casefold() in headlines:
        blocks = blocks[1:]
    kept = _keep(blocks, headlines, url)
    origin = ""
    if not kept or sum(len(b.text) for b in kept) * 2 < len(meta.article_body) or _same_text(kept, meta.article_body):
        fallback, found_in = _from_metadata(meta, headlines, url)
        if fallback and (not kept or found_in == "json-ld:articleBody"):
            kept, origin = fallback, found_in
    if not kept:
        raise ExtractError(f"{url}: no article text found on the page (found: {meta.found()})",
                           "the page may be a home page, a paywall or rendered by JavaScript; "
                           "use the outlet's feed or a different article URL")
    if origin:
        log.info("%s: no main text found by trafilatura; the article text comes from the page's %s", url, origin)
    if not title:
        title = kept[0].text[:120]
    authors, not_people = clean_authors(doc.author if doc else None, sitename=sitename, hostname=hostname)
    kept, credited = _body_bylines(kept, sitename, hostname)
    authors = credited or authors  # the byline readers see beats the meta tag ("Deutsche Welle" on dw.com)
    if not_people:
        log.debug("%s: not authors: %s", url, not_people)
    text = "\n\n".join(b.text for b in kept)
    categories = (list(doc.categories or []) + list(doc.tags or [])) if doc else []
    description = one_line(doc.description if doc else None) or meta.og_description
    extra = {k: v for k, v in {"sitename": sitename, "description": description, "extracted_from": origin}.items()
             if v}
    summary = description or next((b.text for b in kept if b.tag == "p"), "")
    return make_article(
        source=source,
        url=url,
        title=title,
        summary=summary,
        content_html=_render(kept),
        text=text,
        published_at=page_published(body, day=doc.date if doc else None, url=url, language=doc.language if doc else None),
        authors=authors,
        image=absolute(doc.image if doc else None, url) or None,
        categories=categories,
        language=doc.language if doc else None,
        extra=extra,
    )
