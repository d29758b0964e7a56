"""The data that flows through feedpipe: frozen, keyword-only dataclasses, no behaviour.

Articles and their tags; the digest's subscribers, editions, picks and ledger rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SourceKind = Literal["feed", "page", "file", "url"]  # "url": ad hoc, feed or page by its content
Role = Literal["focus", "mention"]


@dataclass(frozen=True, kw_only=True)
class Source:
    """A configured input: a feed URL, a page URL, or a local file or folder."""

    name: str
    kind: SourceKind
    location: str  # URL for feed/page, absolute path for file
    full_text: bool = False  # feeds: fetch each item's page and extract it
    country: str | None = None  # the outlet's own country, a weak tagging prior
    section: str | None = None  # default section for items of this source
    interval_minutes: int | None = None


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """One HTTP answer, already bounded in size and time by fetch.py."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # 304: body is empty, nothing to re-parse


@dataclass(frozen=True, kw_only=True, slots=True)
class CountryTag:
    code: str  # ISO 3166-1 alpha-2, upper case
    name: str
    role: Role
    score: float
    evidence: tuple[str, ...] = ()  # e.g. ("title:Kyiv", "body:Ukrainian x3")


@dataclass(frozen=True, kw_only=True, slots=True)
class TopicTag:
    code: str  # e.g. "medtop:16000000" or an outlet subtopic such as "sub:sanctions"
    label: str
    score: float


@dataclass(frozen=True, kw_only=True, slots=True)
class Tags:
    countries: tuple[CountryTag, ...] = ()
    topics: tuple[TopicTag, ...] = ()  # best first
    section: str | None = None
    language: str | None = None  # the text's language (BCP 47, e.g. "pt-BR" or "uk"), detected or declared
    notes: tuple[str, ...] = ()  # decisions the tags alone do not show (language, topics left empty), for --explain


@dataclass(frozen=True, kw_only=True)
class Article:
    """One article as extracted and (after tagging) tagged.

    `id` is stable: a hash of the canonical URL (or of source + guid when there is no URL),
    so an edited headline or a URL with tracking parameters is the same article.
    """

    id: str
    url: str
    canonical_url: str
    title: str
    source: str
    guid: str | None = None
    summary: str = ""  # plain text
    content_html: str = ""  # sanitised with nh3
    text: str = ""  # plain text body, boilerplate removed
    published_at: datetime | None = None  # timezone-aware
    updated_at: datetime | None = None  # timezone-aware
    authors: tuple[str, ...] = ()
    image: str | None = None
    image_alt: str | None = None
    categories: tuple[str, ...] = ()  # the source's own categories, used for sections
    language: str | None = None
    section: str | None = None
    countries: tuple[CountryTag, ...] = ()
    topics: tuple[TopicTag, ...] = ()
    content_hash: str = ""
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)  # source-specific extras
    # when the store first saw it (set by the store, None before): what an undated article's feed entry shows
    first_seen_at: datetime | None = field(default=None, compare=False)
    # set by the store: the stamp of `content_html` checked clean under the current HTML policy, so a feed
    # publishes it without sanitising it again (see `core.html_stamp.html_stamp`); None = sanitise it
    html_policy: str | None = field(default=None, compare=False)


SubscriberStatus = Literal["pending", "active", "unsubscribed", "bounced"]
EditionStatus = Literal["building", "sending", "sent", "skipped"]
LedgerState = Literal["pending", "sending", "sent", "failed", "uncertain"]

SUBSCRIBER_STATUSES = ("pending", "active", "unsubscribed", "bounced")
EDITION_STATUSES = ("building", "sending", "sent", "skipped")
LEDGER_STATES = ("pending", "sending", "sent", "failed", "uncertain")


@dataclass(frozen=True, kw_only=True)
class Subscriber:
    """One address on the list. `countries` are ISO codes (upper case), `topics` topic codes or slugs;
    both empty means "everything"."""

    email: str
    name: str | None = None
    status: str = "pending"
    countries: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    token: str = field(default="", repr=False)
    created_at: datetime | None = None
    confirmed_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Edition:
    """One weekly issue, keyed by ISO week ("2026-W48"); the window is [window_start, window_end)."""

    key: str
    status: str = "building"
    window_start: datetime | None = None
    window_end: datetime | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    subject: str | None = None
    lease_until: datetime | None = None
    holder: str | None = None  # who sends it: a process (host:pid:random) or the workers (store.work.QUEUE_HOLDER)


@dataclass(frozen=True, kw_only=True)
class Pick:
    edition: str
    article_id: str
    position: int
    pitch: str | None = None


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    edition: str
    email: str
    state: str
    attempts: int = 0
    last_error: str | None = None
    message_id: str | None = None
    updated_at: datetime | None = None
    claimed_by: str | None = None  # the worker whose batch holds the row (scale-out), until claim_expires_at
    claim_expires_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class SendReport:
    """What one `send_edition` call did. `already` counts subscribers finished by an earlier run."""

    edition: str
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    retried: int = 0
    already: int = 0
    built: int = 0
    dry_run: bool = False
    skipped: bool = False  # the edition was empty and skip_if_empty is on
    not_claimed: bool = False  # another process holds the edition
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed and not self.uncertain and not self.not_claimed
