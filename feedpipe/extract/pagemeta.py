"""What a page says about itself in its metadata: og:title, og:description, <h1> and JSON-LD `articleBody`.

The fallback when trafilatura finds no main text (pages that render their text with JavaScript keep it
in JSON-LD, as the South China Morning Post does) and the evidence for the title and the headline
repeated in the body. trafilatura reads `articleBody` only in its baseline, when its main extraction
finds nothing at all, and then as one block; a photo caption found on the page is enough to skip it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from lxml import etree, html

from feedpipe.core.text import one_line

from .clean import html_to_text

_ARTICLE_TYPES = re.compile(r"(?i)article|posting|report|review|newsarticle")


@dataclass(frozen=True, kw_only=True)
class PageMeta:
    og_title: str = ""
    og_description: str = ""
    h1: tuple[str, ...] = ()
    headline: str = ""  # JSON-LD headline of the article object
    article_body: str = ""  # JSON-LD articleBody, paragraphs separated by blank lines

    def found(self) -> str:
        """What the metadata held, for an error message: "og:title, og:description" or "no metadata"."""
        have = [name for name, value in (("og:title", self.og_title), ("og:description", self.og_description),
                                         ("a <h1> headline", self.h1), ("JSON-LD articleBody", self.article_body))
                if value]
        return ", ".join(have) if have else "no og:title, og:description, <h1> or JSON-LD articleBody"


def _meta(tree: html.HtmlElement, prop: str) -> str:
    for el in tree.iterfind(".//meta"):
        if (el.get("property") or el.get("name") or "").strip().lower() == prop:
            return one_line(el.get("content"))
    return ""


def _objects(value: object) -> Iterator[dict[str, object]]:
    """Every JSON object in a JSON-LD document, @graph and lists included."""
    if isinstance(value, list):
        for v in value:
            yield from _objects(v)
    elif isinstance(value, dict):
        obj = cast("dict[str, object]", value)
        yield obj
        yield from _objects(obj.get("@graph"))


def read_page_meta(tree: html.HtmlElement) -> PageMeta:
    """The metadata of a parsed page (read before trafilatura prunes the tree)."""
    headline = body = ""
    for script in tree.iterfind(".//script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for obj in _objects(data):
            kind = obj.get("@type")
            text = obj.get("articleBody")
            if isinstance(text, str) and len(text) > len(body):
                body = text
                headline = one_line(str(obj.get("headline") or "")) or headline
            elif not headline and isinstance(kind, str) and _ARTICLE_TYPES.search(kind):
                headline = one_line(str(obj.get("headline") or ""))
    h1 = tuple(t for el in tree.iterfind(".//h1") if (t := one_line(_text(el))))
    return PageMeta(og_title=_meta(tree, "og:title"), og_description=_meta(tree, "og:description"), h1=h1,
                    headline=headline, article_body=html_to_text(body))


def _text(el: etree._Element) -> str:
    return "".join(cast("Iterator[str]", el.itertext()))
