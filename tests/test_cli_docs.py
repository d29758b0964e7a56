"""Every command has help text and is documented in the README (after sqlite-utils' test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from feedpipe.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "feedpipe") -> list[tuple[str, click.Command]]:
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the top-level group loads its commands on first use
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        out.append((f"{prefix} {name}", cmd))
        if isinstance(cmd, click.Group):
            out += commands(cmd, f"{prefix} {name}")
    return out


ALL = commands(main)


def test_the_expected_commands_exist():
    names = {name for name, _ in ALL}
    for expected in ("run", "ingest", "sources", "articles", "retag", "tag", "feeds", "digest", "subscribers",
                     "serve", "web", "schedule"):
        assert f"feedpipe {expected}" in names


@pytest.mark.parametrize(("name", "cmd"), ALL, ids=[n for n, _ in ALL])
def test_every_command_has_help(name, cmd):
    assert (cmd.help or "").strip(), f"{name} has no help text"
    result = CliRunner().invoke(main, [*name.split()[1:], "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.parametrize("name", [n for n, c in ALL if n.count(" ") == 1], ids=lambda n: n)
def test_every_top_level_command_is_in_the_readme(name):
    assert f"`{name}" in README, f"README.md does not document {name}"
