"""`feedpipe tag FILE|URL` reads as ingestion reads (same sniffing, same extractors, the configured
country), and a page source that serves a feed is ingested as a feed with a warning."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from feedpipe import ingest as ingest_service
from feedpipe.app import App
from feedpipe.cli.context import Context
from feedpipe.cli.tag import tag
from feedpipe.config import load_settings
from tests.httpfixtures import local_config

FIX = Path(__file__).parent / "fixtures"
RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbour</title><link>http://example.org/</link><description>d</description>
<item><title>Kyiv hit by drones overnight</title><link>https://example.org/a</link><guid>a</guid>
<description>Ukrainian officials said Russian drones struck Kyiv.</description></item>
</channel></rss>"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """The tagger caches its compiled gazetteer in the user's cache folder; keep tests out of it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def cli() -> click.Group:
    @click.group()
    def main() -> None:
        pass

    main.add_command(tag)
    return main


def write_config(tmp_path: Path, extra: str = "") -> Path:
    return local_config(tmp_path, f'[outlet]\ncountry = "GB"\n{extra}')


def run_tag(cfg: Path, *args: str):
    return CliRunner().invoke(cli(), ["tag", *args], obj=Context(str(cfg), None, quiet=True))


def test_tag_an_html_page_reads_the_article_not_the_markup(tmp_path):
    """The page's <title> is not the first line of markup, and `font-family: Georgia` is no country."""
    cfg = write_config(tmp_path)
    result = run_tag(cfg, str(FIX / "tag_uk_page.html"))
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.endswith(": Thousands of UK academics treated as second-class citizens")
    assert "  extractor: page" in result.output
    assert "GB United Kingdom [focus" in result.output
    assert "Georgia" not in result.output
    assert "  outlet country: GB" in result.output  # [outlet] country, no source claims the file


def test_tag_uses_the_country_of_the_source_the_file_belongs_to(tmp_path):
    folder = tmp_path / "irish"
    folder.mkdir()
    shutil.copy(FIX / "tag_uk_page.html", folder / "page.html")
    cfg = write_config(tmp_path, f'[[sources]]\nname = "irish"\ntype = "file"\npath = "{folder}"\ncountry = "IE"\n')
    result = run_tag(cfg, str(folder / "page.html"))
    assert result.exit_code == 0, result.output
    assert "  outlet country: IE" in result.output
    assert "  outlet country: IE" in run_tag(cfg, "--source-country", "ie", str(folder / "page.html")).output


def test_tag_a_url_and_a_feed_the_way_ingest_reads_them(httpserver: HTTPServer, tmp_path):
    httpserver.expect_request("/story").respond_with_data((FIX / "tag_uk_page.html").read_bytes(),
                                                          content_type="text/html; charset=utf-8")
    httpserver.expect_request("/feed").respond_with_data(RSS, content_type="application/rss+xml")
    result = run_tag(write_config(tmp_path), httpserver.url_for("/story"), httpserver.url_for("/feed"))
    assert result.exit_code == 0, result.output
    assert f"{httpserver.url_for('/story')}: Thousands of UK academics" in result.output
    assert f"{httpserver.url_for('/feed')}: Kyiv hit by drones overnight" in result.output
    assert "  extractor: feed" in result.output and "UA Ukraine [focus" in result.output


def test_tag_reports_an_unreadable_file_and_goes_on(tmp_path):
    result = run_tag(write_config(tmp_path), str(tmp_path / "missing.html"), str(FIX / "tag_uk_page.html"))
    assert result.exit_code == 2
    assert "missing.html: cannot read" in result.output
    assert "Thousands of UK academics" in result.output


def test_a_page_source_serving_a_feed_is_ingested_as_a_feed_with_a_warning(httpserver: HTTPServer, tmp_path, now,
                                                                         caplog):
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/news").respond_with_data(RSS, content_type="application/rss+xml")
    cfg = write_config(tmp_path, f'[[sources]]\nname = "harbour"\ntype = "page"\nurl = "{httpserver.url_for("/news")}"\n')
    app = App(load_settings(cfg, cwd=tmp_path), clock=lambda: now)
    with caplog.at_level(logging.WARNING):
        report = ingest_service.ingest(app, now=now)
    assert [r.status for r in report.results] == ["ok"]
    assert [a.title for a in app.store.articles.query(source="harbour")] == ["Kyiv hit by drones overnight"]
    warning = next(r.getMessage() for r in caplog.records if "serves a feed" in r.getMessage())
    assert "'harbour'" in warning and 'set type = "feed"' in warning
    app.close()
