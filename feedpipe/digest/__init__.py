"""The weekly digest: editions, selection, rendering, messages and the exactly-once send."""

from feedpipe.digest.build import build_edition, prepare
from feedpipe.digest.editions import due_edition, edition_key, edition_window, send_time
from feedpipe.digest.send import send_edition
from feedpipe.digest.settings import DigestSettings, MailSettings, parse_digest_settings, parse_mail_settings

__all__ = [
    "DigestSettings", "MailSettings", "build_edition", "due_edition", "edition_key", "edition_window", "prepare",
    "send_edition", "send_time", "parse_digest_settings", "parse_mail_settings",
]
