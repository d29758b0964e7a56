"""`feedpipe editors ...`: the accounts of the editors' desk (`/desk/`), and `feedpipe digest log`.

A password is never an argument (it would sit in the shell history and the process list): it is asked
twice on a terminal, read from standard input otherwise (one line, or two that must match), or taken
from FEEDPIPE_EDITOR_PASSWORD.
"""

from __future__ import annotations

import os
import sys

import click

from feedpipe.cli.context import Context
from feedpipe.core.errors import FeedpipeError
from feedpipe.digest.editions import edition_key, parse_key
from feedpipe.editors import add_editor, change_password, check_password
from feedpipe.store.desk import ROLES

PASSWORD_ENV = "FEEDPIPE_EDITOR_PASSWORD"


def _obj() -> Context:
    obj: Context = click.get_current_context().obj
    return obj


def _password() -> str:
    """The new password; a bad or mistyped one is a usage error (exit 2)."""
    try:
        return _read_password()
    except FeedpipeError as exc:
        raise click.UsageError(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from exc


def _read_password() -> str:
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return check_password(env)
    if sys.stdin.isatty():
        typed: str = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
        return check_password(typed)
    lines = [line.rstrip("\r\n") for line in sys.stdin.read(64 * 1024).splitlines()[:2]]
    if not lines or not lines[0]:
        raise FeedpipeError("no password on standard input",
                            f"pipe it in (one line, or twice on two lines) or set {PASSWORD_ENV}")
    if len(lines) == 2 and lines[1] and lines[1] != lines[0]:
        raise FeedpipeError("the two passwords on standard input differ", "give the same password twice")
    return check_password(lines[0])


@click.group()
def editors() -> None:
    """Accounts of the editors' desk at /desk/: editors pick, order, preview and test; admins also send
    and manage editors."""


@editors.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="editor", show_default=True,
              help="editor: pick, order, preview, send tests. admin: also send the edition.")
def add(email: str, role: str) -> None:
    """Add an editor. The password is asked twice (or read from stdin / FEEDPIPE_EDITOR_PASSWORD)."""
    obj = _obj()
    editor = add_editor(obj.store.editors, email, _password(), role=role, now=obj.now)
    click.echo(f"added {editor.email} ({editor.role})")


@editors.command("list")
def list_() -> None:
    """List the editors and their roles."""
    rows = _obj().store.editors.all()
    if not rows:
        click.echo("no editors yet: add one with `feedpipe editors add EMAIL --role admin`")
    for editor in rows:
        since = f"{editor.created_at:%Y-%m-%d}" if editor.created_at else ""
        click.echo(f"{editor.email}  {editor.role}  {since}")


@editors.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Remove an editor; their sessions end at once."""
    if not _obj().store.editors.remove(email):
        raise FeedpipeError(f"{email} is not an editor", "see `feedpipe editors list`")
    click.echo(f"removed {email}")


@editors.command("passwd")
@click.argument("email")
def passwd(email: str) -> None:
    """Set an editor's password (asked twice, or from stdin / FEEDPIPE_EDITOR_PASSWORD); their sessions end."""
    obj = _obj()
    change_password(obj.store.editors, email, _password(), now=obj.now)
    click.echo(f"password changed for {email}")


@click.command("log")
@click.option("--week", metavar="YYYY-Www", help="The edition (default: this week's).")
@click.option("--all", "every", is_flag=True, help="Every edition's log.")
def digest_log(week: str | None, every: bool) -> None:
    """Show who changed the edition and when: picks, order, pitches, tests, sends."""
    obj = _obj()
    if week:
        parse_key(week)
    key = None if every else (week or edition_key(obj.now, obj.settings.digest))
    entries = obj.store.edition_log.entries(key)
    if not entries:
        click.echo(f"{key or 'all editions'}: nothing logged yet")
    for e in entries:
        click.echo(f"{e.at:%Y-%m-%d %H:%M:%S %Z}  {e.edition}  {e.actor}  {e.action}  {e.detail}")


__all__ = ["digest_log", "editors"]
