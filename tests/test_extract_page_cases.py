"""Page extraction, case by case, on small pages written for these tests: cookie notices, repeated
headlines, site names in titles, places in author lists, the metadata fallback, a page URL serving a feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedpipe.core.errors import ExtractError
from feedpipe.extract import parse_page, read_document
from feedpipe.extract.bylines import byline_authors, clean_authors, is_role_line
from feedpipe.extract.titles import clean_title

FIX = Path(__file__).parent / "fixtures"
URL = "https://www.dw.com/fr/les-abeilles/a-1"
BODY = [
    "The harbour authority said on Monday that the new breakwater would be finished before the winter storms, "
    "two years later than planned and at almost twice the cost first announced to the council.",
    "Engineers blamed the delay on the granite blocks, which had to be shipped from a quarry in the north after "
    "the local one flooded, and on a long dispute with the contractor over the depth of the foundations.",
    "Fishermen who moor inside the harbour welcomed the news but said the work had already cost them a season, "
    "and asked the authority to waive this year's mooring fees for every boat that had to move.",
]


def page(*, head: str = "", top: str = "", paragraphs: list[str] = BODY, end: str = "") -> bytes:
    paras = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body><main><article>{top}"
            f"{paras}{end}</article></main></body></html>").encode()


def test_cookie_banner_is_not_the_first_paragraph():
    a = parse_page((FIX / "extract_page_consent_fr.html").read_bytes(), URL, source="dw")
    assert a.text.startswith("Après trois hivers difficiles")
    assert "cookies" not in a.text.casefold()  # the marked-up banner and the unmarked German notice
    assert "Nous utilisons" not in a.content_html


def test_headline_repeated_in_the_body_is_dropped():
    a = parse_page((FIX / "extract_page_consent_fr.html").read_bytes(), URL, source="dw")
    assert a.title == "Les abeilles reviennent dans les vergers du Limousin"
    assert a.title not in a.text


def test_title_loses_the_site_name_and_date():
    a = parse_page((FIX / "extract_page_consent_fr.html").read_bytes(), URL, source="dw")
    assert "DW" not in a.title and "2026" not in a.title
    assert clean_title("Flood defences fail in York - BBC News", sitename="BBC News", hostname="www.bbc.co.uk") \
        == "Flood defences fail in York"
    assert clean_title("Masks stolen from Kobe hospital | The Japan Times", sitename="The Japan Times",
                       hostname="www.japantimes.co.jp") == "Masks stolen from Kobe hospital"
    assert clean_title("Fronten verhärtet - SAT.1 REGIONAL", sitename="SAT.1 REGIONAL",
                       hostname="www.sat1regional.de") == "Fronten verhärtet"
    # a dash inside the headline is the headline's own
    assert clean_title("Brexit - what happens next", sitename="BBC News", hostname="bbc.com") \
        == "Brexit - what happens next"


def test_a_cms_name_is_no_title():
    html = page(head="<title>escenic</title><meta property='og:title' content='Plumber jailed after boiler leak'>")
    assert parse_page(html, "https://news.example.org/a", source="t").title == "Plumber jailed after boiler leak"


def test_places_and_the_outlet_are_not_authors():
    assert clean_authors("SPIEGEL ONLINE; Hamburg; Germany", sitename="SPIEGEL ONLINE, Hamburg, Germany",
                         hostname="spiegel.de")[0] == []
    assert clean_authors("Markus M Haefliger; London; Beat Bumbacher", sitename="Neue Zürcher Zeitung",
                         hostname="nzz.ch")[0] == ["Markus M Haefliger", "Beat Bumbacher"]
    assert clean_authors("Medellín Hora De Publicación Del Artículo", sitename="El Tiempo",
                         hostname="eltiempo.com")[0] == []
    assert clean_authors("Isabel Caro; Rocío Latorre y José Miguel Wilson Tiempo de lectura", sitename="La Tercera",
                         hostname="latercera.com")[0] == ["Isabel Caro", "Rocío Latorre", "José Miguel Wilson"]
    assert clean_authors("Rob Picheta; CNN", sitename="CNN", hostname="cnn.com")[0] == ["Rob Picheta"]
    assert clean_authors("David Walsh", sitename="DW.COM", hostname="dw.com")[0] == ["David Walsh"]
    assert clean_authors("Ana Heim", sitename=None, hostname=None)[0] == ["Ana Heim"]  # no "Anaheim"
    assert clean_authors("Tagesschau De", sitename="tagesschau.de", hostname="tagesschau.de")[0] == []


def test_place_names_in_the_author_meta_of_a_page():
    html = page(head="<meta name='author' content='SPIEGEL ONLINE, Hamburg, Germany'>"
                     "<meta property='og:site_name' content='SPIEGEL ONLINE'>")
    assert parse_page(html, "https://www.spiegel.de/a", source="s").authors == ()
    html = page(head="<meta name='author' content='Ana Lima, Lisbon'>")
    assert parse_page(html, "https://news.example.org/a", source="s").authors == ("Ana Lima",)


def test_a_byline_in_the_body_names_the_authors_and_leaves_the_text():
    a = parse_page((FIX / "extract_page_consent_fr.html").read_bytes(), URL, source="dw")
    assert a.authors == ("Marie Lefèvre",)  # the meta tag said "Deutsche Welle"
    assert "Auteur" not in a.text
    assert byline_authors("Von Volkmar Kabisch, Jan Lukas Strozyk und Benedikt Strunz, NDR", sitename="tagesschau.de",
                          hostname="tagesschau.de") == ["Volkmar Kabisch", "Jan Lukas Strozyk", "Benedikt Strunz", "NDR"]
    assert byline_authors("By the time the rain stopped, the river had risen", sitename=None, hostname=None) is None


def test_json_ld_article_body_stands_in_for_a_page_rendered_by_javascript():
    ld = {"@context": "https://schema.org", "@type": "OpinionNewsArticle", "headline": "Lam should read Tsai",
          "author": {"@type": "Person", "name": "Alice Wu"}, "articleBody": "\n".join(BODY)}
    html = (f"<html><head><title>Lam should read Tsai</title><script type='application/ld+json'>{json.dumps(ld)}"
            "</script></head><body><div id='app'></div><figure><figcaption>Tsai Ing-wen speaks in Taipei. "
            "Photo: AP</figcaption></figure></body></html>").encode()
    a = parse_page(html, "https://www.scmp.com/comment/opinion/article/1/x", source="scmp")
    assert a.text.split("\n\n") == BODY
    assert a.extra["extracted_from"] == "json-ld:articleBody"
    assert a.title == "Lam should read Tsai"


def test_og_description_when_the_page_has_no_text_at_all():
    html = (b"<html><head><meta property='og:title' content='Harbour wall finished at last'>"
            b"<meta property='og:description' content='The breakwater is done, two years late.'></head>"
            b"<body><div id='root'></div></body></html>")
    a = parse_page(html, "https://news.example.org/harbour", source="t")
    assert a.title == "Harbour wall finished at last"
    assert a.text == "The breakwater is done, two years late."
    assert a.extra["extracted_from"] == "og:description"


def test_a_page_with_nothing_names_what_it_found():
    html = b"<html><head><meta property='og:title' content='Live: markets'></head><body><div id='x'></div></body></html>"
    with pytest.raises(ExtractError) as err:
        parse_page(html, "https://news.example.org/live", source="t")
    assert "https://news.example.org/live" in err.value.message
    assert "og:title" in err.value.message and "rendered by JavaScript" in err.value.hint


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour news</title><link>https://h.example/</link>
<description>d</description><item><title>Breakwater finished</title><link>https://h.example/a</link>
<description>Two years late.</description></item></channel></rss>"""


def test_a_page_source_that_serves_a_feed_is_read_as_a_feed_with_a_note():
    found = read_document(RSS, "https://h.example/news", source="harbour", expected="page")
    assert found.kind == "feed"
    assert [a.title for a in found.articles] == ["Breakwater finished"]
    [note] = found.notes
    assert "'harbour'" in note and 'type = "feed"' in note
    assert read_document(RSS, "https://h.example/news", source="harbour").notes == []  # sniffed: nothing to say


def test_an_authors_role_line_and_run_on_headlines_of_other_stories_are_dropped():
    html = page(paragraphs=[BODY[0], "Redakteur in der Wirtschaft.", BODY[1],
                            "-Harbour fees rise again this spring-Ferry strike ends after nine days-New lighthouse "
                            "keeper starts work", BODY[2]])
    a = parse_page(html, "https://news.example.org/a", source="t")
    assert a.text.split("\n\n") == BODY
    assert is_role_line("Corresponsal en Bruselas") and not is_role_line("Editors said the harbour would reopen soon, "
                                                                         "after two years of delays and disputes.")
