"""`python -m feedpipe` is the `feedpipe` command."""

from feedpipe.cli import cli_entry

cli_entry()
