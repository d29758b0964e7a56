"""What the digest services need from the outside world, as Protocols: the store methods they call
(the real `feedpipe.store.Store` satisfies them; so can a test double) and a mail transport that can
split a send in two.

The store's side is the repositories' Protocols (`feedpipe.store.protocols`); these name which
repositories each service uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from feedpipe.store.protocols import Articles, Editions, Ledger, Subscribers

Outcome = tuple[str, str, str | None, str | None]
"""One finished ledger row: (email, state, error, message_id)."""


class LedgerStep(Protocol):
    """One write transaction of a send: record `finished` outcomes and/or claim a row (pending →
    sending, written just before the message's SMTP transaction can deliver it); True if the claim
    succeeded."""

    def __call__(self, *, finished: Iterable[Outcome] = ..., claim: str | None = ..., now: datetime) -> bool: ...


class EditionStore(Protocol):
    """What loading and building an edition uses of the store: the articles, the editions (with their
    picks) and the subscribers to build messages for."""

    @property
    def articles(self) -> Articles: ...

    @property
    def editions(self) -> Editions: ...

    @property
    def subscribers(self) -> Subscribers: ...


class LedgerStore(EditionStore, Protocol):
    """An `EditionStore` with the send ledger: what the real send uses (the edition's claim, a lease,
    is on `editions`)."""

    @property
    def ledger(self) -> Ledger: ...


class ReturnPaths(Protocol):
    """The envelope sender of each message (VERP: it names the edition and the subscriber, so a bounce
    finds them again). `prepare` stores what a later bounce needs, once the ledger rows exist."""

    def prepare(self, edition: str) -> int: ...

    def sender(self, edition: str, email: str) -> str: ...


@runtime_checkable
class PipelinedTransport(Protocol):
    """A transport that can hand a message over (`start`) and collect the server's answer later
    (`finish`), so the next message is built while the server works (SMTP can)."""

    def prepare(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> None:
        """Make the next message ready (while the server still works on the one in flight)."""
        ...

    def start(self, message: bytes, *, sender: str, recipients: Sequence[str], message_id: str,
              on_start: Callable[[], bool] | None = None) -> bool:
        """Hand the message over; call `on_start` before the first byte that can deliver it, once the
        envelope is accepted (False from it abandons the message: `start` returns False)."""
        ...

    def finish(self) -> None: ...
