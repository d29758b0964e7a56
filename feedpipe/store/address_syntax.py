"""Whether a string is an email address, and its normal form: email-validator's (syntax only, no DNS),
with a shortcut for the common case of an import, where the same few domains come back over and over.
`store.subscribers` re-exports `normalize_email`."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from feedpipe.core.errors import FeedpipeError

if TYPE_CHECKING:
    from email_validator import ValidatedEmail

# A plain ASCII dot-atom local part: email_validator leaves such a local part as it is (unless it is one
# of the mailbox names RFC 2142 makes case-insensitive, which it lowercases), so an address made of one
# and a domain it accepted is normalised without running the whole validator again.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_LENGTH = 254  # octets of a whole address, in each of its forms (email_validator's EMAIL_MAX_LENGTH)


def _validate(email: str) -> ValidatedEmail | None:
    """email_validator's reading of an address (syntax only, no DNS), None when it refuses it. Imported
    on first use: the store's modules load in every command, email_validator only matters for addresses."""
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 -- on first use

    try:
        return validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return None


@functools.cache
def _lowered_local() -> frozenset[str]:
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES  # noqa: PLC0415 -- on first use

    return frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> tuple[str, str] | None:
    """The normalised domain and its ASCII (IDNA) form as email_validator gives them, or None when it
    refuses the domain."""
    found = _validate(f"a@{domain}")
    return None if found is None else (found.domain, found.ascii_domain)


def normalize_email(email: str) -> str:
    """The address as stored: validated (syntax only, no DNS) and normalised; FeedpipeError if invalid.

    An import checks the same few domains over and over: a plain ASCII local part at a domain already
    accepted is normalised from that (the same result as email_validator, lengths checked in each of
    the address's forms as it does, at a fraction of the cost); anything else goes through
    email_validator."""
    text = (email or "").strip()
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and local.isascii() and _PLAIN_LOCAL.fullmatch(local) \
            and local.lower() not in _lowered_local():
        found = _domain(domain)
        if found is not None:
            normal = f"{local}@{found[0]}"
            if max(len(text.encode()), len(normal.encode()), len(local) + 1 + len(found[1])) <= _MAX_LENGTH:
                return normal
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 -- on first use

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise FeedpipeError(
            f"{email!r} is not a valid email address: {exc}",
            "give an address such as reader@example.org",
        ) from exc


__all__ = ["normalize_email"]
