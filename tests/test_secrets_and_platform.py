"""Secrets never reach stderr or a log line, and the CLI warns about a platform with known flaws."""

from __future__ import annotations

import importlib.util
import logging

import pytest

import feedpipe.cli as cli
import feedpipe.cli.core as cli_core
from feedpipe.cli import run
from feedpipe.cli.context import EXIT_OK, EXIT_OPERATIONAL, EXIT_UNEXPECTED
from feedpipe.core.redact import redact
from feedpipe.core.runtime import platform_warnings

SECRET = "s3cret-Pw"
STORE = f"postgresql://feedpipe:{SECRET}@127.0.0.1:1/feedpipe"  # nothing listens on port 1


@pytest.mark.parametrize(("text", "shown"), [
    (f"cannot open the store {STORE}: refused", "cannot open the store postgresql://feedpipe:***@127.0.0.1:1/feedpipe: refused"),
    (f"postgresql+psycopg://u:{SECRET}@db/x?sslmode=require", "postgresql+psycopg://u:***@db/x?sslmode=require"),
    (f"host=db user=u password={SECRET} dbname=x", "host=db user=u password=*** dbname=x"),
    (f"https://feeds.example.org/a.xml?user=u&password={SECRET}", "https://feeds.example.org/a.xml?user=u&password=***"),
    (f"smtp login failed, password: '{SECRET}'", "smtp login failed, password: '***'"),
    ("sqlite:///var/feedpipe.db and https://news.example.org:8443/a", "sqlite:///var/feedpipe.db and https://news.example.org:8443/a"),
])
def test_redact_hides_passwords_and_keeps_what_says_what_failed(text, shown):
    assert redact(text) == shown


needs_psycopg = pytest.mark.skipif(importlib.util.find_spec("psycopg") is None, reason="no PostgreSQL driver")


@needs_psycopg
def test_a_store_password_never_reaches_stderr_when_the_store_cannot_be_opened(capsys):
    assert run(["--store", STORE, "sources"]) == EXIT_OPERATIONAL
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "postgresql://feedpipe:***@127.0.0.1:1/feedpipe" in err  # the user and host stay, to say what failed


def test_a_password_never_reaches_an_unexpected_error_or_its_traceback(capsys, monkeypatch):
    def broken() -> list[str]:
        raise RuntimeError(f"lost the connection to {STORE}")

    monkeypatch.setattr(cli_core, "current_platform_warnings", broken)
    assert run(["-v", "check-config"]) == EXIT_UNEXPECTED
    err = capsys.readouterr().err
    assert "Traceback" in err and "error: unexpected RuntimeError: lost the connection to postgresql://feedpipe:***@" in err
    assert SECRET not in err


def test_check_config_and_log_lines_redact_the_store_url(capsys):
    assert run(["--store", STORE, "check-config"]) == EXIT_OK
    out = capsys.readouterr().out
    assert SECRET not in out and "store:  postgresql://feedpipe:***@127.0.0.1:1/feedpipe" in out
    logging.getLogger("feedpipe.test").warning("connecting to %s", STORE)  # the handler the CLI installed
    err = capsys.readouterr().err
    assert SECRET not in err and "connecting to postgresql://feedpipe:***@" in err


def test_platform_warnings_name_the_version_to_install():
    old = platform_warnings((3, 11, 7), (2, 5, 0))
    assert len(old) == 2
    assert "CVE-2024-6923" in old[0] and "Python 3.11.10 or later" in old[0] and "3.11.7" in old[0]
    assert "Expat 2.5.0" in old[1] and "2.6.0 or later" in old[1]
    assert platform_warnings((3, 12, 4), (2, 6, 0)) == [
        "Python 3.12.4 lacks the email header fix for CVE-2024-6923; install Python 3.12.5 or later"]
    for fixed in ((3, 11, 10), (3, 12, 5), (3, 13, 0), (3, 14, 2)):
        assert platform_warnings(fixed, (2, 6, 0)) == []
        assert platform_warnings(fixed, (2, 7, 1)) == []


def test_the_cli_warns_once_at_start_and_check_config_lists_the_warnings(capsys, monkeypatch):
    flaws = ["the XML parser is Expat 2.5.0, older than 2.6.0; install libexpat 2.6.0 or later"]
    monkeypatch.setattr(cli, "current_platform_warnings", lambda: flaws)
    monkeypatch.setattr(cli_core, "current_platform_warnings", lambda: flaws)
    assert run(["-q", "check-config"]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.err.count(flaws[0]) == 1 and "WARNING" in captured.err
    assert f"warning: {flaws[0]}" in captured.out
    monkeypatch.setattr(cli, "current_platform_warnings", lambda: [])
    monkeypatch.setattr(cli_core, "current_platform_warnings", lambda: [])
    assert run(["check-config"]) == EXIT_OK
    captured = capsys.readouterr()
    assert "warning" not in captured.out.lower() and "WARNING" not in captured.err


def test_other_commands_say_it_at_info_so_that_a_quiet_cron_job_stays_silent(capsys, monkeypatch, tmp_path):
    flaws = ["Python 3.11.7 lacks the email header fix for CVE-2024-6923; install Python 3.11.10 or later"]
    monkeypatch.setattr(cli, "current_platform_warnings", lambda: flaws)
    monkeypatch.chdir(tmp_path)
    assert run(["articles"]) == EXIT_OK
    err = capsys.readouterr().err
    assert err.count(flaws[0]) == 1 and "INFO" in err and "WARNING" not in err
    assert run(["-q", "articles"]) == EXIT_OK
    assert flaws[0] not in capsys.readouterr().err
