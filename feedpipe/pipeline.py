"""One cron cycle, and the steps it shares with the scheduler: ingest, rebuild the changed feeds,
refresh the digest preview, send the due edition."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feedpipe.app import App
from feedpipe.bounces.service import return_paths
from feedpipe.core.model import SendReport
from feedpipe.core.settings import Settings
from feedpipe.digest import build_edition, send_edition
from feedpipe.digest.editions import current_edition, due_edition
from feedpipe.feeds.publish import PublishReport
from feedpipe.feeds.publish import publish_feeds as publish
from feedpipe.feeds.websub import hub_pinger
from feedpipe.ingest import IngestReport, Progress, ingest
from feedpipe.store import Store
from feedpipe.store.catalogue import FeedKey


@dataclass(frozen=True, kw_only=True)
class CycleReport:
    ingest: IngestReport
    feeds: PublishReport | None = None
    digest_preview: Path | None = None
    edition_sent: str | None = None
    send_report: SendReport | None = None

    def lines(self) -> list[str]:
        """A short human summary of everything after ingest."""
        out = []
        if self.feeds is not None:
            out.append(f"feeds: {self.feeds.summary()}")
        if self.digest_preview is not None:
            out.append(f"digest preview: {self.digest_preview}")
        if self.edition_sent and self.send_report is not None:
            r = self.send_report
            out.append(f"digest {self.edition_sent}: {r.sent} sent, {r.failed} failed, {r.uncertain} uncertain, "
                       f"{r.already} sent earlier")
        return out


def publish_feeds(app: App, *, now: datetime, only_dirty: bool = True, out_dir: Path | None = None,
                  keys: Collection[FeedKey] | None = None) -> PublishReport:
    """Rebuild the feeds whose articles changed (all of them when `only_dirty` is false; only `keys`, a
    worker's claim, when given) into the public folder (or `out_dir`), and ping the WebSub hub for each
    feed that changed."""
    settings = app.settings
    hub = settings.feeds.websub_hub
    ping = hub_pinger(hub) if hub else None
    return publish(app.store, out_dir or settings.feeds_dir, settings.feeds, only_dirty=only_dirty, ping=ping,
                   mode=settings.file_mode, keys=keys)


def build_digest_preview(app: App, *, now: datetime) -> Path:
    """The web view of the edition being collected now, so an editor can look at it any day."""
    key = current_edition(now, app.settings.digest)
    return build_edition_view(app.store, app.settings, key, now=now)


def build_edition_view(store: Store, settings: Settings, key: str, *, now: datetime) -> Path:
    """Edition `key`'s web view in the public folder (the archive page), with the outlet's templates and
    file mode: built by the send, the workers' leader, and after every change of the picks (CLI, desk)."""
    s = settings
    return build_edition(store, s.digest, s.feeds_public_url, key, now, s.digest_dir,
                         templates_dir=s.templates_dir, mode=s.file_mode)


def send_due_digest(app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
    """Build and send the due edition, if any; the store's ledger makes this idempotent."""
    key = due_edition(now, app.settings.digest, app.store)
    if key is None:
        return None, None
    build_edition_view(app.store, app.settings, key, now=now)
    s = app.settings
    report = send_edition(app.store, s.digest, app.transport(), key, now, feeds_public_url=s.feeds_public_url,
                          templates_dir=s.templates_dir, return_paths=return_paths(app))
    if not report.not_claimed:
        build_edition_view(app.store, app.settings, key, now=now)  # the archive shows the edition as it was sent
    return key, report


def run_cycle(app: App, *, now: datetime, force: bool = False, progress: Progress | None = None) -> CycleReport:
    """One cron cycle: ingest, rebuild changed feeds, refresh the digest preview, send a due edition."""
    report = ingest(app, now=now, force=force, progress=progress)
    feeds = publish_feeds(app, now=now)
    preview = build_digest_preview(app, now=now)
    key, send_report = send_due_digest(app, now=now)
    return CycleReport(ingest=report, feeds=feeds, digest_preview=preview, edition_sent=key,
                       send_report=send_report)
