"""What the services depend on: one `typing.Protocol` per repository of the store.

A service types its dependency as the narrow Protocol it uses (`Articles`, `Ledger`, ...); the
repositories in this package implement them (`Store.__init__` assigns each repository to an
attribute typed with its Protocol, so mypy checks that they conform), and a test double implements
the same Protocol. The contract of each method is the docstring of the repository that implements it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Article, Edition, LedgerEntry, Pick, Subscriber
from feedpipe.store.article_write import UpsertResult
from feedpipe.store.catalogue import FeedKey
from feedpipe.store.sources import SourceState

if TYPE_CHECKING:  # (types only: a run that never uses these repositories does not import them)
    from feedpipe.store.leases import JobRun, Lease
    from feedpipe.store.ledger import LedgerStep
    from feedpipe.store.subscribers import NewSubscriber
    from feedpipe.store.work import Task, WorkerInfo


class Articles(Protocol):
    """Stored articles: upsert, reads with filters, the tag index. Implemented by `ArticleRepository`."""

    def upsert(self, items: Iterable[Article], *, now: datetime) -> UpsertResult: ...

    def upsert_each(self, items: Iterable[Article], *, now: datetime) -> tuple[UpsertResult, list[str]]: ...

    def upsert_groups(self, groups: Iterable[Iterable[Article]], *, now: datetime, sources: Sequence[str] = ()
                      ) -> Iterator[tuple[UpsertResult, list[str]]]: ...

    def get(self, article_id: str) -> Article | None: ...

    def by_url(self, canonical_url: str) -> Article | None: ...

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        country: str | None = None,
        country_role: str | None = None,
        topic: str | None = None,
        section: str | None = None,
        ids: Iterable[str] | None = None,
        limit: int | None = None,
        language: str | None = None,
    ) -> list[Article]: ...

    def iter_batches(self, batch_size: int = 500) -> Iterator[list[Article]]: ...

    def count(self, source: str | None = None) -> int: ...

    def tag_codes(self, kind: str, *, role: str | None = None) -> list[str]: ...


class Sources(Protocol):
    """Per-source fetch state (validators for conditional GET, status, counts). Implemented by `SourceRepository`."""

    def state(self, name: str) -> SourceState | None: ...

    def states(self) -> list[SourceState]: ...

    def record_fetch(
        self,
        *,
        name: str,
        kind: str,
        location: str,
        now: datetime,
        status: str,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        retry_after_until: datetime | None = None,
        ttl_minutes: int | None = None,
        new: int = 0,
        updated: int = 0,
        unchanged: int = 0,
        failed: int = 0,
        pause_after: int = 0,
    ) -> SourceState: ...

    def resume(self, name: str) -> SourceState | None: ...


class FeedSnapshot(Protocol):
    """Catalogue reads inside one read transaction (one build sees one snapshot). Implemented by
    `CatalogueSnapshot`."""

    def count_articles(self) -> int: ...

    def tag_stats(
        self, kind: str, role: str | None = None, *, labels: bool = True
    ) -> tuple[dict[str, str], dict[str, int]]: ...

    def newest_ids(
        self, kind: str, code: str, limit: int, *, tagged: int | None = None, total: int | None = None
    ) -> list[str]: ...

    def newest_articles(
        self,
        kind: str,
        code: str,
        limit: int,
        cache: dict[str, Article] | None = None,
        *,
        tagged: int | None = None,
        total: int | None = None,
    ) -> list[Article]: ...


class Catalogue(Protocol):
    """The feeds the stored tags call for, their newest entries, and the dirty-feed keys. Implemented by `FeedCatalogue`."""

    def snapshot(self) -> AbstractContextManager[FeedSnapshot]: ...

    def dirty_keys(self) -> dict[FeedKey, int]: ...

    def clear_dirty(self, keys: dict[FeedKey, int] | Iterable[FeedKey]) -> None: ...


class Subscribers(Protocol):
    """The mailing list. Implemented by `SubscriberRepository`."""

    def add(
        self,
        email: str,
        *,
        name: str | None = None,
        status: str = "pending",
        countries: Iterable[str] = (),
        topics: Iterable[str] = (),
        now: datetime,
        opt_in: bool = False,
    ) -> Subscriber: ...

    def add_many(self, items: Sequence[NewSubscriber], *, now: datetime) -> list[bool | FeedpipeError]: ...

    def get(self, email: str) -> Subscriber | None: ...

    def by_token(self, token: str) -> Subscriber | None: ...

    def set_status(self, email: str, status: str, *, now: datetime, reason: str = "",
                   opt_in: bool = False) -> Subscriber: ...

    def set_preferences(
        self, email: str, *, countries: Iterable[str], topics: Iterable[str], now: datetime
    ) -> Subscriber: ...

    def all(self, status: str | None = None) -> list[Subscriber]: ...

    def iter(self, status: str | None = "active", batch_size: int = 500) -> Iterator[Subscriber]: ...

    def pages(self, status: str | None = None, batch_size: int = 1000) -> Iterator[list[Subscriber]]: ...

    def count(self, status: str | None = None) -> int: ...

    def remove(self, email: str) -> bool: ...


class Editions(Protocol):
    """Editions of the digest (with the sender's lease) and the editor's picks. Implemented by `EditionRepository`."""

    def get(self, key: str) -> Edition | None: ...

    def all(self, status: str | None = None) -> list[Edition]: ...

    def ensure(
        self, key: str, *, window_start: datetime | None, window_end: datetime | None, now: datetime
    ) -> Edition: ...

    def claim(
        self, key: str, now: datetime, *, lease: timedelta = timedelta(minutes=10), holder: str | None = None
    ) -> bool: ...

    def renew(
        self, key: str, now: datetime, *, lease: timedelta = timedelta(minutes=10), holder: str | None = None
    ) -> bool: ...

    def release(self, key: str, holder: str | None = None) -> None: ...

    def finish(self, key: str, status: str, *, now: datetime, subject: str | None = None) -> None: ...

    def set_subject(self, key: str, subject: str) -> None: ...

    def pick(self, edition: str, article_id: str, pitch: str | None = None) -> Pick: ...

    def unpick(self, edition: str, article_id: str) -> bool: ...

    def order(self, edition: str, article_ids: Iterable[str]) -> list[Pick]: ...

    def picks(self, edition: str) -> list[Pick]: ...


class Ledger(Protocol):
    """The exactly-once send ledger. Implemented by `SendLedger`."""

    def enqueue(self, edition: str, *, now: datetime) -> int: ...

    def pending(self, edition: str, *, after: str = "", limit: int = 500) -> list[str]: ...

    def transition(
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

    def pending_subscribers(self, edition: str, *, after: str = "", limit: int = 500,
                            claimed_by: str | None = None) -> list[Subscriber]: ...

    def session(self, edition: str) -> AbstractContextManager[LedgerStep]: ...

    def claim(self, edition: str, email: str, *, now: datetime) -> bool: ...

    def recover(self, edition: str, *, now: datetime) -> int: ...

    def entries(self, edition: str | None = None, state: str | None = None) -> list[LedgerEntry]: ...

    def entry(self, edition: str, email: str) -> LedgerEntry | None: ...

    def counts(self, edition: str) -> dict[str, int]: ...

    def uncertain(self, edition: str | None = None) -> list[LedgerEntry]: ...

    def resolve(self, edition: str, email: str, state: str, *, now: datetime) -> bool: ...


class Leases(Protocol):
    """Leases on the scheduled work, and job runs (one per slot). Implemented by `LeaseRepository`."""

    def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool: ...

    def renew(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool: ...

    def release(self, name: str, holder: str) -> bool: ...

    def get(self, name: str) -> Lease | None: ...

    def claim_job_run(
        self,
        job: str,
        slot: str,
        *,
        holder: str,
        now: datetime,
        stale_after: timedelta | None = None,
    ) -> bool: ...

    def finish_job_run(
        self,
        job: str,
        slot: str,
        *,
        holder: str,
        now: datetime,
        status: str = "ok",
        detail: str | None = None,
    ) -> None: ...

    def job_run(self, job: str, slot: str) -> JobRun | None: ...

    def job_runs(self, job: str | None = None, *, limit: int = 50) -> list[JobRun]: ...


class Work(Protocol):
    """The scale-out queue: workers, tasks, batches of a send, the shared rate. Implemented by `WorkQueue`."""

    def heartbeat(self, holder: str, *, role: str, now: datetime, doing: str | None = None) -> None: ...

    def unregister(self, holder: str) -> None: ...

    def workers(self, *, now: datetime, live_within: timedelta) -> list[WorkerInfo]: ...

    def enqueue(self, kind: str, key: str, *, now: datetime, host: str | None = None) -> bool: ...

    def claim_task(self, holder: str, *, now: datetime, ttl: timedelta, kinds: Iterable[str]) -> Task | None: ...

    def enqueue_many(self, kind: str, items: Iterable[tuple[str, str | None]], *, now: datetime) -> list[str]: ...

    def finish_task(self, task_id: int, holder: str, *, now: datetime, outcome: str) -> bool: ...

    def renew(self, holder: str, *, now: datetime, ttl: timedelta) -> None: ...

    def release(self, holder: str) -> int: ...

    def open_tasks(self) -> list[Task]: ...

    def prune_tasks(self, *, before: datetime) -> int: ...

    def claim_ledger_batch(self, edition: str, holder: str, *, now: datetime, ttl: timedelta,
                           limit: int) -> tuple[list[str], int]: ...

    def queued_editions(self) -> list[str]: ...

    def ledger_claims(self, edition: str) -> dict[str, int]: ...

    def unclaimed_work(self, edition: str) -> int: ...

    def take_tokens(self, name: str, want: int, *, rate: float, burst: float, now: datetime) -> tuple[int, float]: ...


class Meta(Protocol):
    """The store's own key-value bookkeeping. Implemented by `MetaRepository`."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str | None) -> None: ...
