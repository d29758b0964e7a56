"""The digest's data: subscribers, editions, picks, ledger rows and reports. Frozen, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

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
