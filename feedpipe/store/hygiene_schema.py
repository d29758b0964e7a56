"""Tables of list hygiene (migrations 350-359): the suppression list, the history of status changes, the
return-path tokens of the send, bounce and complaint events, and the webhook calls already seen.

Nothing here holds an address in the clear except `subscriber_events.email` (erased with the person)
and `return_paths.email` (erased too): the suppression list is a keyed hash (HMAC-SHA256 with the store's
own secret, kept in `meta`) of the address's identity key, so it outlives the subscriber without
keeping who they were.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from feedpipe.store.migration import Migration, create_tables
from feedpipe.store.schema import UTCDateTime, metadata

suppressions = Table(
    "suppressions",
    metadata,
    Column("key_hash", String(64), primary_key=True),  # hex HMAC-SHA256 of identity_key(address)
    Column("reason", String(16), nullable=False),  # unsubscribed | bounced | complained | removed | erased
    Column("detail", Text),  # where it came from: "one-click", "dsn 5.1.1", "arf abuse", "operator"
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

subscriber_events = Table(
    "subscriber_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64)),  # NULL once the person is erased (the count stays, the who goes)
    Column("at", UTCDateTime, nullable=False),
    Column("old_status", String(16)),
    Column("new_status", String(16)),
    Column("reason", Text, nullable=False),
)
Index("ix_subscriber_events_key", subscriber_events.c.key_hash)

return_paths = Table(
    "return_paths",
    metadata,
    Column("token", String(32), primary_key=True),  # the TOKEN of bounces+TOKEN@domain
    Column("edition", String(40), nullable=False),
    Column("email", String(320), nullable=False),  # the ledger's address
    Column("key_hash", String(64), nullable=False),
)
Index("ix_return_paths_key", return_paths.c.key_hash)

bounce_events = Table(
    "bounce_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64)),  # NULL once the person is erased
    Column("edition", String(40)),  # NULL when the report did not say which edition
    Column("kind", String(16), nullable=False),  # hard | soft | complaint
    Column("status", String(16)),  # the DSN status code (5.1.1), or the complaint's feedback type
    Column("source", String(40), nullable=False),  # dsn | arf | ses | mailgun
    Column("at", UTCDateTime, nullable=False),
    Column("ref", String(200)),  # the report's own id (Message-ID, SNS MessageId): one report counts once
)
Index("ix_bounce_events_key", bounce_events.c.key_hash, bounce_events.c.kind, bounce_events.c.at)
Index("ix_bounce_events_edition", bounce_events.c.edition, bounce_events.c.kind)
Index("ux_bounce_events_ref", bounce_events.c.ref, bounce_events.c.key_hash, unique=True)

webhook_calls = Table(
    "webhook_calls",
    metadata,
    Column("provider", String(20), primary_key=True),
    Column("call_id", String(200), primary_key=True),  # SNS MessageId, Mailgun token
    Column("at", UTCDateTime, nullable=False),
)

MIGRATIONS = [
    Migration(version=351, name="hygiene: return_paths, bounce_events, webhook_calls",
              apply=create_tables(return_paths, bounce_events, webhook_calls)),
]
