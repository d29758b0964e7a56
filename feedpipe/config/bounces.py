"""The `[bounces]` table: validated into BounceSettings (see its docstring for what each key does)."""

from __future__ import annotations

from pathlib import Path

from feedpipe.config.reader import Problems, Section, Table
from feedpipe.config.sources import resolve_path
from feedpipe.core.settings import BounceSettings

BOUNCE_KEYS = ("return_path", "imap_host", "imap_port", "imap_security", "imap_user", "password_env",
               "imap_folder", "ca_file", "maildir", "processed_folder", "others_folder", "soft_limit", "soft_days",
               "fetch_minutes", "sns_topic_arns", "mailgun_key_env", "webhook_max_age_seconds")


def parse_bounce_settings(table: Table, *, where: str, base_dir: Path) -> tuple[BounceSettings, list[str]]:
    """Validate a `[bounces]` table; return the settings and every problem found."""
    problems = Problems(where)
    s = Section(problems, "bounces", table)
    s.unknown_keys(BOUNCE_KEYS)
    d = BounceSettings()
    return_path = s.optional_text("return_path", 'return_path = "bounces@news.example.org"')
    if return_path is not None and ("@" not in return_path or any(c.isspace() for c in return_path.strip())):
        s.add("return_path", f"must be an address, got {return_path!r}", 'return_path = "bounces@news.example.org"')
        return_path = None
    security = s.text("imap_security", d.imap_security, 'imap_security = "tls"')
    if security not in ("tls", "starttls"):
        s.add("imap_security", f'must be "tls" or "starttls" (IMAP only over TLS), got {security!r}',
              'imap_security = "tls"')
        security = d.imap_security
    host = s.optional_text("imap_host", 'imap_host = "imap.example.org"')
    user = s.optional_text("imap_user", 'imap_user = "bounces"')
    if host and not user:
        s.add("imap_user", "must be set when imap_host is", 'imap_user = "bounces"')
    positive = {}
    for key, default in (("imap_port", d.imap_port), ("soft_limit", d.soft_limit), ("soft_days", d.soft_days),
                         ("webhook_max_age_seconds", d.webhook_max_age_seconds)):
        value = s.integer(key, default, f"{key} = {default}")
        if value <= 0:
            s.add(key, f"must be a positive whole number, got {value!r}", f"{key} = {default}")
            value = default
        positive[key] = value
    minutes = s.integer("fetch_minutes", d.fetch_minutes, f"fetch_minutes = {d.fetch_minutes}")
    if minutes < 0:
        s.add("fetch_minutes", f"must be a whole number >= 0 (0: never), got {minutes!r}", "fetch_minutes = 15")
        minutes = d.fetch_minutes
    ca_file = s.optional_text("ca_file", 'ca_file = "certs/imap-ca.pem"')
    maildir = s.optional_text("maildir", 'maildir = "/var/mail/bounces"')
    settings = BounceSettings(
        return_path=return_path, imap_host=host, imap_security=security, imap_user=user,
        password_env=s.text("password_env", d.password_env, 'password_env = "FEEDPIPE_BOUNCES_PASSWORD"'),
        imap_folder=s.text("imap_folder", d.imap_folder, 'imap_folder = "INBOX"'),
        ca_file=resolve_path(base_dir, ca_file) if ca_file else None,
        maildir=resolve_path(base_dir, maildir) if maildir else None,
        processed_folder=s.optional_text("processed_folder", 'processed_folder = "Processed"'),
        others_folder=s.optional_text("others_folder", 'others_folder = "Replies"'),
        fetch_minutes=minutes,
        sns_topic_arns=s.strings("sns_topic_arns", (), 'sns_topic_arns = ["arn:aws:sns:eu-west-1:123:ses"]'),
        mailgun_key_env=s.text("mailgun_key_env", d.mailgun_key_env, 'mailgun_key_env = "MAILGUN_KEY"'),
        imap_port=positive["imap_port"], soft_limit=positive["soft_limit"], soft_days=positive["soft_days"],
        webhook_max_age_seconds=positive["webhook_max_age_seconds"],
    )
    return settings, problems.lines
