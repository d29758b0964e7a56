"""Exit codes and messages as the README documents them, one test per command:

  0 ok · 1 a bug · 2 usage, configuration or bad input · 3 some sources failed (the others were
  ingested) · 4 operational (store, network, mail server, another process holding the store's lease)

Every run is the real CLI (`feedpipe.cli.run`) on a small configuration of local files and a real
SQLite store; the messages are read as an operator reads them, on stderr.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feedpipe.cli import run
from feedpipe.cli.context import EXIT_CONFIG, EXIT_OK, EXIT_OPERATIONAL, EXIT_SOURCES_FAILED, EXIT_UNEXPECTED
from feedpipe.store import Store
from feedpipe.store.leases import make_holder

NOW = "2026-11-25T12:00:00+00:00"  # a Wednesday of 2026-W48
STORY = {"url": "https://news.example.org/2026/11/kyiv-talks", "title": "Kyiv hosts talks on grain exports",
         "body": "KYIV - Ukraine and Turkey met in Kyiv on Tuesday to discuss grain exports from Ukrainian ports. "
                 "Ukrainian officials said the talks in Kyiv went well.",
         "published": "2026-11-24T09:00:00Z"}


@pytest.fixture
def outlet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration with one file source that exists and one whose folder is missing."""
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "stories.jsonl").write_text(json.dumps(STORY) + "\n", encoding="utf-8")
    config = tmp_path / "feedpipe.toml"
    config.write_text("""
[outlet]
public_url = "https://news.example.org"
[store]
path = "var/feedpipe.db"
[mail]
outbox = "outbox"
[[sources]]
name = "local"
type = "file"
path = "articles"
""", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEEDPIPE_CONFIG", str(config))
    monkeypatch.setenv("FEEDPIPE_NOW", NOW)
    return tmp_path


def feedpipe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["-q", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def ingested(outlet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert feedpipe(capsys, "ingest")[0] == EXIT_OK


# -- usage and bad input: 2 ----------------------------------------------------------------------------


def test_an_unknown_option_is_a_usage_error(outlet, capsys):
    code, _, err = feedpipe(capsys, "articles", "--colour", "red")
    assert code == EXIT_CONFIG and "No such option '--colour'" in err


def test_subscribers_add_refuses_a_bad_address_and_an_unknown_country_with_exit_code_2(outlet, capsys):
    code, _, err = feedpipe(capsys, "subscribers", "add", "not-an-email")
    assert code == EXIT_CONFIG and "'not-an-email' is not a valid email address" in err
    code, _, err = feedpipe(capsys, "subscribers", "add", "anna@example.org", "--country", "XX")
    assert code == EXIT_CONFIG and "unknown country 'XX'" in err and "did you mean" in err
    code, _, err = feedpipe(capsys, "subscribers", "add", "anna@example.org", "--topic", "politcs")
    assert code == EXIT_CONFIG and "unknown topic 'politcs'" in err and "did you mean politics?" in err
    code, out, _ = feedpipe(capsys, "subscribers", "add", "anna@example.org", "--country", "Ukraine",
                            "--country", "kg", "--topic", "sub-elections")
    assert code == EXIT_OK and "added: anna@example.org" in out
    code, out, _ = feedpipe(capsys, "subscribers", "list")
    assert "Kyrgyzstan; Ukraine; elections" in out  # codes stored sorted, shown by name
    code, _, err = feedpipe(capsys, "subscribers", "remove", "nobody@example.org")
    assert code == EXIT_CONFIG and "nobody@example.org is not a subscriber" in err


def test_subscribers_import_reports_an_unknown_country_or_topic_per_row_and_imports_the_others(outlet, capsys):
    listing = outlet / "list.csv"
    listing.write_text("email,name,countries,topics\nanna@example.org,Anna,UA,politics\n"
                       "ben@example.org,Ben,XX,\ncleo@example.org,Cleo,,nonsense-topic\n", encoding="utf-8")
    code, out, err = feedpipe(capsys, "subscribers", "import", str(listing))
    assert code == EXIT_OK and "1 added, 0 already there, 2 skipped" in out
    assert "list.csv:3: unknown country 'XX'" in err and "list.csv:4: unknown topic 'nonsense-topic'" in err
    store = Store.open(f"sqlite:///{outlet / 'var' / 'feedpipe.db'}", now=datetime.fromisoformat(NOW))
    try:
        assert [s.email for s in store.subscribers.all()] == ["anna@example.org"]  # no one gets an empty email
        assert store.subscribers.get("anna@example.org").topics == ("medtop:11000000",)
    finally:
        store.close()


def test_articles_reads_a_country_by_name_or_code_and_refuses_an_unknown_one(outlet, capsys):
    ingested(outlet, capsys)
    for given in ("Ukraine", "ua", "UA"):
        code, out, _ = feedpipe(capsys, "articles", "--country", given, "--json")
        assert code == EXIT_OK and json.loads(out.splitlines()[0])["url"] == STORY["url"], given
    code, out, _ = feedpipe(capsys, "articles", "--country", "Ukraine")
    assert "Kyiv hosts talks" in out and "Ukraine" in out
    code, _, err = feedpipe(capsys, "articles", "--country", "Ukrain")
    assert code == EXIT_CONFIG and "unknown country 'Ukrain'" in err and "Ukraine (UA)" in err
    code, _, err = feedpipe(capsys, "articles", "--topic", "nonsense-topic")
    assert code == EXIT_CONFIG and "unknown topic 'nonsense-topic'" in err
    code, _, err = feedpipe(capsys, "articles", "--source", "locl")
    assert code == EXIT_CONFIG and "no source is named 'locl'; did you mean local?" in err
    code, _, err = feedpipe(capsys, "articles", "--since", "last tuesday")
    assert code == EXIT_CONFIG and "'last tuesday' is not a date" in err


def test_digest_pick_of_an_unknown_url_and_a_bad_week_are_bad_input(outlet, capsys):
    ingested(outlet, capsys)
    code, _, err = feedpipe(capsys, "digest", "pick", "https://news.example.org/nowhere")
    assert code == EXIT_CONFIG and "no stored article has the URL https://news.example.org/nowhere" in err
    code, _, err = feedpipe(capsys, "digest", "unpick", STORY["url"])
    assert code == EXIT_CONFIG and "is not picked for 2026-W48" in err
    code, _, err = feedpipe(capsys, "digest", "picks", "--week", "2026-W99")
    assert code == EXIT_CONFIG and "'2026-W99' is not an edition" in err
    code, _, err = feedpipe(capsys, "digest", "resolve", "anna@example.org", "--sent")
    assert code == EXIT_CONFIG and "no uncertain message to anna@example.org" in err
    code, out, _ = feedpipe(capsys, "digest", "pick", STORY["url"])
    assert code == EXIT_OK and "picked #1 Kyiv hosts talks" in out


def test_sources_resume_of_an_unknown_source_is_bad_input(outlet, capsys):
    code, _, err = feedpipe(capsys, "sources", "--resume", "nosuch")
    assert code == EXIT_CONFIG and "no source is named 'nosuch'" in err


def test_a_config_typo_gets_a_did_you_mean_and_names_its_file(outlet, capsys):
    config = outlet / "feedpipe.toml"
    config.write_text(config.read_text() + '\n[digest]\nmax_item = 5\n[feeds]\nmax_item = 5\n')
    code, _, err = feedpipe(capsys, "check-config")
    assert code == EXIT_CONFIG
    assert f"{config} [digest] max_item: unknown key; did you mean 'max_items'?" in err
    assert f"{config} [feeds] max_item: unknown key; did you mean 'max_items' in [digest]?" in err
    assert "e.g. one of" not in err  # no list of 40 keys when one is close


def test_an_error_in_the_sources_file_names_that_file(outlet, capsys):
    config = outlet / "feedpipe.toml"
    config.write_text('sources_file = "more.toml"\n' + config.read_text())
    (outlet / "more.toml").write_text('[[sources]]\nname = "wire"\ntype = "feed"\nurl = "not a url"\nintervall = 5\n')
    code, _, err = feedpipe(capsys, "check-config")
    assert code == EXIT_CONFIG
    more = outlet / "more.toml"
    assert f"{more} [[sources]] name='wire' url: 'not a url' is not an http(s) URL" in err
    assert f"{more} [[sources]] name='wire' intervall: unknown key; did you mean 'interval_minutes'?" in err
    assert f"{config} [[sources]]" not in err and f"fix the keys above in {more};" in err


# -- some sources failed: 3 ----------------------------------------------------------------------------


def test_a_missing_file_source_folder_fails_that_source_and_the_others_are_ingested(outlet, capsys):
    config = outlet / "feedpipe.toml"
    config.write_text(config.read_text() + '\n[[sources]]\nname = "gone"\ntype = "file"\npath = "missing-folder"\n')
    code, out, _ = feedpipe(capsys, "check-config")
    assert code == EXIT_OK and "warning: source gone:" in out and "missing-folder does not exist" in out
    assert run(["run"]) == EXIT_SOURCES_FAILED
    summary = capsys.readouterr().out
    assert "gone" in summary and "no such file or folder" in summary
    code, out, _ = feedpipe(capsys, "articles", "--json")
    assert code == EXIT_OK and json.loads(out.splitlines()[0])["url"] == STORY["url"]
    code, _, _ = feedpipe(capsys, "ingest", str(outlet / "also-missing"))
    assert code == EXIT_SOURCES_FAILED


# -- operational: 4 ------------------------------------------------------------------------------------


def test_a_second_run_is_told_which_process_holds_the_lease(outlet, capsys):
    ingested(outlet, capsys)
    start = datetime.fromisoformat(NOW)
    store = Store.open(f"sqlite:///{outlet / 'var' / 'feedpipe.db'}", now=start)
    try:
        holder = make_holder("serve").replace(f":{os.getpid()}:", ":1:")  # pid 1 never dies
        assert store.leases.acquire("scheduler", holder, now=start, ttl=timedelta(minutes=5))
        code, _, err = feedpipe(capsys, "run")
        assert code == EXIT_OPERATIONAL
        assert "already being run by `feedpipe serve` (pid 1 on host" in err and "since 2026-11-25 12:00 UTC" in err
        assert "stop the other process first" in err
        store.leases.release("scheduler", holder)
        other_run = make_holder("run").replace(f":{os.getpid()}:", ":1:")
        assert store.leases.acquire("scheduler", other_run, now=start, ttl=timedelta(minutes=5))
        code, _, err = feedpipe(capsys, "run")
        assert code == EXIT_OPERATIONAL and "`feedpipe run` (pid 1" in err and "wait for it" in err
        assert "stop the other `feedpipe serve`" not in err
    finally:
        store.close()


def test_a_store_that_cannot_be_opened_is_operational(outlet, capsys):
    beside_a_file = outlet / "articles" / "stories.jsonl" / "feedpipe.db"  # its folder is a file
    code, _, err = feedpipe(capsys, "--store", f"sqlite:///{beside_a_file}", "sources")
    assert code == EXIT_OPERATIONAL and err.startswith("error:") and "bug" not in err
    not_a_database = outlet / "articles" / "stories.jsonl"  # a file, but not SQLite's
    code, _, err = feedpipe(capsys, "--store", f"sqlite:///{not_a_database}", "sources")
    assert code == EXIT_OPERATIONAL and "cannot open the store" in err and "bug" not in err


# -- success and bugs: 0 and 1 -------------------------------------------------------------------------


def test_the_listing_commands_succeed(outlet, capsys):
    ingested(outlet, capsys)
    for args in (("sources",), ("articles",), ("schedule",), ("digest", "schedule"), ("digest", "picks"),
                 ("digest", "uncertain"), ("subscribers", "list"), ("feeds",), ("retag",)):
        code, _, err = feedpipe(capsys, *args)
        assert code == EXIT_OK, (args, err)


def test_only_a_bug_exits_1(outlet, capsys, monkeypatch):
    from feedpipe import pipeline

    def broken(*_args: object, **_kw: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "run_cycle", broken)
    code, _, err = feedpipe(capsys, "run")
    assert code == EXIT_UNEXPECTED and "this is a bug in feedpipe" in err


# -- messages: log times are UTC, and say so -----------------------------------------------------------


@pytest.mark.parametrize(("log_format", "stamp"), [("text", r"^\d\d:\d\d:\d\d UTC WARNING feedpipe: probe$"),
                                                   ("json", r'"time": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"')])
def test_log_lines_are_stamped_in_utc_and_say_so(outlet, capsys, monkeypatch, log_format, stamp):
    import logging
    import re
    import time

    monkeypatch.setenv("TZ", "Europe/Helsinki")  # the host's zone (EET) must not leak into the logs
    time.tzset()
    try:
        assert run(["--log-format", log_format, "sources"]) == EXIT_OK
        capsys.readouterr()
        before = time.gmtime()
        logging.getLogger("feedpipe").warning("probe")
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert re.search(stamp, line), line
    hour = int(re.search(r"(\d\d):\d\d:\d\d", line).group(1))
    assert hour in (before.tm_hour, (before.tm_hour + 1) % 24)
