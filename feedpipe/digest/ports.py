"""What the digest services need from the outside world, as Protocols: the store methods they call
(the real `feedpipe.store.Store` satisfies them; so can a test double) and a mail transport that can
split a send in two.

The store methods are named as the store names them today; the store's split into one repository per
concept renames them here and at the call sites in `build.py` and `send.py`, nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from feedpipe.core.model import Article, Edition, Pick, Subscriber

Outcome = tuple[str, str, str | None, str | None]
"""One finished ledger row: (email, state, error, message_id)."""


class LedgerStep(Protocol):
    """One write transaction of a send: record `finished` outcomes and claim the next row (pending →
    sending); True if the claim succeeded."""

    def __call__(self, *, finished: Iterable[Outcome] = ..., claim: str | None = ..., now: datetime) -> bool: ...


class EditionStore(Protocol):
    """What loading and building an edition reads and writes: articles, picks, the edition row,
    and the subscribers to build messages for."""

    def edition(self, key: str) -> Edition | None: ...

    def ensure_edition(
        self, key: str, *, window_start: datetime | None, window_end: datetime | None, now: datetime
    ) -> Edition: ...

    def set_edition_subject(self, key: str, subject: str) -> None: ...

    def articles(self, *, since: datetime | None = None, until: datetime | None = None) -> list[Article]: ...

    def get_article(self, article_id: str) -> Article | None: ...

    def picks(self, edition: str) -> list[Pick]: ...

    def get_subscriber(self, email: str) -> Subscriber | None: ...

    def iter_subscribers(self, status: str | None = "active", batch_size: int = 500) -> Iterator[Subscriber]: ...


class LedgerStore(EditionStore, Protocol):
    """An `EditionStore` with the edition's claim (a lease) and the send ledger: what the real send uses."""

    def claim_edition(self, key: str, now: datetime, *, lease: timedelta = ...) -> bool: ...

    def renew_edition_lease(self, key: str, now: datetime, *, lease: timedelta = ...) -> bool: ...

    def release_edition(self, key: str) -> None: ...

    def finish_edition(self, key: str, status: str, *, now: datetime, subject: str | None = None) -> None: ...

    def ledger_recover(self, edition: str, *, now: datetime) -> int: ...

    def ledger_enqueue(self, edition: str, *, now: datetime) -> int: ...

    def ledger_counts(self, edition: str) -> dict[str, int]: ...

    def ledger_pending_subscribers(self, edition: str, *, after: str = "", limit: int = 500) -> list[Subscriber]: ...

    def ledger_session(self, edition: str) -> AbstractContextManager[LedgerStep]: ...

    def ledger_transition(
        self,
        edition: str,
        email: str,
        *,
        expect: str,
        to: str,
        now: datetime,
        error: str | None = None,
        message_id: str | None = None,
        count_attempt: bool = False,
    ) -> bool: ...


@runtime_checkable
class PipelinedTransport(Protocol):
    """A transport that can hand a message over (`start`) and collect the server's answer later
    (`finish`), so the next message is built while the server works (SMTP can)."""

    def start(self, message: bytes, *, sender: str, recipients: Sequence[str], message_id: str) -> None: ...

    def finish(self) -> None: ...
