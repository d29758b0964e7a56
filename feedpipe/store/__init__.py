"""The store: one repository per concept over one engine, SQLite (default) or PostgreSQL, through
SQLAlchemy Core. All of feedpipe's SQL lives in this package.

`Store.open(url, now=...)` creates the database on first use, applies pending migrations and hands
out the repositories: `store.articles`, `store.sources`, `store.catalogue`, `store.subscribers`,
`store.editions`, `store.ledger`, `store.leases`, `store.meta` and `store.work` (the scale-out queue). Their Protocols (what the
services depend on) are in `feedpipe.store.protocols`; the repositories' docstrings are the contract.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from feedpipe.core.errors import StoreError
from feedpipe.store import protocols, schema
from feedpipe.store.article_write import UpsertResult
from feedpipe.store.articles import ArticleRepository
from feedpipe.store.catalogue import CatalogueSnapshot, FeedCatalogue
from feedpipe.store.engine import Database, make_engine, write_tx
from feedpipe.store.meta import MetaRepository
from feedpipe.store.migrate import migrate
from feedpipe.store.sources import SourceRepository, SourceState

if TYPE_CHECKING:
    from feedpipe.store.bounce_log import BounceLog
    from feedpipe.store.desk import EditionLogRepository, EditorRepository
    from feedpipe.store.suppression import SuppressionRepository


class Store:
    """The composition root: one engine, the repositories over it, and the database's own upkeep."""

    def __init__(self, db: Database, url: str) -> None:
        self.db = db
        self.url = url
        # Typed with their Protocols: mypy checks here (and in the properties below) that every
        # repository conforms.
        self.articles: protocols.Articles = ArticleRepository(db)
        self.sources: protocols.Sources = SourceRepository(db)
        self.catalogue: protocols.Catalogue = FeedCatalogue(db)
        self.meta: protocols.Meta = MetaRepository(db)

    # The other repositories are built, and their modules imported, on first use: a run that only
    # ingests (or only publishes) never loads the subscriber, mail and queue side (email-validator...).

    @cached_property
    def subscribers(self) -> protocols.Subscribers:
        from feedpipe.store.subscribers import SubscriberRepository  # noqa: PLC0415 -- on first use

        return SubscriberRepository(self.db)

    @cached_property
    def editions(self) -> protocols.Editions:
        from feedpipe.store.editions import EditionRepository  # noqa: PLC0415 -- on first use

        return EditionRepository(self.db)

    @cached_property
    def ledger(self) -> protocols.Ledger:
        from feedpipe.store.ledger import SendLedger  # noqa: PLC0415 -- on first use

        return SendLedger(self.db)

    @cached_property
    def leases(self) -> protocols.Leases:
        from feedpipe.store.leases import LeaseRepository  # noqa: PLC0415 -- on first use

        return LeaseRepository(self.db)

    @cached_property
    def work(self) -> protocols.Work:
        from feedpipe.store.work import WorkQueue  # noqa: PLC0415 -- on first use

        return WorkQueue(self.db)

    @cached_property
    def editors(self) -> EditorRepository:
        """The editors' desk: accounts and sessions."""
        from feedpipe.store.desk import EditorRepository  # noqa: PLC0415 -- on first use

        return EditorRepository(self.db)

    @cached_property
    def edition_log(self) -> EditionLogRepository:
        """Who changed which edition, and when."""
        from feedpipe.store.desk import EditionLogRepository  # noqa: PLC0415 -- on first use

        return EditionLogRepository(self.db)

    @cached_property
    def suppressions(self) -> SuppressionRepository:
        """List hygiene: suppression list, remove, erase, export."""
        from feedpipe.store.suppression import SuppressionRepository  # noqa: PLC0415 -- on first use

        return SuppressionRepository(self.db)

    @cached_property
    def bounces(self) -> BounceLog:
        """Return path tokens, bounce and complaint events, webhook replay guard."""
        from feedpipe.store.bounce_log import BounceLog  # noqa: PLC0415 -- on first use

        return BounceLog(self.db)

    @classmethod
    def open(cls, url: str, *, now: datetime) -> Store:
        """Open (creating on first use) the database at `url` and bring its schema up to date."""
        engine = make_engine(url)
        try:
            with write_tx(engine) as conn:
                migrate(conn, now)
        except DatabaseError as exc:  # OperationalError (server down, locked) or not a database at all
            raise StoreError(
                f"cannot open the store {url}: {exc.orig}",
                "check the --store URL / FEEDPIPE_STORE, that the folder is writable and the server is up",
            ) from exc
        return cls(Database(engine), url)

    @property
    def is_sqlite(self) -> bool:
        return self.db.is_sqlite

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Every write of this thread inside the block in one transaction, committed at its end (or
        none of it, on an error): each repository call is still atomic on its own (a SAVEPOINT)."""
        return self.db.batch()

    def close(self) -> None:
        self.db.engine.dispose()

    def integrity_ok(self) -> bool:
        """SQLite's own check; other databases look after themselves."""
        if not self.is_sqlite:
            return True
        with self.db.read() as conn:
            return bool(conn.execute(text("PRAGMA integrity_check")).scalar() == "ok")

    def schema_versions(self) -> list[int]:
        with self.db.read() as conn:
            return list(conn.execute(select(schema.schema_migrations.c.version)).scalars())


__all__ = [
    "ArticleRepository",
    "CatalogueSnapshot",
    "FeedCatalogue",
    "MetaRepository",
    "SourceRepository",
    "SourceState",
    "Store",
    "UpsertResult",
]
