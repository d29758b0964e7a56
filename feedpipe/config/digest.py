"""The `[digest]` and `[mail]` tables of the config: validated into DigestSettings and MailSettings.

Every problem is reported (not only the first) as one readable line naming the file, the key, what
is wrong and an example of what would be right. Every key has a default, so empty tables work.
The SMTP password is never read from the file: only from the environment variable it names.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from feedpipe.core.settings import DAYS, DEFAULT_SECTION_LIMITS, DigestSettings, MailSettings, Support

# ---- parsing ---------------------------------------------------------------------------------

class _Reader:
    """Takes keys out of one table, collecting problems instead of stopping at the first."""

    def __init__(self, table: dict, where: str, name: str) -> None:
        self.table = dict(table or {})
        self.where = where
        self.name = name
        self.problems: list[str] = []

    def problem(self, key: str, what: str, example: str) -> None:
        self.problems.append(f"{self.where}: [{self.name}] {key}: {what}; for example {example}")

    def take(self, key: str, kind, default, example: str):
        if key not in self.table:
            return default
        value = self.table.pop(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            self.problem(key, f"expected {_kind_name(kind)}, got {value!r}", example)
            return default
        return value

    def text(self, key: str, default: str | None, example: str) -> str | None:
        value = self.take(key, str, default, example)
        if isinstance(value, str) and ("\r" in value or "\0" in value):
            self.problem(key, "must not contain carriage returns or NUL", example)
            return default
        return value

    def leftovers(self, known_hint: str) -> None:
        for key in self.table:
            self.problems.append(f"{self.where}: [{self.name}] {key}: unknown key; known keys are {known_hint}")


def _kind_name(kind) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "a table",
             list: "a list"}
    return names.get(kind, str(kind))


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _address(r: _Reader, key: str, value: str | None, example: str) -> str | None:
    if value is None:
        return None
    from email.utils import parseaddr

    _, addr = parseaddr(value)
    try:
        validate_email(addr, check_deliverability=False)
    except EmailNotValidError as exc:
        r.problem(key, f"{value!r} is not an address ({exc})", example)
        return None
    return value


def _url(r: _Reader, key: str, value: str | None, example: str) -> str | None:
    if value is None:
        return None
    if not re.match(r"^https?://[^\s/]+", value):
        r.problem(key, f"{value!r} is not an http(s) URL", example)
        return None
    return value.rstrip("/")


def parse_digest_settings(
    table: dict, *, where: str, base_dir: Path, outlet=None
) -> tuple[DigestSettings, list[str]]:
    """Validate the `[digest]` table; returns the settings (defaults where a key is wrong) and the problems.

    `outlet` (the `[outlet]` settings, optional) gives the defaults for the outlet's name, public URL
    and time zone."""
    r = _Reader(table, where, "digest")
    d = DigestSettings()
    base = Path(base_dir)
    templates = next((t for t in (base.parent / "templates", base / "templates") if (t / "digest").is_dir()), None)
    outlet_name = getattr(outlet, "name", None) or d.outlet
    outlet_url = getattr(outlet, "public_url", None)
    outlet_tz = getattr(outlet, "timezone", None) or "UTC"
    outlet = r.text("outlet", outlet_name, 'outlet = "The Daily Example"')
    title = r.text("title", f"{outlet} Weekly", f'title = "{outlet} Weekly"')
    values: dict = {"outlet": outlet, "title": title, "templates_dir": templates}
    values["from_address"] = _address(
        r, "from", r.text("from", f"{title} <weekly@example.org>", 'from = "Example Weekly <weekly@example.org>"'),
        'from = "Example Weekly <weekly@example.org>"',
    ) or f"{title} <weekly@example.org>"
    values["reply_to"] = _address(r, "reply_to", r.text("reply_to", None, 'reply_to = "editors@example.org"'),
                                  'reply_to = "editors@example.org"')
    values["unsubscribe_mailto"] = _address(
        r, "unsubscribe_mailto", r.text("unsubscribe_mailto", None, 'unsubscribe_mailto = "leave@example.org"'),
        'unsubscribe_mailto = "leave@example.org"',
    )
    for key in ("public_url", "subscribe_url", "privacy_url", "logo_url"):
        example = f'{key} = "https://news.example.org{"" if key == "public_url" else "/" + key[:-4]}"'
        values[key] = _url(r, key, r.text(key, None, example), example)
    if values["public_url"] is None and isinstance(outlet_url, str) and outlet_url.startswith(("http://", "https://")):
        values["public_url"] = outlet_url.rstrip("/")
    list_id = r.text("list_id", None, 'list_id = "weekly.example.org"')
    if list_id is not None and not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z0-9-]+", list_id):
        r.problem("list_id", f"{list_id!r} is not a dotted list name", 'list_id = "weekly.example.org"')
        list_id = None
    values["list_id"] = list_id

    day = r.text("day", "friday", 'day = "friday"').strip().lower()
    if day not in DAYS:
        r.problem("day", f"{day!r} is not a day of the week", 'day = "friday"')
        day = "friday"
    values["day"] = day
    at = r.text("time", "08:00", 'time = "08:00"')
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at.strip())
    if m:
        values["time"] = time(int(m.group(1)), int(m.group(2)))
    else:
        r.problem("time", f"{at!r} is not a 24-hour HH:MM time", 'time = "08:00"')
    zone = r.text("timezone", outlet_tz, 'timezone = "Europe/Moscow"')
    try:
        ZoneInfo(zone)
        values["timezone"] = zone
    except (ZoneInfoNotFoundError, ValueError):
        r.problem("timezone", f"{zone!r} is not an IANA time zone", 'timezone = "Europe/Moscow"')
    grace = r.take("grace_hours", float, 12.0, "grace_hours = 12")
    if grace < 0:
        r.problem("grace_hours", "must not be negative", "grace_hours = 12")
        grace = 12.0
    values["grace"] = timedelta(hours=grace)

    for key, example, low in (("max_items", "max_items = 12", 1), ("roundup_size", "roundup_size = 5", 0),
                              ("max_attempts", "max_attempts = 4", 1), ("lease_minutes", "lease_minutes = 10", 1)):
        n = r.take(key, int, getattr(d, key), example)
        if n < low:
            r.problem(key, f"must be at least {low}, got {n}", example)
            n = getattr(d, key)
        values[key] = n
    base = r.take("retry_base_seconds", float, d.retry_base_seconds, "retry_base_seconds = 2")
    values["retry_base_seconds"] = base if base >= 0 else d.retry_base_seconds
    values["skip_if_empty"] = r.take("skip_if_empty", bool, True, "skip_if_empty = true")

    limits = dict(DEFAULT_SECTION_LIMITS)
    table_limits = r.take("section_limits", dict, {}, "section_limits = { news = 6, feature = 3 }")
    for name, n in table_limits.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            r.problem(f"section_limits.{name}", f"expected a whole number >= 0, got {n!r}",
                      f"section_limits = {{ {name} = 3 }}")
            continue
        limits[str(name)] = n
    values["section_limits"] = limits
    titles = dict(d.section_titles)
    for name, label in r.take("section_titles", dict, {}, 'section_titles = { feature = "Long reads" }').items():
        if not isinstance(label, str) or not label.strip():
            r.problem(f"section_titles.{name}", f"expected a non-empty string, got {label!r}",
                      f'section_titles = {{ {name} = "Long reads" }}')
            continue
        titles[str(name)] = label
    values["section_titles"] = titles

    for key in ("greeting", "reader_name", "intro", "roundup_heading", "picks_heading", "more_heading",
                "by_tag_heading", "read_more", "forward_line", "subscribe_line", "privacy_line", "sign_off",
                "view_in_browser", "unsubscribe", "sent_to", "privacy_link", "by", "by_country", "by_topic"):
        values[key] = r.text(key, getattr(d, key), f'{key} = "{getattr(d, key)[:30]}..."')
    accent = r.text("accent", d.accent, 'accent = "#9e1b1b"')
    if not _HEX.match(accent):
        r.problem("accent", f"{accent!r} is not a #rrggbb colour", 'accent = "#9e1b1b"')
        accent = d.accent
    values["accent"] = accent

    support_table = r.take("support", dict, None, 'support = { heading = "...", text = "...", url = "https://..." }')
    if support_table is not None:
        s = _Reader(support_table, where, "digest.support")
        heading = s.text("heading", "A message from {outlet}", 'heading = "A message from The Daily Example"')
        text = s.text("text", "", 'text = "Independent journalism needs your support."')
        url = _url(s, "url", s.text("url", None, 'url = "https://news.example.org/support"'),
                   'url = "https://news.example.org/support"')
        button = s.text("button", "Support us", 'button = "Support us"')
        options = s.take("options", list, ["Once", "Monthly", "Annual"], 'options = ["Once", "Monthly", "Annual"]')
        if not all(isinstance(o, str) for o in options):
            s.problem("options", "expected a list of strings", 'options = ["Once", "Monthly", "Annual"]')
            options = ["Once", "Monthly", "Annual"]
        if not url or not text:
            s.problem("url" if not url else "text", "a support appeal needs both text and url",
                      '[digest.support] text = "...", url = "https://news.example.org/support"')
        s.leftovers("heading, text, url, button, options")
        r.problems.extend(s.problems)
        if url and text:
            values["support"] = Support(heading=heading, text=text, url=url, button=button, options=tuple(options))
    r.leftovers(", ".join(sorted(
        ["outlet", "title", "from", "reply_to", "public_url", "list_id", "unsubscribe_mailto", "day", "time",
         "timezone", "grace_hours", "max_items", "section_limits", "roundup_size", "skip_if_empty", "support",
         "accent", "logo_url", "subscribe_url", "privacy_url", "max_attempts", "retry_base_seconds",
         "lease_minutes", "greeting", "reader_name", "intro", "roundup_heading", "picks_heading", "more_heading",
         "by_tag_heading", "read_more", "forward_line", "subscribe_line", "privacy_line", "sign_off",
         "view_in_browser", "unsubscribe", "sent_to", "privacy_link", "by", "by_country", "by_topic",
         "section_titles"]
    )))
    return DigestSettings(**values), r.problems


_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def parse_mail_settings(table: dict, *, where: str, base_dir: Path) -> tuple[MailSettings, list[str]]:
    """Validate the `[mail]` table; the outbox folder is taken relative to `base_dir`."""
    r = _Reader(table, where, "mail")
    if "password" in r.table:
        r.table.pop("password")
        r.problem("password", "passwords are never read from the config file; name an environment variable",
                  'password_env = "FEEDPIPE_SMTP_PASSWORD" and export FEEDPIPE_SMTP_PASSWORD')
    values: dict = {}
    transport = r.text("transport", "outbox", 'transport = "smtp"')
    if transport not in ("outbox", "smtp"):
        r.problem("transport", f"{transport!r} is not outbox or smtp", 'transport = "smtp"')
        transport = "outbox"
    values["transport"] = transport
    outbox = Path(r.text("outbox", "outbox", 'outbox = "var/outbox"'))
    values["outbox"] = outbox if outbox.is_absolute() else (base_dir / outbox)
    values["host"] = r.text("host", "localhost", 'host = "smtp.example.org"')
    security = r.text("security", "starttls", 'security = "starttls"')
    if security not in _PORTS:
        r.problem("security", f"{security!r} is not starttls, tls or none", 'security = "starttls"')
        security = "starttls"
    values["security"] = security
    port = r.take("port", int, _PORTS[security], f"port = {_PORTS[security]}")
    if not 0 < port < 65536:
        r.problem("port", f"{port} is not a TCP port", f"port = {_PORTS[security]}")
        port = _PORTS[security]
    values["port"] = port
    values["username"] = r.text("username", None, 'username = "weekly@example.org"')
    env = r.text("password_env", "FEEDPIPE_SMTP_PASSWORD", 'password_env = "FEEDPIPE_SMTP_PASSWORD"')
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        r.problem("password_env", f"{env!r} is not an environment variable name",
                  'password_env = "FEEDPIPE_SMTP_PASSWORD"')
        env = "FEEDPIPE_SMTP_PASSWORD"
    values["password_env"] = env
    for key, default in (("timeout", 30.0), ("rate_per_second", 10.0)):
        value = r.take(key, float, default, f"{key} = {default:g}")
        if value < 0 or (key == "timeout" and value == 0):
            r.problem(key, f"must be positive, got {value}", f"{key} = {default:g}")
            value = default
        values[key] = value
    values["local_hostname"] = r.text("local_hostname", None, 'local_hostname = "mail.example.org"')
    r.leftovers("transport, outbox, host, port, security, username, password_env, timeout, rate_per_second, "
                "local_hostname")
    return MailSettings(**values), r.problems
