"""The one secret redactor: every log line and every error feedpipe prints passes through `redact`, so a
password in a store URL (`postgresql://user:password@host/db`), a DSN (`password=...`) or a query string
never reaches a terminal, a log file or a web page."""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@ -> scheme://user:***@ (the password is everything up to the @, as SQLAlchemy reads it)
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):(?P<secret>[^\s@]+)@")
# password=..., pwd=..., passwd=... in a DSN or a query string; "password: ..." in a message
_KEYED = re.compile(r"(?P<head>\b(?:password|passwd|pwd)\s*[=:]\s*)(?P<quote>['\"]?)(?P<secret>[^\s&;'\",]+)",
                    re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every password it holds replaced by `***`; the user and host stay, to say what failed."""
    if "://" not in text and not _KEYED.search(text):
        return text
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _KEYED.sub(lambda m: f"{m['head']}{m['quote']}{MASK}", text)
