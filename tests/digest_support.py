"""Shared pieces of the digest tests: a week of articles, settings, and a real local SMTP server."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.core.settings import DigestSettings, Support
from feedpipe.extract.urls import article_id, canonical_url
from feedpipe.store import Store

# Friday 27 November 2026 is in ISO week 48; the edition goes out at 08:00 Moscow time (05:00 UTC).
SEND_AT = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
WEEK = "2026-W48"

WAR = TopicTag(code="medtop:16000000", label="Conflict, war and peace", score=0.9)
POLITICS = TopicTag(code="medtop:11000000", label="Politics", score=0.8)
ECONOMY = TopicTag(code="medtop:04000000", label="Economy, business and finance", score=0.8)
RIGHTS = TopicTag(code="medtop:12000000", label="Human rights", score=0.6)
CULTURE = TopicTag(code="medtop:01000000", label="Arts, culture and entertainment", score=0.7)


def country(code: str, name: str, role: str = "focus") -> CountryTag:
    return CountryTag(code=code, name=name, role=role, score=0.9 if role == "focus" else 0.3)


UA, RU, BY = country("UA", "Ukraine"), country("RU", "Russia"), country("BY", "Belarus")
PL = country("PL", "Poland", "mention")
KZ, GE = country("KZ", "Kazakhstan"), country("GE", "Georgia")


def article(slug: str, title: str, *, hours_before: float, section: str = "news", countries=(), topics=(),
            summary: str = "", authors=(), image: str | None = None) -> Article:
    url = f"https://news.example.org/2026/11/{slug}"
    canon = canonical_url(url)
    return Article(
        id=article_id(canon), url=url, canonical_url=canon, title=title, source="example",
        summary=summary or f"{title}. What happened, and why it matters this week.",
        published_at=SEND_AT - timedelta(hours=hours_before), section=section, countries=tuple(countries),
        topics=tuple(topics), authors=tuple(authors), image=image, image_alt=f"Photo: {title}" if image else None,
    )


def week_of_articles() -> list[Article]:
    """Twelve articles of the week before the Friday edition, plus one too old to be in it."""
    return [
        article("belarus-strikes", "Ukraine Says Russia Aiming To Drag Belarus Into War After Strikes",
                hours_before=20, countries=(UA, RU, BY, PL), topics=(WAR, POLITICS),
                summary="Ukraine said Russia was aiming to drag its ally Belarus into the war, after missiles "
                        "struck a border region near Kyiv. Kyiv says they came from Belarusian territory. "
                        "A third sentence that the digest leaves out.",
                image="https://news.example.org/img/desna.jpg"),
        article("lavrov-minsk", "Lavrov To Visit Minsk As Lukashenko Meets Putin", hours_before=30,
                countries=(RU, BY), topics=(POLITICS,)),
        article("ruble-slide", "Ruble Slides To Two-Year Low", hours_before=40, countries=(RU,), topics=(ECONOMY,)),
        article("grain-deal", "Grain Corridor Talks Resume", hours_before=50, countries=(UA, RU),
                topics=(ECONOMY, WAR)),
        article("kazakh-oil", "Kazakhstan Reroutes Oil Exports", hours_before=60, countries=(KZ,), topics=(ECONOMY,)),
        article("tbilisi-protest", "Thousands Rally In Tbilisi", hours_before=70, countries=(GE,),
                topics=(POLITICS, RIGHTS)),
        article("exiles", "The Belarusian Exiles Building A Country Abroad", hours_before=90, section="feature",
                countries=(BY, PL), topics=(RIGHTS,), authors=("Anna Petrova",),
                image="https://news.example.org/img/exiles.jpg"),
        article("siberia-theatre", "A Siberian Theatre Keeps Its Doors Open", hours_before=100, section="feature",
                countries=(RU,), topics=(CULTURE,), authors=("Ivan Sokolov",)),
        article("sanctions-analysis", "Why Sanctions Bite Slower Than Expected", hours_before=80,
                section="analysis", countries=(RU,), topics=(ECONOMY, POLITICS), authors=("Maria Ivanova",)),
        article("kremlin-succession", "What The Kremlin Reshuffle Tells Us", hours_before=110, section="analysis",
                countries=(RU,), topics=(POLITICS,)),
        article("opinion-europe", "Europe Must Not Look Away", hours_before=45, section="opinion",
                countries=(UA,), topics=(WAR,), authors=("Guest Author",)),
        article("poland-border", "Poland Tightens Border Checks", hours_before=35, countries=(country("PL", "Poland"),),
                topics=(POLITICS,)),
        article("old-news", "Last Month's Story", hours_before=24 * 30, countries=(RU,), topics=(POLITICS,)),
    ]


def digest_settings(**changes) -> DigestSettings:
    base = dict(
        outlet="The Example Times", title="Example Weekly", from_address="Example Weekly <weekly@news.example.org>",
        reply_to="editors@news.example.org", public_url="https://news.example.org", timezone="Europe/Moscow",
        support=Support(heading="A message from The Example Times",
                        text="Independent reporting is under pressure. Your support keeps it going.",
                        url="https://news.example.org/support"),
        retry_base_seconds=0.5,
    )
    base.update(changes)
    return DigestSettings(**base)


class RecordingHandler:
    """An SMTP server's handler: keeps every message it accepts; `codes` maps a recipient to the answer
    it gets at RCPT (a list is consumed one answer per attempt, "250" meaning accept)."""

    def __init__(self, codes: dict[str, list[str]] | None = None) -> None:
        self.codes = {k: list(v) for k, v in (codes or {}).items()}
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answers = self.codes.get(address)
        if answers:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if not answer.startswith("250"):
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self):
        return [(rcpts, message_from_bytes(data, policy=policy.default)) for rcpts, data in self.messages]

    def per_recipient(self) -> Counter:
        return Counter(r for rcpts, _ in self.messages for r in rcpts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smtp_server(handler, **kw) -> Controller:
    """A started aiosmtpd server on 127.0.0.1 (a free port: `controller.port`); stop it when done.
    aiosmtpd's Controller offers SMTPUTF8 unless `enable_SMTPUTF8=False`."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), data_size_limit=0, **kw)
    controller.start()
    return controller


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def week_store(tmp_path):
    """A real SQLite store holding the week's articles."""
    s = Store.open(f"sqlite:///{tmp_path / 'feedpipe.db'}", now=SEND_AT)
    s.articles.upsert(week_of_articles(), now=SEND_AT)
    yield s
    s.close()


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 recording what it accepts: (controller, handler)."""
    handler = RecordingHandler()
    controller = smtp_server(handler)
    yield controller, handler
    controller.stop()


@pytest.fixture
def smtp_ascii():
    """The same server without SMTPUTF8 (as many relays are): (controller, handler)."""
    handler = RecordingHandler()
    controller = smtp_server(handler, enable_SMTPUTF8=False)
    yield controller, handler
    controller.stop()


def subscribe(store, count: int, **kw) -> list[str]:
    emails = [f"reader{i:03d}@example.com" for i in range(count)]
    for email in emails:
        store.subscribers.add(email, status="active", now=SEND_AT, **kw)
    return emails
