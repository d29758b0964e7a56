# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""`feedpipe digest ...` and `feedpipe subscribers ...` as an editor uses them (CliRunner, real store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedpipe.app import App
from feedpipe.cli.context import Context
from feedpipe.cli.digest import digest
from feedpipe.cli.subscribers import subscribers
from feedpipe.core.settings import MailSettings, OutletSettings, Settings
from feedpipe.store import Store
from tests.digest_support import SEND_AT, WEEK, digest_settings, week_store  # noqa: F401

BEFORE = SEND_AT.replace(day=25)  # Wednesday: building this week's edition


@dataclass(frozen=True)
class CliRun:
    """The digest and subscriber commands over one store, at a clock each call may move."""

    run: Callable[..., str]
    obj: Context
    tmp: Path
    store: Store


@pytest.fixture
def cli(week_store, tmp_path):
    settings = Settings(outlet=OutletSettings(public_url="https://news.example.org"), digest=digest_settings(),
                        mail=MailSettings(outbox=tmp_path / "outbox"), public_dir=tmp_path / "public")
    moment = [BEFORE]
    obj = Context(None, None, quiet=False, app=App(settings, clock=lambda: moment[0], store=week_store))
    runner = CliRunner()

    def run(group, *args, now=None):
        moment[0] = now or BEFORE
        result = runner.invoke(group, list(args), obj=obj, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return CliRun(run=run, obj=obj, tmp=tmp_path, store=week_store)


def test_subscribers_are_added_imported_listed_and_removed(cli):
    assert "added: anna@example.com (active)" in cli.run(subscribers, "add", "anna@example.com", "--name", "Anna",
                                                          "--country", "UA", "--topic", "politics")
    assert "already subscribed" in cli.run(subscribers, "add", "anna@example.com")
    csv_file = cli.tmp / "list.csv"
    csv_file.write_text("email,name,countries,topics\nben@example.com,Ben,KZ GE,\nnot-an-address,X,,\n"
                        "anna@example.com,,,\n", encoding="utf-8")
    output = cli.run(subscribers, "import", str(csv_file))  # click >= 8.2: stderr is in the output too
    assert "1 added, 1 already there, 1 skipped" in output
    assert "list.csv:3: 'not-an-address' is not a valid email address" in output
    assert cli.store.subscribers.get("ben@example.com").countries == ("GE", "KZ")
    listing = cli.run(subscribers, "list")
    assert "anna@example.com\tactive\tAnna\tUkraine; politics" in listing and "ben@example.com" in listing
    assert "removed ben@example.com" in cli.run(subscribers, "remove", "ben@example.com")
    assert cli.store.subscribers.get("ben@example.com") is None


def test_an_editor_picks_orders_and_unpicks_by_url(cli):
    exiles = "https://news.example.org/2026/11/exiles?utm_source=newsletter"  # tracking noise is ignored
    theatre = "https://news.example.org/2026/11/siberia-theatre"
    assert "2026-W48: picked #1 The Belarusian Exiles" in cli.run(digest, "pick", exiles, "--pitch", "Exile life")
    cli.run(digest, "pick", theatre)
    listing = cli.run(digest, "order", theatre, exiles)
    assert listing.index("Siberian Theatre") < listing.index("Building A Country Abroad | Exile life")
    cli.run(digest, "unpick", theatre)
    assert [p.pitch for p in cli.store.editions.picks(WEEK)] == ["Exile life"]
    picks_file = cli.tmp / "picks.txt"
    picks_file.write_text(f"# this week\n{theatre} | A theatre that stays open\n{exiles}\n", encoding="utf-8")
    listing = cli.run(digest, "picks", "--file", str(picks_file))
    assert listing.splitlines()[0] == "1. A Siberian Theatre Keeps Its Doors Open | A theatre that stays open"
    assert len(cli.store.editions.picks(WEEK)) == 2


def test_build_writes_the_web_view_and_one_eml_per_subscriber(cli):
    cli.run(subscribers, "add", "anna@example.com")
    cli.run(subscribers, "add", "ben@example.com", "--country", "KZ")
    out = cli.run(digest, "build", "--week", WEEK)
    assert (cli.tmp / "public" / "digest" / "2026-W48.html").exists()
    emls = sorted((cli.tmp / "outbox" / WEEK).glob("*.eml"))
    assert len(emls) == 2 and "2 message(s)" in out
    subjects = {message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"] for p in emls}
    assert "Example Weekly: Kazakhstan Reroutes Oil Exports" in subjects
    assert cli.store.ledger.entries(WEEK) == []  # building sends nothing


def test_preview_writes_one_email_without_opening_a_browser(cli):
    out = cli.run(digest, "preview", "--no-open", "--out", str(cli.tmp / "preview"))
    assert "subject: Example Weekly: Ukraine Says Russia" in out
    assert (cli.tmp / "preview" / "2026-W48-preview.html").read_text().startswith("<!DOCTYPE html>")


def test_send_sends_the_due_edition_once_and_uncertain_ones_are_resolved(cli):
    cli.run(subscribers, "add", "anna@example.com")
    assert "no edition is due" in cli.run(digest, "send")  # Wednesday: nothing due
    assert "dry run, 1 message(s) built" in cli.run(digest, "send", "--dry-run", now=SEND_AT)
    assert "1 sent, 0 failed" in cli.run(digest, "send", now=SEND_AT)
    assert "no edition is due" in cli.run(digest, "send", now=SEND_AT.replace(hour=6))
    assert len(list((cli.tmp / "outbox").glob("*.eml"))) == 1
    # an uncertain message, as a dropped connection would leave it
    cli.store.ledger.transition(WEEK, "anna@example.com", expect="sent", to="uncertain", now=SEND_AT)
    assert "2026-W48  anna@example.com" in cli.run(digest, "uncertain")
    assert "resolved as sent" in cli.run(digest, "resolve", "Anna@EXAMPLE.com", "--sent")  # the same person
    assert "no uncertain messages" in cli.run(digest, "uncertain")


def test_a_test_send_goes_only_to_the_given_address(cli):
    cli.run(subscribers, "add", "anna@example.com")
    assert "1 sent" in cli.run(digest, "send", "--to", "editor@example.org")
    [eml] = (cli.tmp / "outbox").glob("*.eml")
    assert message_from_bytes(eml.read_bytes(), policy=policy.default)["To"] == "editor@example.org"
    assert cli.store.ledger.entries(WEEK) == []


def test_a_dry_run_and_a_test_copy_are_separate_commands(cli):
    result = CliRunner().invoke(digest, ["send", "--dry-run", "--to", "editor@example.org"], obj=cli.obj)
    assert result.exit_code == 2 and "--dry-run and --to do not go together" in result.output
    assert not (cli.tmp / "outbox").exists() and cli.store.ledger.entries(WEEK) == []


def test_an_internationalised_address_never_stops_build_dry_run_or_send(cli):
    csv_file = cli.tmp / "list.csv"
    csv_file.write_text("email,name\nanna@example.com,Anna\nhenry@exämple.org,Henry\n", encoding="utf-8")
    assert "2 added" in cli.run(subscribers, "import", str(csv_file))
    assert "2 message(s)" in cli.run(digest, "build", "--week", WEEK)
    assert "dry run, 2 message(s) built" in cli.run(digest, "send", "--dry-run", now=SEND_AT)
    assert "2 sent, 0 failed" in cli.run(digest, "send", now=SEND_AT)


def test_one_person_is_one_subscriber_whatever_the_case_of_the_address(cli):
    for address in ("Anna@Example.ORG", "ANNA@example.org", "anna@example.org"):
        cli.run(subscribers, "add", address)
    assert cli.store.subscribers.count() == 1
    assert cli.store.subscribers.get("aNNa@EXAMPLE.org").email == "Anna@example.org"
    assert "1 sent, 0 failed" in cli.run(digest, "send", now=SEND_AT)


def test_import_reports_bad_rows_by_line_and_imports_the_good_ones_whatever_the_column_count(cli):
    csv_file = cli.tmp / "list.csv"
    csv_file.write_bytes(
        b"email,name,countries\n"
        b"anna@example.com,Anna,UA\n"
        b"ben@example.com,Smith, Ben,KZ\n"  # an unquoted comma: 4 fields
        b'cleo@example.com,"Cleo\r\nBcc: x@evil.example",GE\n'  # a quoted name over two lines
        b"dan@example.com,Dan\n"  # fewer fields than the header is fine
        b"eve@example.com,Eve,,,,\n"  # empty extra fields are fine
        b"not-an-address,X,\n"
        b"fay@example.com,F\xe4y,\n"  # not UTF-8
        b"gus@example.com,Gus,RU,extra\n"
    )
    output = cli.run(subscribers, "import", str(csv_file))
    assert "4 added, 0 already there, 4 skipped" in output
    assert "list.csv:3: 4 fields where the header names 3" in output
    assert "list.csv:8: 'not-an-address' is not a valid email address" in output  # Cleo's row has two lines
    assert "list.csv:9: not UTF-8" in output and "list.csv:10: 4 fields" in output
    emails = [s.email for s in cli.store.subscribers.all()]
    assert emails == ["anna@example.com", "cleo@example.com", "dan@example.com", "eve@example.com"]
    assert cli.store.subscribers.get("cleo@example.com").name == "Cleo Bcc: x@evil.example"
