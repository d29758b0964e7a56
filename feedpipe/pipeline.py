"""One cron cycle, and the steps it shares with the scheduler: ingest, rebuild the changed feeds,
refresh the digest preview, send the due edition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feedpipe.app import App
from feedpipe.core.model import SendReport
from feedpipe.digest import build_edition, send_edition
from feedpipe.digest.editions import current_edition, due_edition
from feedpipe.feeds.websub import hub_pinger
from feedpipe.feedset import PublishReport
from feedpipe.feedset import publish_feeds as publish
from feedpipe.ingest import IngestReport, Progress, ingest


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


def publish_feeds(app: App, *, now: datetime, only_dirty: bool = True) -> PublishReport:
    """Rebuild the feeds whose articles changed (all of them when `only_dirty` is false)."""
    settings = app.settings
    hub = settings.feeds.websub_hub
    ping = hub_pinger(hub) if hub else None
    return publish(app.store, settings.feeds_dir, settings.feeds, only_dirty=only_dirty, ping=ping)


def build_digest_preview(app: App, *, now: datetime) -> Path:
    """The web view of the edition being collected now, so an editor can look at it any day."""
    key = current_edition(now, app.settings.digest)
    return build_edition(app.store, app.settings.digest, app.settings.feeds_public_url, key, now,
                         app.settings.digest_dir)


def send_due_digest(app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
    """Build and send the due edition, if any; the store's ledger makes this idempotent."""
    key = due_edition(now, app.settings.digest, app.store)
    if key is None:
        return None, None
    build_edition(app.store, app.settings.digest, app.settings.feeds_public_url, key, now, app.settings.digest_dir)
    report = send_edition(app.store, app.settings.digest, app.transport(), key, now)
    return key, report


def run_cycle(app: App, *, now: datetime, force: bool = False, progress: Progress | None = None) -> CycleReport:
    """One cron cycle: ingest, rebuild changed feeds, refresh the digest preview, send a due edition."""
    report = ingest(app, now=now, force=force, progress=progress)
    feeds = publish_feeds(app, now=now)
    preview = build_digest_preview(app, now=now)
    key, send_report = send_due_digest(app, now=now)
    return CycleReport(ingest=report, feeds=feeds, digest_preview=preview, edition_sent=key,
                       send_report=send_report)
