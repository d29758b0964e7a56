"""The clock you can set: `--now` / FEEDPIPE_NOW, and a demo that looks the same on any date."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedpipe.cli import run
from feedpipe.cli.context import EXIT_CONFIG, EXIT_OK
from feedpipe.core.clock import clock_from

REPO = Path(__file__).resolve().parent.parent
SAMPLE_WEEK = "2026-11-26T20:00:00+01:00"  # the Makefile's DEMO_NOW: Thursday evening of 2026-W48
LIBFAKETIME = next(iter(Path("/usr/lib").glob("*/faketime/libfaketime.so.1")), None)


def test_a_set_clock_starts_where_it_is_told_and_then_runs():
    start = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
    clock = clock_from(start)
    first, second = clock(), clock()
    assert timedelta(0) <= first - start < timedelta(seconds=5)
    assert second >= first


def test_a_set_clock_needs_an_offset():
    with pytest.raises(ValueError):
        clock_from(datetime(2026, 11, 26, 19, 0))


@pytest.mark.parametrize("value, words", [
    ("2026-11-26T20:00:00", "no UTC offset"),
    ("next friday", "not an ISO 8601"),
])
def test_a_bad_now_is_a_usage_error_that_says_how_to_write_it(value, words, capsys):
    assert run(["--now", value, "check-config"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert words in err and "2026-11-26T18:00:00+01:00" in err


def _demo_copy(tmp_path: Path) -> Path:
    for part in ("config", "samples", "templates"):
        shutil.copytree(REPO / part, tmp_path / part)
    return tmp_path


def _stories(digest_html: str) -> int:
    """Story blocks in a digest web view: each ends with a "Read more" link."""
    return len(re.findall(r">\s*Read more\b[^<]*<", digest_html))


def test_the_demo_on_its_clock_carries_the_sample_weeks_stories(tmp_path, monkeypatch):
    monkeypatch.chdir(_demo_copy(tmp_path))
    monkeypatch.setenv("FEEDPIPE_NOW", SAMPLE_WEEK)
    assert run(["run"]) == EXIT_OK
    assert run(["digest", "preview", "--no-open", "--out", "outbox"]) == EXIT_OK
    (web_view,) = (tmp_path / "public" / "digest").glob("*.html")
    assert web_view.name == "2026-W48.html"
    assert _stories(web_view.read_text()) >= 5
    assert list((tmp_path / "outbox").glob("2026-W48-preview.eml"))


@pytest.mark.skipif(LIBFAKETIME is None, reason="libfaketime not installed: apt-get install -y faketime")
@pytest.mark.parametrize("system_date", ["2027-12-02 12:00:00", "2025-11-20 12:00:00"])
def test_the_demo_does_not_depend_on_the_system_date(tmp_path, system_date):
    """A year after the samples and a year before them, the demo still shows the sample week."""
    folder = _demo_copy(tmp_path)
    env = {**os.environ, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"@{system_date}",
           "FEEDPIPE_NOW": SAMPLE_WEEK, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    probe = subprocess.run([sys.executable, "-c", "import datetime; print(datetime.date.today().year)"],
                           env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == system_date[:4], "libfaketime did not take effect"
    for args in (["run"], ["digest", "preview", "--no-open", "--out", "outbox"]):
        done = subprocess.run([sys.executable, "-m", "feedpipe", *args], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    (web_view,) = (folder / "public" / "digest").glob("*.html")
    assert web_view.name == "2026-W48.html"
    assert _stories(web_view.read_text()) >= 5
