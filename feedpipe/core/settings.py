"""Every settings dataclass: frozen, typed, with the defaults a fresh install runs on.

The TOML reader (`feedpipe.config`) builds them; every other module receives the one it needs.
Nothing here reads a file, the environment (but `MailSettings.password`, on demand) or the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Source


@dataclass(frozen=True, kw_only=True)
class FetchSettings:
    """Limits for one fetch; built from the config by the caller, never read globally."""

    user_agent: str = "feedpipe/0.1 (+https://example.org/feedpipe)"  # should carry a contact URL
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # longest silence between two reads
    deadline: float = 60.0  # whole fetch, redirects and body included
    max_bytes: int = 20_000_000  # cap on the decoded body
    max_redirects: int = 5
    retry_after_max_wait: float = 0.0  # retry once when Retry-After is at most this many seconds
    host_interval: float = 0.0  # minimum seconds between two requests to one host
    chunk_size: int = 16_384
    allow_private_addresses: bool = False  # let fetches reach loopback/private/link-local hosts (tests, intranets)



@dataclass(frozen=True, kw_only=True)
class FeedSettings:
    """The `[feeds]` table of the configuration: what every feed shares."""

    public_url: str = "http://localhost:8000"  # the site; feeds live at public_url + "/feeds/..."
    title: str = "feedpipe"
    subtitle: str = ""
    language: str = "en"
    max_entries: int = 50
    ttl: int = 60  # minutes (RSS <ttl>)
    websub_hub: str | None = None
    author: str | None = None  # feed-level author name; defaults to the title
    generator: str = "feedpipe"
    id_authority: str | None = None  # tag: URI authority such as "news.example.org,2026"

    @cached_property
    def feeds_url(self) -> str:
        return self.public_url.rstrip("/") + "/feeds"

    @cached_property
    def tag_authority(self) -> str:
        """The `authority,date` of every tag: URI; fixed once chosen (config `id_authority`)."""
        if self.id_authority:
            return self.id_authority
        host = (urlsplit(self.public_url).hostname or "localhost").lower()
        return f"{host},2026"



DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SECTIONS = ("news", "feature", "analysis", "opinion")
DEFAULT_SECTION_LIMITS = {"news": 6, "feature": 3, "analysis": 3, "opinion": 2}


@dataclass(frozen=True, kw_only=True)
class Support:
    """The outlet's optional support appeal (the seed's "A Message from ...: Once / Monthly / Annual")."""

    heading: str
    text: str
    url: str
    button: str = "Support us"
    options: tuple[str, ...] = ("Once", "Monthly", "Annual")
    option_urls: tuple[tuple[str, str], ...] = ()  # (option, its URL): those options become links


@dataclass(frozen=True, kw_only=True)
class DigestSettings:
    """Schedule, selection and words of the weekly digest. Words may use {outlet}, {title} and {day}."""

    outlet: str = "Feedpipe News"
    title: str = "Feedpipe News Weekly"  # the newsletter's name; the subject prefix
    from_address: str = "Feedpipe News Weekly <weekly@example.org>"
    reply_to: str | None = None
    public_url: str | None = None  # where the web view and unsubscribe pages live; else the feeds' URL
    list_id: str | None = None  # default: "<title>" <weekly.<from domain>>
    unsubscribe_mailto: str | None = None  # default: the From address
    day: str = "friday"
    time: time = field(default_factory=lambda: time(8, 0))
    timezone: str = "UTC"
    grace: timedelta = timedelta(hours=12)
    max_items: int = 12
    section_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SECTION_LIMITS))
    roundup_size: int = 5
    skip_if_empty: bool = True
    # words
    greeting: str = "Dear {name},"
    reader_name: str = "reader"  # {name} when the subscriber gave none
    intro: str = (
        "Welcome to {title}: the stories our editors picked for you this week, from quick news to longer reads."
    )
    roundup_heading: str = "The week in brief"
    picks_heading: str = "Editor's picks"
    more_heading: str = "Worth your time"
    by_tag_heading: str = "Follow what matters to you"
    read_more: str = "Read more"
    forward_line: str = "Did someone forward this email to you?"
    subscribe_line: str = "Subscribe to get {title} in your inbox every {day}."
    subscribe_url: str | None = None  # default <public_url>/subscribe
    privacy_line: str = "Subscribers agree to our privacy policy."
    privacy_url: str | None = None  # default <public_url>/privacy
    sign_off: str = "Until next {day},\nthe editors of {outlet}"
    view_in_browser: str = "View this email in your browser"
    unsubscribe: str = "Unsubscribe"
    sent_to: str = "This email was sent to"
    privacy_link: str = "Privacy policy"
    by: str = "By"
    by_country: str = "By country"
    by_topic: str = "By topic"
    section_titles: dict[str, str] = field(default_factory=lambda: {
        "news": "News", "analysis": "Analysis", "feature": "Features", "opinion": "Opinion",
    })
    support: Support | None = None
    accent: str = "#9e1b1b"
    logo_url: str | None = None
    # sending
    max_attempts: int = 4  # tries of one message on temporary (4xx) failures
    retry_base_seconds: float = 2.0  # backoff 2, 4, 8 ... seconds between tries
    lease_minutes: int = 10
    templates_dir: Path | None = None  # the outlet's templates (with digest/*.j2); else the packaged ones

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def weekday(self) -> int:
        return DAYS.index(self.day)

    def words(self, text: str, **extra: str) -> str:
        values = {"outlet": self.outlet, "title": self.title, "day": self.day.capitalize()} | extra
        return text.format_map(_Blank(values))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True, kw_only=True)
class MailSettings:
    """How mail leaves: the outbox folder (default) or SMTP."""

    transport: str = "outbox"  # outbox | smtp
    outbox: Path = Path("outbox")
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password_env: str = "FEEDPIPE_SMTP_PASSWORD"
    timeout: float = 30.0
    rate_per_second: float = 10.0  # 0 = no limit
    local_hostname: str | None = None

    def password(self) -> str | None:
        """The SMTP password from the environment (never from the config file)."""
        if not self.username:
            return None
        value = os.environ.get(self.password_env)
        if not value:
            raise FeedpipeError(
                f"[mail] username is set but the environment variable {self.password_env} is empty",
                f"export {self.password_env}=... before running, or remove [mail] username",
            )
        return value


@dataclass(frozen=True, kw_only=True)
class ScheduleSettings:
    """The `[schedule]` table: what `feedpipe serve` runs and how often. The digest's day, time, zone
    and grace are `DigestSettings`' (`[digest]`), never set here."""

    ingest_minutes: int = 15
    feeds_after_ingest: bool = True
    digest: bool = True  # send the weekly digest from this process
    lease_ttl_seconds: int = 300
    pause_after_failures: int = 10  # consecutive failed fetches before a source is paused; 0: never
    workers: bool = False  # serve leads (or follows) and enqueues; `feedpipe worker` processes do the work

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.lease_ttl_seconds)


@dataclass(frozen=True, kw_only=True)
class OutletSettings:
    name: str = "feedpipe"
    public_url: str = "http://localhost:8080"
    language: str = "en"
    timezone: str = "UTC"
    country: str | None = None
    contact_url: str = "https://github.com/feedpipe/feedpipe"


@dataclass(frozen=True, kw_only=True)
class Settings:
    path: Path | None = None  # the config file, None for built-in defaults
    base_dir: Path = Path(".")
    outlet: OutletSettings = field(default_factory=OutletSettings)
    store_url: str = "sqlite:///var/feedpipe.db"
    sources: tuple[Source, ...] = ()
    fetch: FetchSettings = field(default_factory=FetchSettings)
    fetch_workers: int = 4
    parse_processes: int | str = "auto"  # "auto" or a count; 0 parses in the fetching threads
    public_dir: Path = Path("public")
    templates_dir: Path | None = None
    tagging_dir: Path | None = None  # folder whose tagging/ subfolder overrides the packaged tagging data
    feeds: FeedSettings = field(default_factory=FeedSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    file_mode: int = 0o644  # `[paths] file_mode`: permission bits of every published file

    @property
    def feeds_dir(self) -> Path:
        return self.public_dir / "feeds"

    @property
    def digest_dir(self) -> Path:
        return self.public_dir / "digest"

    @property
    def feeds_public_url(self) -> str:
        return self.outlet.public_url.rstrip("/") + "/feeds"
