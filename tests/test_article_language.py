"""The language of each article, end to end (issue 12): detected at ingest from a feed that declares one
language for everything, stored, filterable and shown by `feedpipe articles`, and emitted per entry
in the feeds (Atom xml:lang, RSS dc:language, JSON Feed language). The stories are invented."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree
from pytest_httpserver import HTTPServer

from feedpipe.cli import run
from feedpipe.cli.context import EXIT_OK
from feedpipe.store.migrate import all_migrations
from tests.httpfixtures import local_config

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Mixed desk</title><link>http://example.org/</link><description>d</description>
<language>en</language>
<item><title>Central bank raises rates again</title><link>https://example.org/en</link><guid>en</guid>
<pubDate>Thu, 26 Nov 2026 07:40:00 +0000</pubDate>
<description>The central bank in Ankara raised its main interest rate on Thursday, its third rise this year,
to slow inflation that has stayed above forty per cent.</description></item>
<item><title>Brasil e Argentina assinam acordo comercial</title><link>https://example.org/pt</link><guid>pt</guid>
<pubDate>Wed, 25 Nov 2026 07:40:00 +0000</pubDate>
<description>O presidente brasileiro viajou a Buenos Aires para assinar o acordo com o governo argentino. O texto
reduz tarifas sobre carros, trigo e vinho a partir do próximo ano.</description></item>
<item><title>Японія збільшить допомогу Україні</title><link>https://example.org/uk</link><guid>uk</guid>
<pubDate>Tue, 24 Nov 2026 07:40:00 +0000</pubDate>
<description>Уряд Японії оголосив про новий пакет допомоги на відбудову мостів і шкіл. Японські компанії також
постачатимуть генератори для лікарень.</description></item>
</channel></rss>"""


def write_config(tmp_path: Path, url: str) -> Path:
    return local_config(tmp_path, f'[[sources]]\nname = "mixed"\ntype = "feed"\nurl = "{url}"\n')


def test_each_article_gets_its_own_language_stored_filtered_and_published(httpserver: HTTPServer, tmp_path,
                                                                          capsys):
    httpserver.expect_request("/mixed.xml").respond_with_data(RSS, content_type="application/rss+xml")
    cfg = write_config(tmp_path, httpserver.url_for("/mixed.xml"))
    assert run(["--config", str(cfg), "--now", "2026-11-27T08:00:00+00:00", "run"]) == EXIT_OK
    capsys.readouterr()

    assert run(["--config", str(cfg), "articles", "--json"]) == EXIT_OK
    rows = {r["url"].rsplit("/", 1)[1]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {k: r["language"] for k, r in rows.items()} == {"en": "en", "pt": "pt", "uk": "uk"}
    focus = {k: {c["code"] for c in r["countries"] if c["role"] == "focus"} for k, r in rows.items()}
    assert focus == {"en": {"TR"}, "pt": {"BR", "AR"}, "uk": {"JP", "UA"}}
    assert rows["en"]["topics"] and rows["pt"]["topics"] == [] and rows["uk"]["topics"] == []

    assert run(["--config", str(cfg), "articles", "--json", "--language", "pt"]) == EXIT_OK
    assert [json.loads(line)["url"] for line in capsys.readouterr().out.splitlines()] == ["https://example.org/pt"]
    assert run(["--config", str(cfg), "articles"]) == EXIT_OK
    table = capsys.readouterr().out
    assert "lang" in table and " uk " in table

    atom = etree.parse(str(tmp_path / "public" / "feeds" / "all.atom")).getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    lang_of = {e.findtext("a:link[@rel='alternate']", namespaces=ns) or e.find("a:link", ns).get("href"):
               e.get("{http://www.w3.org/XML/1998/namespace}lang") for e in atom.iterfind("a:entry", ns)}
    assert lang_of == {"https://example.org/en": None, "https://example.org/pt": "pt",
                       "https://example.org/uk": "uk"}  # the English one inherits the feed's xml:lang
    rss = etree.parse(str(tmp_path / "public" / "feeds" / "all.rss")).getroot()
    dc = "{http://purl.org/dc/elements/1.1/}language"
    assert sorted(i.findtext(dc) or "-" for i in rss.iter("item")) == ["-", "pt", "uk"]
    items = json.loads((tmp_path / "public" / "feeds" / "all.json").read_text(encoding="utf-8"))["items"]
    assert sorted(i.get("language", "-") for i in items) == ["en", "pt", "uk"]


def test_the_language_index_migration_is_in_the_countries_range():
    mine = [m for m in all_migrations() if 320 <= m.version <= 329]
    assert [m.version for m in mine] == [320] and "language" in mine[0].name
