"""The command line. Builds the real dependencies (settings, store, clock) and turns errors into
one line plus a hint and a documented exit code:

  0 success · 1 unexpected error (a bug: run with --verbose and report it) · 2 configuration or
  usage error · 3 some sources failed (the others were ingested) · 4 operational error (store,
  network or mail server unavailable)

Whatever reaches stderr (errors, hints, log lines) passes through `core.redact.redact`: a password in
`--store postgresql://user:password@host/db` is never printed. At start the CLI says once (WARNING in
`check-config` and `serve`, INFO elsewhere) that the platform has known flaws (`core.runtime`: an
old Expat, a Python without the CVE-2024-6923 fix).
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from datetime import datetime

import click

from feedpipe import __version__
from feedpipe.cli.context import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_OPERATIONAL,
    EXIT_UNEXPECTED,
    Context,
)
from feedpipe.core.errors import ConfigError, FeedpipeError
from feedpipe.core.redact import redact
from feedpipe.core.runtime import current_platform_warnings

log = logging.getLogger("feedpipe")


def _setup_logging(verbose: int, quiet: bool, log_format: str) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s UTC %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)
    logging.getLogger("feedpipe").setLevel(level)


class _TextFormatter(logging.Formatter):
    """Log lines (message and traceback) with every secret redacted; times in UTC, said so."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; `time` in UTC (ISO 8601 with Z)."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ"), "level": record.levelname,
               "logger": record.name, "message": redact(record.getMessage())}
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


# The commands that warn about the platform at WARNING; every other command says it at INFO, so that a
# cron job run every few minutes does not mail the same warning each time (`-q` silences it there).
WARN_PLATFORM_IN = ("check-config", "serve")


def _warn_about_the_platform(command: str | None) -> None:
    level = logging.WARNING if command in WARN_PLATFORM_IN else logging.INFO
    for warning in current_platform_warnings():
        log.log(level, "%s", warning)


def _error(text: str) -> None:
    click.echo(redact(text), err=True)


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """--now / FEEDPIPE_NOW: an ISO 8601 instant with its offset (a bare local time would be ambiguous)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time; e.g. 2026-11-26T18:00:00+01:00") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset; add one, e.g. 2026-11-26T18:00:00+01:00 or ...Z")
    return moment


# Every top-level command; `_load` imports a command's module when that command runs (or --help lists
# it), so that `feedpipe ingest` never loads the digest, the web side, the scheduler or the mail code.
COMMANDS = ("run", "ingest", "sources", "articles", "retag", "check-config", "tag", "feeds", "digest",
            "subscribers", "serve", "web", "schedule", "worker", "workers", "bounces", "editors")


class _Commands(click.Group):
    """The top-level group: commands are loaded by name, on first use (`_load`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            command = _load(cmd_name)
            if command is not None:
                self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config", envvar="FEEDPIPE_CONFIG", type=click.Path(dir_okay=False),
              help="Config file (default: ./config/feedpipe.toml, else built-in defaults). Env: FEEDPIPE_CONFIG.")
@click.option("--store", "store", envvar="FEEDPIPE_STORE", metavar="URL",
              help="Database URL, overriding the config (sqlite:///path.db or postgresql://...). Env: FEEDPIPE_STORE.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv includes libraries).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bar or summary.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object per log line, for services.")
@click.option("--now", "now", envvar="FEEDPIPE_NOW", metavar="ISO8601", callback=_parse_now,
              help="Set the clock of the whole run, e.g. 2026-11-26T18:00:00+01:00 (the offset is required); "
                   "time then runs on from there. Env: FEEDPIPE_NOW.")
@click.option("--allow-private-addresses", is_flag=True, envvar="FEEDPIPE_ALLOW_PRIVATE_ADDRESSES",
              help="Let fetches reach loopback, private and link-local addresses (local servers, intranet "
                   "feeds); off by default. Env: FEEDPIPE_ALLOW_PRIVATE_ADDRESSES=1.")
@click.version_option(__version__, prog_name="feedpipe")
@click.pass_context
def main(ctx: click.Context, config: str | None, store: str | None, verbose: int, quiet: bool,
         log_format: str, now: datetime | None, allow_private_addresses: bool) -> None:
    """feedpipe: ingest news from feeds, pages and files, tag it by country and topic, and publish
    RSS/Atom/JSON feeds and a weekly digest email.

    Exit codes: 0 ok, 1 unexpected error, 2 configuration or usage error, 3 some sources failed,
    4 operational error (store, network or mail server unavailable).
    """
    _setup_logging(verbose, quiet, log_format)
    _warn_about_the_platform(ctx.invoked_subcommand)
    ctx.obj = Context(config, store, quiet, now, allow_private_addresses=allow_private_addresses)
    ctx.call_on_close(ctx.obj.close)


def _load(name: str) -> click.Command | None:
    """The command `name`, its module imported now: plain imports, one branch per command module."""
    if name in ("run", "ingest", "sources", "articles", "retag", "check-config"):
        from feedpipe.cli import core  # noqa: PLC0415

        return {"run": core.run, "ingest": core.ingest, "sources": core.sources, "articles": core.articles,
                "retag": core.retag, "check-config": core.check_config}[name]
    if name == "bounces":
        from feedpipe.cli.bounces import bounces  # noqa: PLC0415

        return bounces
    if name == "digest":
        from feedpipe.cli.digest import digest  # noqa: PLC0415
        from feedpipe.cli.editors import digest_log  # noqa: PLC0415

        digest.add_command(digest_log)
        return digest
    if name == "editors":
        from feedpipe.cli.editors import editors  # noqa: PLC0415

        return editors
    if name == "feeds":
        from feedpipe.cli.feeds import feeds  # noqa: PLC0415

        return feeds
    if name in ("serve", "web", "schedule"):
        from feedpipe.cli import serve  # noqa: PLC0415

        return {"serve": serve.serve, "web": serve.web, "schedule": serve.schedule}[name]
    if name == "subscribers":
        from feedpipe.cli.subscribers import subscribers  # noqa: PLC0415

        return subscribers
    if name == "tag":
        from feedpipe.cli.tag import tag  # noqa: PLC0415

        return tag
    if name in ("worker", "workers"):
        from feedpipe.cli import workers  # noqa: PLC0415

        return {"worker": workers.worker, "workers": workers.workers}[name]
    return None


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (used by `main()` and by tests)."""
    try:
        rv = main.main(args=argv, prog_name="feedpipe", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_UNEXPECTED
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        shown = io.StringIO()
        exc.show(file=shown)
        _error(shown.getvalue().rstrip("\n"))
        return EXIT_CONFIG
    except ConfigError as exc:
        _error("error: invalid configuration:")
        for problem in exc.problems:
            _error(f"  - {problem}")
        if exc.hint:
            _error(f"hint: {exc.hint}")
        return EXIT_CONFIG
    except FeedpipeError as exc:
        _error(f"error: {exc.message}")
        if exc.hint:
            _error(f"hint: {exc.hint}")
        return EXIT_OPERATIONAL if exc.exit_code == 1 else exc.exit_code
    except OSError as exc:  # the machine refused: a path that cannot be created, a full disk, a refused socket
        log.debug("operating system error", exc_info=True)
        _error(f"error: {exc}")
        click.echo("hint: check the paths in the configuration or --store, their permissions and free space",
                   err=True)
        return EXIT_OPERATIONAL
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # the last line of defence: one line, and the traceback with --verbose
        log.debug("unexpected error", exc_info=True)
        _error(f"error: unexpected {type(exc).__name__}: {exc}")
        click.echo("hint: this is a bug in feedpipe; rerun with --verbose and report the traceback", err=True)
        return EXIT_UNEXPECTED
    return rv if isinstance(rv, int) else EXIT_OK


def cli_entry() -> None:
    sys.exit(run())

