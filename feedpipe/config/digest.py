"""The `[digest]` and `[mail]` tables of the config: validated into DigestSettings and MailSettings.

Every problem is reported (not only the first) in the one format of `feedpipe.config.reader`.
Every key has a default, so empty tables work. The SMTP password is never read from the file:
only from the environment variable it names.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from email.errors import InvalidHeaderDefect
from email.headerregistry import Address
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedpipe.config.reader import Problems, Section, Table, known
from feedpipe.core.settings import (
    DAYS,
    DEFAULT_SECTION_LIMITS,
    DigestSettings,
    MailSettings,
    OutletSettings,
    Support,
)
from feedpipe.core.text import one_line

WORD_KEYS = ("greeting", "reader_name", "intro", "roundup_heading", "picks_heading", "more_heading",
             "by_tag_heading", "read_more", "forward_line", "subscribe_line", "privacy_line", "sign_off",
             "view_in_browser", "unsubscribe", "sent_to", "privacy_link", "by", "by_country", "by_topic")
URL_KEYS = ("public_url", "subscribe_url", "privacy_url", "logo_url")
DIGEST_KEYS = known("digest", ("outlet", "title", "from", "reply_to", "list_id", "unsubscribe_mailto", *URL_KEYS, "day", "time",
               "timezone", "grace_hours", "max_items", "section_limits", "roundup_size", "skip_if_empty", "support",
               "accent", "max_attempts", "retry_base_seconds", "lease_minutes", *WORD_KEYS, "section_titles"))
SUPPORT_KEYS = known("digest.support", ("heading", "text", "url", "button", "options", "option_urls"))
MAIL_KEYS = known("mail", ("transport", "outbox", "host", "port", "security", "username", "password", "password_env", "timeout",
             "rate_per_second", "local_hostname"))

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_OPTIONS = ("Once", "Monthly", "Annual")


def _address(s: Section, key: str, example: str) -> str | None:
    """An address header value: cleaned first (`one_line`, as the message will), then validated, and
    returned rebuilt from the name and address that were validated, never as the text that was given."""
    raw = s.optional_text(key, example)
    if raw is None:
        return None
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 -- only when an address is set

    try:
        header = default_policy.header_factory("From", one_line(raw))
        invalid = [d for d in header.defects if isinstance(d, InvalidHeaderDefect)]
        if len(header.addresses) != 1 or invalid:
            raise ValueError(str(invalid[0]) if invalid else "one address is needed")
        (address,) = header.addresses
        validate_email(address.addr_spec, check_deliverability=False)
        return mailbox_text(address.display_name, address.addr_spec)
    except (EmailNotValidError, ValueError, IndexError) as exc:
        s.add(key, f"{raw!r} is not an address ({exc})", example)
        return None


def mailbox_text(name: str, addr: str) -> str:
    """`name <addr>` (the name quoted where needed, never encoded) or the bare address: the form the
    message builder parses back into the same name and address."""
    name = one_line(name)
    address = Address(display_name=name, addr_spec=addr)
    return str(address) if name else address.addr_spec


def _url(s: Section, key: str, example: str) -> str | None:
    value = s.optional_text(key, example)
    if value is None:
        return None
    if not re.match(r"^https?://[^\s/]+", value):
        s.add(key, f"{value!r} is not an http(s) URL", example)
        return None
    return value.rstrip("/")


def _day(s: Section) -> str:
    day = s.text("day", "friday", 'day = "friday"').strip().lower()
    if day not in DAYS:
        s.add("day", f"{day!r} is not a day of the week", 'day = "friday"')
        return "friday"
    return day


def _time(s: Section, default: time) -> time:
    at = s.text("time", "08:00", 'time = "08:00"')
    m = _TIME.fullmatch(at.strip())
    if not m:
        s.add("time", f"{at!r} is not a 24-hour HH:MM time", 'time = "08:00"')
        return default
    return time(int(m.group(1)), int(m.group(2)))


def _zone(s: Section, default: str) -> str:
    zone = s.text("timezone", default, 'timezone = "Europe/Moscow"')
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        s.add("timezone", f"{zone!r} is not an IANA time zone", 'timezone = "Europe/Moscow"')
        return default
    return zone


def _at_least(s: Section, key: str, default: int, low: int) -> int:
    n = s.integer(key, default, f"{key} = {default}")
    if n < low:
        s.add(key, f"must be at least {low}, got {n}", f"{key} = {default}")
        return default
    return n


def _section_limits(s: Section) -> dict[str, int]:
    limits = dict(DEFAULT_SECTION_LIMITS)
    for name, n in (s.mapping("section_limits", "section_limits = { news = 6, feature = 3 }") or {}).items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            s.add(f"section_limits.{name}", f"must be a whole number >= 0, got {n!r}",
                  f"section_limits = {{ {name} = 3 }}")
            continue
        limits[name] = n
    return limits


def _section_titles(s: Section, defaults: dict[str, str]) -> dict[str, str]:
    titles = dict(defaults)
    for name, label in (s.mapping("section_titles", 'section_titles = { feature = "Long reads" }') or {}).items():
        if not isinstance(label, str) or not label.strip():
            s.add(f"section_titles.{name}", f"must be a non-empty string, got {label!r}",
                  f'section_titles = {{ {name} = "Long reads" }}')
            continue
        titles[name] = label
    return titles


def _support(problems: Problems, table: Table | None) -> Support | None:
    if table is None:
        return None
    s = Section(problems, "digest.support", table)
    s.unknown_keys(SUPPORT_KEYS)
    heading = s.text("heading", "A message from {outlet}", 'heading = "A message from The Daily Example"')
    text = s.text("text", "", 'text = "Independent journalism needs your support."')
    url = _url(s, "url", 'url = "https://news.example.org/support"')
    button = s.text("button", "Support us", 'button = "Support us"')
    options = s.strings("options", _OPTIONS, 'options = ["Once", "Monthly", "Annual"]')
    option_urls = _option_urls(s, options)
    if not url or not text:
        s.add("url" if not url else "text", "a support appeal needs both text and url",
              '[digest.support] text = "...", url = "https://news.example.org/support"')
        return None
    return Support(heading=heading, text=text, url=url, button=button, options=options, option_urls=option_urls)


def _option_urls(s: Section, options: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`option_urls = { Once = "https://...", Monthly = "https://..." }`: the options that become links;
    each key one of `options`, each value an http(s) URL (the safe-URL rule is applied again when rendering)."""
    example = 'option_urls = { Monthly = "https://news.example.org/support?monthly" }'
    table = s.mapping("option_urls", example)
    if table is None:
        return ()
    out: list[tuple[str, str]] = []
    urls = Section(s.problems, "digest.support.option_urls", table)
    urls.unknown_keys(options)
    for option in options:
        found = _url(urls, option, example)
        if found:
            out.append((option, found))
    return tuple(out)


def parse_digest_settings(
    table: Table, *, where: str, base_dir: Path, outlet: OutletSettings | None = None
) -> tuple[DigestSettings, list[str]]:
    """Validate the `[digest]` table; returns the settings (defaults where a key is wrong) and the problems.

    `outlet` (the `[outlet]` settings, optional) gives the defaults for the outlet's name, public URL
    and time zone."""
    problems = Problems(where)
    s = Section(problems, "digest", table)
    s.unknown_keys(DIGEST_KEYS)
    d = DigestSettings()
    base = Path(base_dir)
    templates = next((t for t in (base.parent / "templates", base / "templates") if (t / "digest").is_dir()), None)
    # names that reach headers are cleaned here, before anything is validated or built from them
    name = one_line(s.text("outlet", outlet.name if outlet else d.outlet, 'outlet = "The Daily Example"'))
    title = one_line(s.text("title", f"{name} Weekly", f'title = "{name} Weekly"')) or f"{name} Weekly"
    from_example = 'from = "Example Weekly <weekly@example.org>"'
    public_url = _url(s, "public_url", 'public_url = "https://news.example.org"')
    if public_url is None and outlet is not None and outlet.public_url.startswith(("http://", "https://")):
        public_url = outlet.public_url.rstrip("/")
    list_id = s.optional_text("list_id", 'list_id = "weekly.example.org"')
    if list_id is not None and not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z0-9-]+", list_id):
        s.add("list_id", f"{list_id!r} is not a dotted list name", 'list_id = "weekly.example.org"')
        list_id = None
    grace = s.number("grace_hours", 12.0, "grace_hours = 12")
    if grace < 0:
        s.add("grace_hours", "must not be negative", "grace_hours = 12")
        grace = 12.0
    retry_base = s.number("retry_base_seconds", d.retry_base_seconds, "retry_base_seconds = 2")
    if retry_base < 0:
        s.add("retry_base_seconds", f"must not be negative, got {retry_base:g}", "retry_base_seconds = 2")
        retry_base = d.retry_base_seconds
    accent = s.text("accent", d.accent, 'accent = "#9e1b1b"')
    if not _HEX.match(accent):
        s.add("accent", f"{accent!r} is not a #rrggbb colour", 'accent = "#9e1b1b"')
        accent = d.accent

    def word(key: str) -> str:
        default: str = getattr(d, key)
        return s.text(key, default, f'{key} = "{default[:30]}..."')

    settings = DigestSettings(
        outlet=name,
        title=title,
        templates_dir=templates,
        from_address=_address(s, "from", from_example) or mailbox_text(title, "weekly@example.org"),
        reply_to=_address(s, "reply_to", 'reply_to = "editors@example.org"'),
        unsubscribe_mailto=_address(s, "unsubscribe_mailto", 'unsubscribe_mailto = "leave@example.org"'),
        public_url=public_url,
        subscribe_url=_url(s, "subscribe_url", 'subscribe_url = "https://news.example.org/subscribe"'),
        privacy_url=_url(s, "privacy_url", 'privacy_url = "https://news.example.org/privacy"'),
        logo_url=_url(s, "logo_url", 'logo_url = "https://news.example.org/logo.png"'),
        list_id=list_id,
        day=_day(s),
        time=_time(s, d.time),
        timezone=_zone(s, outlet.timezone if outlet else "UTC"),
        grace=timedelta(hours=grace),
        max_items=_at_least(s, "max_items", d.max_items, 1),
        roundup_size=_at_least(s, "roundup_size", d.roundup_size, 0),
        max_attempts=_at_least(s, "max_attempts", d.max_attempts, 1),
        lease_minutes=_at_least(s, "lease_minutes", d.lease_minutes, 1),
        retry_base_seconds=retry_base,
        skip_if_empty=s.flag("skip_if_empty", True, "skip_if_empty = true"),
        section_limits=_section_limits(s),
        section_titles=_section_titles(s, d.section_titles),
        accent=accent,
        support=_support(problems, s.mapping(
            "support", 'support = { heading = "...", text = "...", url = "https://..." }')),
        greeting=word("greeting"),
        reader_name=word("reader_name"),
        intro=word("intro"),
        roundup_heading=word("roundup_heading"),
        picks_heading=word("picks_heading"),
        more_heading=word("more_heading"),
        by_tag_heading=word("by_tag_heading"),
        read_more=word("read_more"),
        forward_line=word("forward_line"),
        subscribe_line=word("subscribe_line"),
        privacy_line=word("privacy_line"),
        sign_off=word("sign_off"),
        view_in_browser=word("view_in_browser"),
        unsubscribe=word("unsubscribe"),
        sent_to=word("sent_to"),
        privacy_link=word("privacy_link"),
        by=word("by"),
        by_country=word("by_country"),
        by_topic=word("by_topic"),
    )
    return settings, problems.lines


def parse_mail_settings(table: Table, *, where: str, base_dir: Path) -> tuple[MailSettings, list[str]]:
    """Validate the `[mail]` table; the outbox folder is taken relative to `base_dir`."""
    problems = Problems(where)
    s = Section(problems, "mail", table)
    s.unknown_keys(MAIL_KEYS)
    if "password" in table:
        s.add("password", "passwords are never read from the config file; name an environment variable",
              'password_env = "FEEDPIPE_SMTP_PASSWORD" and export FEEDPIPE_SMTP_PASSWORD')
    transport = s.text("transport", "outbox", 'transport = "smtp"')
    if transport not in ("outbox", "smtp"):
        s.add("transport", f"{transport!r} is not outbox or smtp", 'transport = "smtp"')
        transport = "outbox"
    outbox = Path(s.text("outbox", "outbox", 'outbox = "var/outbox"'))
    security = s.text("security", "starttls", 'security = "starttls"')
    if security not in _PORTS:
        s.add("security", f"{security!r} is not starttls, tls or none", 'security = "starttls"')
        security = "starttls"
    port = s.integer("port", _PORTS[security], f"port = {_PORTS[security]}")
    if not 0 < port < 65536:
        s.add("port", f"{port} is not a TCP port", f"port = {_PORTS[security]}")
        port = _PORTS[security]
    env = s.text("password_env", "FEEDPIPE_SMTP_PASSWORD", 'password_env = "FEEDPIPE_SMTP_PASSWORD"')
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        s.add("password_env", f"{env!r} is not an environment variable name",
              'password_env = "FEEDPIPE_SMTP_PASSWORD"')
        env = "FEEDPIPE_SMTP_PASSWORD"
    timeout = s.number("timeout", 30.0, "timeout = 30")
    if timeout <= 0:
        s.add("timeout", f"must be positive, got {timeout:g}", "timeout = 30")
        timeout = 30.0
    rate = s.number("rate_per_second", 10.0, "rate_per_second = 10")
    if rate < 0:
        s.add("rate_per_second", f"must be positive, got {rate:g}", "rate_per_second = 10")
        rate = 10.0
    settings = MailSettings(
        transport=transport,
        outbox=outbox if outbox.is_absolute() else (base_dir / outbox),
        host=s.text("host", "localhost", 'host = "smtp.example.org"'),
        security=security,
        port=port,
        username=s.optional_text("username", 'username = "weekly@example.org"'),
        password_env=env,
        timeout=timeout,
        rate_per_second=rate,
        local_hostname=s.optional_text("local_hostname", 'local_hostname = "mail.example.org"'),
    )
    return settings, problems.lines
