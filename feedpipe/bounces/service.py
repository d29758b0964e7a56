"""What a bounce or a complaint means for the list (a service): the one owner of that decision.

    hard bounce (5.x.x)            the subscriber becomes "bounced" and the address is suppressed
    soft bounce (4.x.x)            counted; `soft_limit` of them within `soft_days` count as hard
    complaint (ARF, SES, Mailgun)  the subscriber is unsubscribed at once and the address suppressed
    anything else                  never counted (an auto-reply, a person's answer)

A report finds its subscriber by the return path's token first (it names the edition too), then by
the returned message's unsubscribe token, then by the failed or complaining address. A report is
counted once per address (its Message-ID or provider id is remembered), so reading the same mailbox
twice, or a webhook and the mailbox telling the same story, changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from feedpipe.app import App
from feedpipe.bounces import Report, classify
from feedpipe.bounces.mailbox import Mailbox, open_mailbox
from feedpipe.core.address import identity_key
from feedpipe.core.settings import BounceSettings, DigestSettings
from feedpipe.digest.message import envelope_sender, verp_address
from feedpipe.store.bounce_log import BounceLog
from feedpipe.store.protocols import Subscribers

ACTIVE = ("active", "pending")


class HygieneStore(Protocol):
    @property
    def subscribers(self) -> Subscribers: ...

    @property
    def bounces(self) -> BounceLog: ...


@dataclass(frozen=True, kw_only=True)
class Event:
    """One bounce or complaint about one address, however it arrived."""

    email: str
    kind: str  # hard | soft | complaint
    status: str = ""  # DSN status code, or the complaint's feedback type
    edition: str | None = None
    source: str = "dsn"  # dsn | arf | flufl | ses | mailgun
    ref: str | None = None


@dataclass
class Tally:
    """What one run did: counts by outcome, and a line per problem."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        order = ("read", "hard", "soft", "soft->hard", "complaint", "duplicate", "unmatched", "auto-reply", "other")
        return ", ".join(f"{self.counts[k]} {k}" for k in order if self.counts[k]) or "nothing to read"


class VerpReturnPaths:
    """The send's `ReturnPaths` (digest.ports): `local+TOKEN@domain` of the bounce address."""

    def __init__(self, log: BounceLog, bounces: BounceSettings, digest: DigestSettings) -> None:
        self.log = log
        self.base = bounces.return_path or envelope_sender(digest)

    def prepare(self, edition: str) -> int:
        return self.log.prepare(edition)

    def sender(self, edition: str, email: str) -> str:
        return verp_address(self.base, self.log.token(edition, email))


def apply(store: HygieneStore, settings: BounceSettings, event: Event, now: datetime) -> str:
    """Record `event` and change the subscriber as the module's table says; the outcome's name."""
    if not store.bounces.record(event.email, edition=event.edition, kind=event.kind, status=event.status,
                                source=event.source, ref=event.ref, now=now):
        return "duplicate"
    sub = store.subscribers.get(event.email)
    if sub is None:
        return "unmatched"  # recorded against the hash: a removed address stays suppressed anyway
    if event.kind == "complaint":
        if sub.status != "unsubscribed":
            store.subscribers.set_status(sub.email, "unsubscribed", now=now,
                                         reason=f"complaint: {event.status or 'abuse'} ({event.source})")
        return "complaint"
    if event.kind == "hard":
        if sub.status in ACTIVE:
            store.subscribers.set_status(sub.email, "bounced", now=now,
                                         reason=f"hard bounce {event.status or '5.0.0'} ({event.source})")
        return "hard"
    soft = store.bounces.soft_bounces(event.email, since=now - timedelta(days=settings.soft_days))
    if soft >= settings.soft_limit and sub.status in ACTIVE:
        store.subscribers.set_status(sub.email, "bounced", now=now,
                                     reason=f"{soft} soft bounces in {settings.soft_days} days ({event.source})")
        return "soft->hard"
    return "soft"


def events_of(store: HygieneStore, report: Report) -> list[Event]:
    """The events a classified report stands for, each with the subscriber it was matched to."""
    emails: list[tuple[str, str | None]] = []
    for token in report.tokens:
        found = store.bounces.by_token(token)
        if found is not None:
            emails.append((found.email, found.edition))
    if not emails:
        for token in report.subscriber_tokens:
            sub = store.subscribers.by_token(token)
            if sub is not None:
                emails.append((sub.email, report.edition))
    if report.kind == "complaint":
        targets = emails[:1] or [(a, report.edition) for a in report.complained]
        return [Event(email=e, kind="complaint", status=report.feedback_type, edition=ed, source="arf",
                      ref=report.ref) for e, ed in targets]
    if not emails:
        return [Event(email=f.address, kind="hard" if f.hard else "soft", status=f.status, edition=report.edition,
                      source=report.detector, ref=report.ref) for f in report.failures]
    email, edition = emails[0]
    failure = next((f for f in report.failures if identity_key(f.address) == identity_key(email)),
                   report.failures[0] if report.failures else None)
    if failure is None:
        return []
    return [Event(email=email, kind="hard" if failure.hard else "soft", status=failure.status, edition=edition,
                  source=report.detector, ref=report.ref)]


def read_mailbox(store: HygieneStore, settings: BounceSettings, box: Mailbox, now: datetime) -> Tally:
    """Read every waiting message of `box`: count the bounces and complaints, set the rest aside. One bad
    message never stops the others."""
    tally = Tally()
    try:
        for ident, data in box.messages():
            tally.counts["read"] += 1
            try:
                report = classify(data)
                if not report.counted:
                    tally.counts[report.kind] += 1
                    box.set_aside(ident)
                    continue
                events = events_of(store, report)
                if not events:
                    tally.counts["unmatched"] += 1
                for event in events:
                    tally.counts[apply(store, settings, event, now)] += 1
                box.processed(ident)
            except Exception as exc:  # noqa: BLE001 - one unreadable message is reported, the rest go on
                tally.problems.append(f"message {ident}: {type(exc).__name__}: {exc}")
    finally:
        box.close()
    return tally


def return_paths(app: App) -> VerpReturnPaths:
    """The VERP return paths of `app`'s sends."""
    return VerpReturnPaths(app.store.bounces, app.settings.bounces, app.settings.digest)


def fetch_bounces(app: App, *, now: datetime, maildir: Path | None = None) -> Tally:
    """Read the configured bounce mailbox (or `maildir`) once: `feedpipe bounces fetch` and `serve`'s job."""
    return read_mailbox(app.store, app.settings.bounces, open_mailbox(app.settings.bounces, maildir=maildir), now)
