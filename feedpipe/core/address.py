"""Addresses as mail systems see them: the one owner of how an address is written on the wire and of
when two addresses are the same subscriber.

- The domain of an internationalised address is IDNA-encoded (`exämple.org` -> `xn--exmple-cua.org`),
  which every server and header accepts; only a non-ASCII local part needs SMTPUTF8 (RFC 6531) and
  UTF-8 headers (RFC 6532), and a server that does not offer SMTPUTF8 cannot take it at all.
- Identity: the domain is case-insensitive (DNS) and, by the policy feedpipe follows, so is the local
  part: `Anna@Example.ORG`, `ANNA@example.org` and `anna@example.org` are one subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass

import idna


def ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA 2008 with UTS 46 mapping), lowercased; None if it cannot be encoded."""
    domain = domain.strip().rstrip(".")
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        try:  # IDNA 2003 (stdlib) knows a few names IDNA 2008 refuses (symbols)
            return domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None


@dataclass(frozen=True, slots=True)
class MailAddress:
    local: str
    domain: str  # as stored (Unicode for an internationalised domain)
    domain_ascii: str | None

    @property
    def needs_smtputf8(self) -> bool:
        """Only SMTPUTF8 can carry it: a non-ASCII local part (or a domain IDNA cannot encode)."""
        return not self.local.isascii() or self.domain_ascii is None

    @property
    def ascii(self) -> str | None:
        """The all-ASCII form (IDNA domain), or None when there is none."""
        return None if self.needs_smtputf8 else f"{self.local}@{self.domain_ascii}"

    @property
    def utf8(self) -> str:
        return f"{self.local}@{self.domain}"

    def for_header(self) -> str:
        """The form for a To header: ASCII when it exists (valid everywhere), else UTF-8 (RFC 6532)."""
        return self.ascii or self.utf8

    def for_envelope(self, smtputf8: bool) -> str | None:
        """The form for MAIL FROM / RCPT TO: ASCII when it exists; UTF-8 only over SMTPUTF8; None when
        this server cannot take the address."""
        if self.ascii is not None:
            return self.ascii
        return self.utf8 if smtputf8 else None


def mail_address(address: str) -> MailAddress:
    local, _, domain = address.strip().rpartition("@")
    if not local:
        local, domain = domain, ""
    return MailAddress(local=local, domain=domain, domain_ascii=ascii_domain(domain) if domain else None)


def identity_key(address: str, *, fold_local_part: bool = True) -> str:
    """Who an address belongs to: the ASCII domain in lower case and, unless `fold_local_part` is False,
    the local part in lower case. Stored beside the address, unique: one person, one subscription."""
    found = mail_address(address)
    local = found.local.lower() if fold_local_part else found.local
    return f"{local}@{found.domain_ascii or found.domain.lower()}"
