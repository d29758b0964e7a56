"""The running application: settings, the opened store, the clock, and lazily built parts.

Built once by the CLI (or a test) and handed to the pipeline, the scheduler and the web side,
so no module reads global settings or the clock itself.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from feedpipe.core.clock import Clock, system_clock
from feedpipe.core.settings import Settings
from feedpipe.fetch import Fetcher
from feedpipe.store import Store
from feedpipe.tagging import Tagger

if TYPE_CHECKING:
    from feedpipe.mailer import Transport


class App:
    """Settings, the clock, the opened store and the parts built from them, for one process."""

    def __init__(self, settings: Settings, *, clock: Clock = system_clock,
                 store: Store | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self._store = store

    @property
    def now(self) -> datetime:
        """The current time from the injected clock (tz-aware)."""
        return self.clock()

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings.store_url, now=self.clock())
        return self._store

    @cached_property
    def tagger(self) -> Tagger:
        return Tagger.load(self.settings.tagging_dir)

    @cached_property
    def fetcher(self) -> Fetcher:
        return Fetcher(self.settings.fetch, now=self.clock)

    def transport(self) -> Transport:
        """A fresh mail transport (SMTP or outbox) from the [mail] settings."""
        from feedpipe.mailer import make_transport  # noqa: PLC0415 -- the mail side loads when mail is sent

        return make_transport(self.settings.mail)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
