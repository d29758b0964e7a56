"""JSON Lines bulk import: one article object per line; bad lines are reported, not fatal."""

from __future__ import annotations

import html as html_lib
import json

from feedpipe.core.model import Article

from .article import absolute, make_article
from .clean import filter_paragraphs, html_to_text, sanitize_html
from .dates import date_from_url, first_date, parse_date
from .text import split_paragraphs

_REQUIRED = ("url", "title")


def _str(v: object) -> str:
    return v if isinstance(v, str) else ""


def _list(v: object) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [x if isinstance(x, str) else str(x.get("name", "")) if isinstance(x, dict) else "" for x in v]
    if isinstance(v, dict):
        return [_str(v.get("name"))]
    return []


def _looks_like_html(s: str) -> bool:
    return "<" in s and ">" in s and any(t in s.lower() for t in ("<p", "<br", "<div", "<h2", "<ul", "<a "))


def parse_jsonl(body: bytes, base: str, *, source: str) -> tuple[list[Article], list[str]]:
    """Articles from JSON Lines plus one readable error per bad line ("line 7: ...")."""
    articles: list[Article] = []
    errors: list[str] = []
    seen: set[str] = set()
    text = body.decode("utf-8-sig", errors="replace")
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {n}: not valid JSON ({exc.msg} at column {exc.colno}) — each line must be one "
                          "JSON object")
            continue
        if not isinstance(obj, dict):
            errors.append(f"line {n}: expected a JSON object, got {type(obj).__name__} — each line must be one "
                          "object like {\"url\": ..., \"title\": ...}")
            continue
        missing = [k for k in _REQUIRED if not _str(obj.get(k)).strip()]
        if missing:
            names = " and ".join(f"'{k}'" for k in missing)
            errors.append(f"line {n}: missing {names} — every line needs url and title")
            continue
        url = absolute(obj["url"], base if base.startswith(("http://", "https://")) else None)
        raw_body = _str(obj.get("body")) or _str(obj.get("text")) or _str(obj.get("content_html"))
        if _looks_like_html(raw_body):
            safe = sanitize_html(raw_body, url)
            paras = filter_paragraphs(html_to_text(safe).split("\n\n"))
            body_text = "\n\n".join(paras)
        else:
            paras = filter_paragraphs(split_paragraphs(raw_body))
            body_text = "\n\n".join(paras)
            safe = "\n".join(f"<p>{html_lib.escape(p, quote=False)}</p>" for p in paras)
        given = first_date([obj.get(k) for k in ("published", "date", "published_at")],
                           language=_str(obj.get("language")) or None)
        published = given or date_from_url(url)
        if obj.get("published") and given is None:
            errors.append(f"line {n}: 'published' value {obj['published']!r} is not a date — use ISO 8601, e.g. "
                          f"2026-11-27T09:30:00Z (article kept {'dated by its URL' if published else 'without a date'})")
        art = make_article(
            source=source,
            url=url,
            title=obj["title"],
            guid=_str(obj.get("id")) or _str(obj.get("guid")) or None,
            summary=_str(obj.get("summary")) or (paras[0] if paras else ""),
            content_html=safe,
            text=body_text,
            published_at=published,
            updated_at=parse_date(obj.get("updated")),
            authors=_list(obj.get("authors")) or _list(obj.get("author")),
            image=absolute(_str(obj.get("image")), url) or None,
            categories=_list(obj.get("categories")) or _list(obj.get("tags")),
            language=_str(obj.get("language")) or None,
            section=_str(obj.get("section")) or None,
        )
        if art.id in seen:
            errors.append(f"line {n}: duplicate of an earlier line (same canonical URL {art.canonical_url}) — skipped")
            continue
        seen.add(art.id)
        articles.append(art)
    return articles, errors
