"""Migration 120: one person, one subscription.

Before it, `Anna@Example.ORG`, `ANNA@example.org` and `anna@example.org` could be three subscribers (and
get three copies). The migration stores each address's identity key (feedpipe.core.address.identity_key)
in `subscribers.address_key`, merges the rows that share a key, then makes the key unique.

How duplicates merge (the result is what the list would hold had identity been case-insensitive from
the start, where a second sign-up of a known address changes nothing):

- the surviving row is the one confirmed first (else created first): its address and token stay, so
  the oldest links keep working;
- `confirmed_at` and `created_at` are the earliest of the group: consent is dated from the first time;
- status is the most recent *decision* (active, unsubscribed, bounced; by `updated_at`), never a mere
  pending sign-up: a pending duplicate does not switch off a confirmed subscription, and an unsubscribe
  that came after a confirmation is honoured (sending to someone who asked to stop is the worse error);
- name, countries and topics come from the most recently updated row: the person's latest choice.

The removed rows' tokens are kept in `subscriber_token_aliases`, pointing at the survivor, so an
unsubscribe link in a copy already sent to a duplicate still works. Their send-ledger entries stay, as
they do when a subscriber is removed.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, String, Table, select

from feedpipe.core.address import identity_key
from feedpipe.store.digest_schema import subscribers
from feedpipe.store.migration import Migration, add_column
from feedpipe.store.schema import metadata

token_aliases = Table(
    "subscriber_token_aliases",
    metadata,
    Column("token", String(64), primary_key=True),  # the token of a merged duplicate
    Column("email", String(320), nullable=False),  # the subscriber it now belongs to
)



@functools.lru_cache(maxsize=4096)
def _domain_key(domain: str) -> str:
    return identity_key(f"a@{domain}").partition("@")[2]


def address_key(address: str) -> str:
    """`identity_key` of an address already normalised (`store.subscribers.normalize_email`): the same
    result, with the domain's part (IDNA for an internationalised one) worked out once per domain, as
    an import of many addresses at a few domains needs."""
    local, _, domain = address.strip().rpartition("@")
    if not local:
        return identity_key(address)
    return f"{local.lower()}@{_domain_key(domain)}"


_EARLY = datetime.min.replace(tzinfo=UTC)
_LATE = datetime.max.replace(tzinfo=UTC)


def merge_group(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The one row a group of duplicates becomes (see the module's notes)."""
    survivor = min(rows, key=lambda r: (r["confirmed_at"] or _LATE, r["created_at"] or _LATE, r["email"]))
    latest = max(rows, key=lambda r: (r["updated_at"] or _EARLY, r["email"]))
    decisions = [r for r in rows if r["status"] != "pending"]
    status = max(decisions, key=lambda r: r["updated_at"] or _EARLY)["status"] if decisions else "pending"
    confirmed = [r["confirmed_at"] for r in rows if r["confirmed_at"] is not None]
    names = [r for r in sorted(rows, key=lambda r: r["updated_at"] or _EARLY, reverse=True) if r["name"]]
    return {
        **survivor,
        "status": status,
        "name": names[0]["name"] if names else None,
        "countries": latest["countries"],
        "topics": latest["topics"],
        "created_at": min(r["created_at"] for r in rows),
        "confirmed_at": min(confirmed) if confirmed else None,
        "updated_at": max(r["updated_at"] for r in rows),
    }


def _merge_duplicates(conn: Connection) -> None:
    add_column(conn, "subscribers", "address_key", "VARCHAR(320)")
    token_aliases.create(conn, checkfirst=True)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(select(subscribers)):
        groups[identity_key(row.email)].append(dict(row._mapping))
    for key, rows in groups.items():
        merged = merge_group(rows) if len(rows) > 1 else rows[0]
        gone = [r["email"] for r in rows if r["email"] != merged["email"]]
        if gone:
            conn.execute(token_aliases.insert(), [{"token": r["token"], "email": merged["email"]}
                                                  for r in rows if r["email"] in gone])
            conn.execute(subscribers.delete().where(subscribers.c.email.in_(gone)))
        values = {k: v for k, v in merged.items() if k != "email"}
        conn.execute(subscribers.update().where(subscribers.c.email == merged["email"])
                     .values(**{**values, "address_key": key}))
    conn.exec_driver_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_subscribers_address_key ON subscribers (address_key)")


MIGRATIONS = [Migration(version=120, name="subscribers: one per address, case-insensitive (merge duplicates)",
                        apply=_merge_duplicates)]
