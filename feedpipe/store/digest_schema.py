"""Tables of the digest side of the store: subscribers, editions, picks and the send ledger (v100+)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Connection, Index, Integer, String, Table, Text

from feedpipe.store.migration import Migration, add_column, create_tables
from feedpipe.store.schema import UTCDateTime, metadata

subscribers = Table(
    "subscribers",
    metadata,
    Column("email", String(320), primary_key=True),  # normalised by email-validator, as the subscriber wrote it
    # who the address belongs to (feedpipe.core.address.identity_key): unique, one person one subscription
    Column("address_key", String(320)),
    Column("name", Text),
    Column("status", String(16), nullable=False),  # pending | active | unsubscribed | bounced
    Column("countries", JSON, nullable=False, default=list),
    Column("topics", JSON, nullable=False, default=list),
    Column("token", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_subscribers_status", subscribers.c.status)
Index("ux_subscribers_address_key", subscribers.c.address_key, unique=True)

editions = Table(
    "editions",
    metadata,
    Column("key", String(16), primary_key=True),  # ISO week: 2026-W48
    Column("status", String(16), nullable=False),  # building | sending | sent | skipped
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("subject", Text),
    Column("lease_until", UTCDateTime),  # the sending process renews it; an expired lease may be taken over
    Column("holder", String(200)),  # the sending process (host:pid:random): taken over at once once it is dead
)

picks = Table(
    "digest_picks",
    metadata,
    Column("edition", String(16), primary_key=True),
    Column("article_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("pitch", Text),
)

send_ledger = Table(
    "send_ledger",
    metadata,
    Column("edition", String(16), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("state", String(16), nullable=False),  # pending | sending | sent | failed | uncertain
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("message_id", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    # a worker's batch of pending rows (scale-out, migration 401): held until claim_expires_at
    Column("claimed_by", String(200)),
    Column("claim_expires_at", UTCDateTime),
)
Index("ix_send_ledger_state", send_ledger.c.edition, send_ledger.c.state)

def _edition_holder(conn: Connection) -> None:
    add_column(conn, "editions", "holder", "VARCHAR(200)")


MIGRATIONS = [
    Migration(
        version=100,
        name="digest: subscribers, editions, picks, send ledger",
        apply=create_tables(subscribers, editions, picks, send_ledger),
    ),
    Migration(version=150, name="digest: editions.holder (who holds the send lease)", apply=_edition_holder),
]
