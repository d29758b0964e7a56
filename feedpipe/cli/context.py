"""What every command shares: the exit codes and the context object that builds the App on first use."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from feedpipe.app import App
from feedpipe.config import find_config, load_settings
from feedpipe.core.clock import clock_from, system_clock
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import Settings
from feedpipe.store import Store

if TYPE_CHECKING:  # loaded by the commands that use them (an ingest needs neither)
    from feedpipe.mailer import Transport
    from feedpipe.tagging.names import TopicNames

EXIT_OK, EXIT_UNEXPECTED, EXIT_CONFIG, EXIT_SOURCES_FAILED, EXIT_OPERATIONAL = 0, 1, 2, 3, 4


class InputError(FeedpipeError):
    """What the user typed or gave is wrong (an address, a URL that names no article, a country):
    exit code 2, like a usage error. Operational failures stay FeedpipeError (exit code 4)."""

    exit_code = EXIT_CONFIG

    @classmethod
    def of(cls, exc: FeedpipeError) -> InputError:
        return cls(exc.message, exc.hint)


class Context:
    """What every command receives as `ctx.obj`: the App is built on first use, so `--help` and
    commands that need no store never open one."""

    def __init__(self, config: str | None, store: str | None, quiet: bool, now: datetime | None = None,
                 *, app: App | None = None, allow_private_addresses: bool = False) -> None:
        self.config_arg = config
        self.store_arg = store
        self.quiet = quiet
        self.now_arg = now
        self.allow_private_addresses = allow_private_addresses
        self._app: App | None = app  # given: a test, or an embedding program, built it already
        self._topics: TopicNames | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            cwd = Path.cwd()
            settings = load_settings(find_config(self.config_arg, cwd), cwd=cwd, store_override=self.store_arg)
            if self.allow_private_addresses:  # --allow-private-addresses wins over [fetch]
                settings = replace(settings, fetch=replace(settings.fetch, allow_private_addresses=True))
            self._app = App(settings, clock=clock_from(self.now_arg) if self.now_arg else system_clock)
        return self._app

    # The attributes the command modules use.
    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def now(self) -> datetime:
        return self.app.now

    @property
    def topic_names(self) -> TopicNames:
        """Topic codes and labels from the lexicon, with the outlet's overrides (read once)."""
        if self._topics is None:
            from feedpipe.tagging.names import TopicNames  # noqa: PLC0415 -- on first use

            self._topics = TopicNames.load(self.settings.tagging_dir)
        return self._topics

    def transport(self) -> Transport:
        return self.app.transport()

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
