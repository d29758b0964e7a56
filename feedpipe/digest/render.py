"""Render an edition with Jinja2: the HTML email (CSS inlined by css-inline), its plain-text twin, and the
web view. Templates come from the outlet's `templates/digest/` when it has them, else the packaged ones.

Rendering is done once per distinct selection; the per-subscriber parts (name, address, unsubscribe
token) are slots replaced afterwards, so a personal send to a large list costs a few string replaces
per message rather than a template render and a CSS inlining each.
"""

from __future__ import annotations

import binascii
import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import css_inline
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from feedpipe.core.model import Subscriber
from feedpipe.core.settings import DigestSettings
from feedpipe.core.text import one_line
from feedpipe.core.urls import safe_url as safe_url  # the one safe-URL rule (re-exported for callers)
from feedpipe.digest.editions import send_time
from feedpipe.digest.select import Item, Selection
from feedpipe.feeds import topic_slug
from feedpipe.tagging.names import country_name

# feedpipe/defaults/templates is a link to the repository's templates/, so a wheel carries them.
PACKAGED_TEMPLATES = Path(__file__).resolve().parent.parent / "defaults" / "templates"
HTML_TEMPLATE = "digest/email.html.j2"
TEXT_TEMPLATE = "digest/email.txt.j2"

# Per-process random slot markers: article text cannot guess them.
_SLOT = secrets.token_hex(6)
SLOT_NAME = f"fpslotname{_SLOT}"
SLOT_EMAIL = f"fpslotemail{_SLOT}"
SLOT_TOKEN = f"fpslottoken{_SLOT}"

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“‘(])")


_SPACES = re.compile(r" {2,}")


def short_summary(text: str, *, sentences: int = 2, limit: int = 300) -> str:
    """The first one or two sentences of a summary, cut at a word near `limit` characters."""
    text = one_line(text)
    if not text:
        return ""
    parts = _SENTENCE.split(text)
    out = parts[0]
    if len(parts) > 1 and sentences > 1 and len(out) + len(parts[1]) < limit:
        out = f"{out} {parts[1]}"
    if len(out) > limit:
        out = out[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return out


@lru_cache(maxsize=8)
def make_env(templates_dir: Path | None = None) -> Environment:
    """Jinja2 over the outlet's templates folder (when given and present) then the packaged defaults."""
    loaders = []
    if templates_dir is not None and Path(templates_dir).is_dir():
        loaders.append(FileSystemLoader(str(templates_dir)))
    loaders.append(FileSystemLoader(str(PACKAGED_TEMPLATES)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=lambda name: bool(name and name.endswith((".html.j2", ".html"))),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["country_name"] = country_name  # {{ "KP" | country_name }} -> North Korea (tagging.names)
    return env


_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """One rendered selection, with slots for the subscriber's name, address and token."""

    subject: str
    html: str
    text: str
    article_urls: tuple[str, ...]

    def personal_values(self, subscriber: Subscriber | None, settings: DigestSettings) -> dict[str, tuple[str, str]]:
        """Slot → (HTML value, text value) for this subscriber."""
        name = one_line(subscriber.name if subscriber else None) or one_line(settings.reader_name)
        email = one_line(subscriber.email) if subscriber else ""
        token = subscriber.token if subscriber else ""
        return {SLOT_NAME: (html.escape(name), name), SLOT_EMAIL: (html.escape(email), email),
                SLOT_TOKEN: (token, token)}

    def quoted_printable(self, subscriber: Subscriber | None, settings: DigestSettings) -> tuple[bytes, bytes]:
        """(html, text) bodies quoted-printable encoded, CRLF line ends. The text around the slots is
        encoded once per rendering and joined to the encoded values with soft line breaks."""
        values = self.personal_values(subscriber, settings)
        html_parts, text_parts = _qp_segments(self)
        out_html = b"".join(p if isinstance(p, bytes) else _qp_piece(values[p][0]) for p in html_parts)
        out_text = b"".join(p if isinstance(p, bytes) else _qp_piece(values[p][1]) for p in text_parts)
        return out_html, out_text

    def for_subscriber(self, subscriber: Subscriber | None, settings: DigestSettings) -> tuple[str, str]:
        """(html, text) with this subscriber's parts filled in, escaped for each."""
        name = one_line(subscriber.name if subscriber else None) or one_line(settings.reader_name)
        email = one_line(subscriber.email) if subscriber else ""
        token = subscriber.token if subscriber else ""
        h = self.html.replace(SLOT_NAME, html.escape(name)).replace(SLOT_EMAIL, html.escape(email))
        t = self.text.replace(SLOT_NAME, name).replace(SLOT_EMAIL, email)
        return h.replace(SLOT_TOKEN, token), t.replace(SLOT_TOKEN, token)


_SLOTS = re.compile(f"({SLOT_NAME}|{SLOT_EMAIL}|{SLOT_TOKEN})")
_SOFT_BREAK = b"=\r\n"


def qp_encode(text: str) -> bytes:
    """Quoted-printable (RFC 2045) of UTF-8 text, lines within 76 characters, CRLF line ends."""
    body = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(body, quotetabs=False, istext=True, header=False).replace(b"\n", b"\r\n")


def _with_soft_break(encoded: bytes) -> bytes:
    """`encoded` followed by a soft line break, keeping every line within 76 characters."""
    start = encoded.rfind(b"\n") + 1
    last = encoded[start:]
    if len(last) >= 76:  # "=" would make it 77: break the last line earlier, never inside an =XX escape
        cut = 72
        while cut > 0 and b"=" in last[max(0, cut - 2):cut]:
            cut -= 1
        encoded = encoded[:start] + last[:cut] + _SOFT_BREAK + last[cut:]
    return encoded + _SOFT_BREAK


def _qp_piece(text: str) -> bytes:
    return _with_soft_break(qp_encode(text)) if text else b""


_Segments = tuple[bytes | str, ...]
"""Encoded static pieces (bytes) and slot names (str), in order."""


@lru_cache(maxsize=256)
def _qp_segments(rendered: Rendered) -> tuple[_Segments, _Segments]:
    """The HTML and text split at the slots: static pieces encoded (each ending in a soft line break,
    so that pieces join into valid quoted-printable), slots left as their names."""

    def split(doc: str) -> _Segments:
        out: list[bytes | str] = []
        for i, piece in enumerate(_SLOTS.split(doc)):
            if i % 2:
                out.append(piece)
            elif piece:
                out.append(_with_soft_break(qp_encode(piece)))
        if out and isinstance(out[-1], bytes) and out[-1].endswith(_SOFT_BREAK):
            out[-1] = out[-1][: -len(_SOFT_BREAK)]  # the body ends where the text ends
        return tuple(out)

    return split(rendered.html), split(rendered.text)


@dataclass(frozen=True, kw_only=True)
class Links:
    public_url: str  # the site: web view (/digest/<key>.html), subscribe, unsubscribe
    feeds_url: str  # the feeds' folder URL, ending in /feeds

    def web_view(self, key: str) -> str:
        return f"{self.public_url}/digest/{key}.html"

    def unsubscribe(self, token: str) -> str:
        return f"{self.public_url}/unsubscribe/{token}"

    def country_feed(self, code: str) -> str:
        return f"{self.feeds_url}/country/{code.lower()}.atom"

    def topic_feed(self, code: str, label: str) -> str:
        return f"{self.feeds_url}/topic/{topic_slug(code, label)}.atom"


def subject_for(selection: Selection, settings: DigestSettings) -> str:
    """"<Outlet> Weekly: <lead story>", on one line, at most ~150 characters."""
    title = one_line(settings.title)
    lead = selection.lead
    if lead is None:
        return title
    headline = one_line(lead.article.title)
    if len(headline) > 140 - len(title):
        headline = headline[: 140 - len(title)].rsplit(" ", 1)[0] + "…"
    return f"{title}: {headline}"


def _item_url(item: Item, links: Links) -> str:
    a = item.article
    return safe_url(a.url) or safe_url(a.canonical_url) or links.public_url


def _item(item: Item, links: Links) -> dict[str, object]:
    a = item.article
    url = _item_url(item, links)
    labels = [{"text": one_line(country_name(c.code)), "feed": links.country_feed(c.code)} for c in item.countries]
    labels += [{"text": one_line(t.label), "feed": links.topic_feed(t.code, t.label)} for t in item.topics
               if topic_slug(t.code, t.label)]
    return {
        "id": a.id,
        "url": url,
        "title": one_line(a.title) or url,
        "summary": short_summary(a.summary or a.text),
        "image": safe_url(a.image, base=url),
        "image_alt": one_line(a.image_alt) or one_line(a.title),
        "authors": ", ".join(one_line(x) for x in a.authors if one_line(x)),
        "pitch": one_line(item.pitch) or None,
        "labels": labels,
    }


def context(
    selection: Selection,
    settings: DigestSettings,
    *,
    edition_key: str,
    links: Links,
    web: bool,
    lang: str = "en",
) -> dict[str, object]:
    """Everything the templates use; free of per-subscriber data (slots stand in for it)."""
    names = {"title": one_line(settings.title), "outlet": one_line(settings.outlet)}  # values, cleaned once

    def w(text: str, **extra: str) -> str:
        return settings.words(text, **(names | extra))

    when = send_time(edition_key, settings)
    sections = [
        {"name": name, "title": settings.section_titles.get(name, name.capitalize()),
         "items": [_item(i, links) for i in items]}
        for name, items in selection.sections()
    ]
    picks = [_item(i, links) for i in selection.picks]
    roundup = [_item(i, links) for i in selection.roundup(settings.roundup_size)]
    site = links.public_url
    words = {
        key: w(getattr(settings, key))
        for key in ("roundup_heading", "picks_heading", "more_heading", "by_tag_heading", "read_more",
                    "forward_line", "subscribe_line", "privacy_line", "view_in_browser", "unsubscribe",
                    "sent_to", "privacy_link", "by", "by_country", "by_topic")
    }
    support = None
    if settings.support is not None and (support_url := safe_url(settings.support.url)):
        s = settings.support
        option_urls = {option: safe_url(url) for option, url in s.option_urls}  # the one safe-URL rule
        support = {"heading": w(s.heading), "text": w(s.text), "url": support_url, "button": w(s.button),
                   "options": list(s.options),
                   "links": [{"text": o, "url": option_urls.get(o)} for o in s.options]}
    lead_items = selection.roundup(settings.roundup_size)[:3]
    preheader = " · ".join(one_line(i.article.title) or _item_url(i, links) for i in lead_items) or w(settings.intro)
    return {
        "lang": lang,
        "web": web,
        "subject": subject_for(selection, settings),
        "title": one_line(settings.title),  # a value, not a template: "{" in a title is text
        "outlet": settings.outlet,
        "accent": settings.accent,
        "logo_url": safe_url(settings.logo_url),
        "dateline": f"{when.strftime('%A')}, {when.day} {when.strftime('%B %Y')}",
        "preheader": preheader,
        "greeting": w(settings.greeting, name=settings.reader_name if web else SLOT_NAME),
        "intro": w(settings.intro),
        "roundup": roundup,
        "sections": sections,
        "picks": picks,
        "by_country": [{"text": one_line(country_name(code)), "feed": links.country_feed(code)}
                       for code, _name in selection.countries()[:12]],
        "by_topic": [{"text": one_line(label), "feed": links.topic_feed(code, label)}
                     for code, label in selection.topics()[:12] if topic_slug(code, label)],
        "sign_off": w(settings.sign_off).splitlines(),
        "support": support,
        "words": words,
        "web_url": links.web_view(edition_key),
        "subscribe_url": safe_url(settings.subscribe_url) or f"{site}/subscribe",
        "privacy_url": safe_url(settings.privacy_url) or f"{site}/privacy",
        "unsubscribe_url": links.unsubscribe(SLOT_TOKEN),
        "email": SLOT_EMAIL,
    }


def render(
    selection: Selection,
    settings: DigestSettings,
    *,
    edition_key: str,
    links: Links,
    web: bool = False,
    templates_dir: Path | None = None,
) -> Rendered:
    """Render one selection to HTML (CSS inlined) and text, with subscriber slots left in."""
    env = make_env(Path(templates_dir) if templates_dir else None)
    ctx = context(selection, settings, edition_key=edition_key, links=links, web=web)
    raw_html = env.get_template(HTML_TEMPLATE).render(ctx)
    text = env.get_template(TEXT_TEMPLATE).render(ctx)
    in_order = [*selection.picks, *(i for _, items in selection.sections() for i in items)]
    urls = tuple(dict.fromkeys(_item_url(i, links) for i in in_order))
    return Rendered(subject=subject_for(selection, settings), html=_charset_first(_INLINER.inline(raw_html)), text=_tidy_text(text),
                    article_urls=urls)


def _charset_first(document: str) -> str:
    """css-inline puts the kept @media rules at the top of <head>; the charset must stay in the first
    1024 bytes, so it goes back to the front."""
    meta = '<meta charset="utf-8">'
    if meta in document and "<head>" in document:
        document = document.replace(meta, "", 1).replace("<head>", "<head>" + meta, 1)
    return document


def _tidy_text(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


class RenderCache:
    """Renders each distinct selection once (personal editions repeat: many readers share preferences)."""

    def __init__(self, renderer: Callable[[Selection], Rendered], size: int = 256) -> None:
        self._renderer = renderer
        self._size = size
        self._cache: dict[tuple[str, ...], Rendered] = {}

    def __call__(self, selection: Selection) -> Rendered:
        key = selection.ids + tuple(i.pitch or "" for i in selection.picks)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            found = self._cache[key] = self._renderer(selection)
        return found
