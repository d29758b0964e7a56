# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""What goes into an edition and how it looks: selection, HTML and text, the web view, valid markup."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest

from feedpipe.core.model import Article, Subscriber
from feedpipe.core.text import one_line
from feedpipe.digest.build import build_edition, load_edition
from feedpipe.digest.message import as_bytes, build_message, message_bytes
from feedpipe.digest.render import safe_url, short_summary
from feedpipe.digest.select import select
from feedpipe.feeds import topic_slug
from tests.digest_support import SEND_AT, WEEK, digest_settings, week_of_articles, week_store  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
VNU = REPO / "tests" / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
FEEDS = "https://news.example.org/feeds"


def by_slug(articles: list[Article], name: str) -> Article:
    return next(a for a in articles if a.url.endswith("/" + name))


def test_picks_come_first_then_a_balanced_ranking_within_section_limits():
    articles = week_of_articles()
    exiles = by_slug(articles, "exiles")
    settings = digest_settings(max_items=8, section_limits={"news": 3, "analysis": 1, "feature": 2, "opinion": 1})
    chosen = select(articles, [(exiles, "Life in exile")], settings, SEND_AT)
    assert chosen.lead.article == exiles and chosen.lead.pitch == "Life in exile"
    sections = [i.section for i in chosen.items]
    assert len(chosen.items) == 7  # the limits allow 3 + 1 + 2 + 1 before max_items is reached
    assert sections.count("news") == 3 and sections.count("analysis") == 1 and sections.count("feature") == 2
    # the freshest story leads the ranked part; a second Ukraine/Russia war story is not next to it
    assert chosen.ranked[0].article.url.endswith("belarus-strikes")
    assert not chosen.ranked[1].article.url.endswith("grain-deal")


def test_a_personal_selection_filters_by_country_or_topic_and_keeps_the_picks():
    articles = week_of_articles()
    theatre = by_slug(articles, "siberia-theatre")
    personal = select(articles, [(theatre, None)], digest_settings(), SEND_AT, countries=["GE"], topics=["economy"])
    urls = [i.article.url.rsplit("/", 1)[1] for i in personal.items]
    assert urls[0] == "siberia-theatre"  # picked for everyone
    assert set(urls[1:]) == {"tbilisi-protest"}  # Georgia; "economy" matches no slug or code exactly
    by_code = select(articles, [], digest_settings(), SEND_AT, topics=["medtop:04000000"])
    assert {i.article.url.rsplit("/", 1)[1] for i in by_code.items} == {
        "ruble-slide", "grain-deal", "kazakh-oil", "sanctions-analysis"}


def test_small_helpers_keep_text_and_links_safe():
    assert topic_slug("medtop:16000000", "Conflict, war and peace") == "conflict-war-and-peace"
    assert topic_slug("sub:sanctions", "sanctions") == "sub-sanctions"  # the same path as the feed
    assert safe_url("javascript:alert(1)") is None and safe_url("https://x.example/a") == "https://x.example/a"
    assert short_summary("One. Two! Three?") == "One. Two!"
    assert short_summary("word " * 200).endswith("…") and len(short_summary("word " * 200)) <= 300


def test_the_email_has_every_block_and_the_text_part_every_url(week_store):
    articles = week_of_articles()
    week_store.editions.pick(WEEK, by_slug(articles, "exiles").id, "How Belarusians abroad keep a country alive")
    loaded = load_edition(week_store, digest_settings(), WEEK, SEND_AT, feeds_public_url=FEEDS)
    reader = Subscriber(email="anna@example.com", name="Anna & Co", status="active", token="tok-123")
    msg = build_message(loaded.rendered(loaded.general), reader, loaded.settings, edition=WEEK,
                        links=loaded.links, now=SEND_AT)
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()

    assert "Dear Anna &amp; Co," in html and "Dear Anna & Co," in text
    assert re.search(r'<div class="preheader"[^>]*>Ukraine Says Russia', html.replace("\n", " ")) is None
    assert 'class="preheader"' in html and "display: none" in html  # hidden preview text
    assert "The Belarusian Exiles Building A Country Abroad" in html and "By Anna Petrova" in html
    assert "How Belarusians abroad keep a country alive" in html  # the pitch
    assert 'alt="Photo: Ukraine Says Russia Aiming To Drag Belarus Into War After Strikes"' in html
    assert "Did someone forward this email to you?" in html and "every Friday" in html
    assert "A message from The Example Times" in html and "Once · Monthly · Annual" in html
    assert 'href="https://news.example.org/privacy"' in html
    assert 'href="https://news.example.org/unsubscribe/tok-123"' in html
    # labels and the by-country / by-topic block link to the matching feeds
    assert 'href="https://news.example.org/feeds/country/by.atom"' in html
    assert 'href="https://news.example.org/feeds/topic/conflict-war-and-peace.atom"' in html
    assert "@media only screen and (max-width: 620px)" in html  # kept for phones
    assert "prefers-color-scheme: dark" in html
    assert 'style="' in html and "<style>" in html  # inlined, with the media queries left in <style>
    # the text part carries every article of the edition with its URL
    for item in loaded.general.items:
        assert item.article.url in text
    assert "https://news.example.org/feeds/country/ua.atom" in text
    assert "Unsubscribe: https://news.example.org/unsubscribe/tok-123" in text


def test_header_values_never_carry_a_line_break(week_store):
    articles = week_of_articles()
    evil = replace(articles[0], title="Hello\r\nBcc: x@evil.example\u2028X-Evil: 1")
    week_store.articles.upsert([evil], now=SEND_AT)
    week_store.editions.pick(WEEK, evil.id)
    settings = digest_settings(title="Weekly\nInjected: 1", reply_to="editors@news.example.org")
    loaded = load_edition(week_store, settings, WEEK, SEND_AT, feeds_public_url=FEEDS)
    reader = Subscriber(email="anna@example.com", name="Anna\nCc: z@evil.example", status="active", token="t")
    raw = as_bytes(build_message(loaded.rendered(loaded.general), reader, settings, edition=WEEK,
                                 links=loaded.links, now=SEND_AT))
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0] for line in head.split("\r\n") if line and not line[0].isspace()]
    assert "Bcc" not in names and "Cc" not in names and "X-Evil" not in names and "Injected" not in names
    assert "Subject: Weekly Injected: 1: Hello Bcc: x@evil.example X-Evil: 1" in head


ENCODED_CRLF = "=?UTF-8?Q?Hi=0D=0ABcc:_x@evil.example?="


def parsed_back(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_an_encoded_word_in_a_title_is_text_in_the_subject_never_a_line_break(week_store):
    articles = week_of_articles()
    title = f"Kyiv {ENCODED_CRLF}"
    evil = replace(articles[0], title=title)
    week_store.articles.upsert([evil], now=SEND_AT)
    week_store.editions.pick(WEEK, evil.id)
    settings = digest_settings(title=f"Weekly {ENCODED_CRLF}")
    loaded = load_edition(week_store, settings, WEEK, SEND_AT, feeds_public_url=FEEDS)
    reader = Subscriber(email="anna@example.com", name="Anna", status="active", token="t")
    raw = as_bytes(build_message(loaded.rendered(loaded.general), reader, settings, edition=WEEK,
                                 links=loaded.links, now=SEND_AT))
    msg = parsed_back(raw)
    assert "Bcc" not in msg and msg.get_all("Bcc") is None
    assert msg["Subject"] == f"Weekly {ENCODED_CRLF}: {title}"  # decoded: exactly the text it was
    assert msg["List-Id"] == f"Weekly {ENCODED_CRLF} <weekly.news.example.org>"  # an encoded phrase, then the id
    again = parsed_back(msg.as_bytes())  # and it stays text when the message is written once more
    assert "Bcc" not in again and again["Subject"] == msg["Subject"]


@pytest.mark.parametrize("name", [f"Ann {ENCODED_CRLF}", f"Ann =?UTF-8?B?{'DQpDYzogeUBldmlsLmV4YW1wbGU='}?=",
                                  "Ännä \"the\" <boss> =?x?Q?y?=", "Anna & Co"])
def test_a_subscriber_name_is_a_display_name_never_a_header(week_store, name):
    loaded = load_edition(week_store, digest_settings(), WEEK, SEND_AT, feeds_public_url=FEEDS)
    reader = Subscriber(email="anna@example.com", name=name, status="active", token="t")
    raw = as_bytes(build_message(loaded.rendered(loaded.general), reader, loaded.settings, edition=WEEK,
                                 links=loaded.links, now=SEND_AT))
    msg = parsed_back(raw)
    (to,) = msg["To"].addresses  # building and reading `To` does not raise
    assert to.display_name == name and to.addr_spec == "anna@example.com"
    assert "Cc" not in msg and "Bcc" not in msg


def test_any_unicode_in_a_subject_or_a_name_parses_back_as_that_text_and_adds_no_header(week_store):
    loaded = load_edition(week_store, digest_settings(), WEEK, SEND_AT, feeds_public_url=FEEDS)
    rendered = loaded.rendered(loaded.general)
    expected_names = None

    @hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
    @hypothesis.given(title=st.text(), name=st.text(max_size=60))
    def check(title: str, name: str) -> None:
        nonlocal expected_names
        reader = Subscriber(email="anna@example.com", name=name, status="active", token="t")
        raw, _ = message_bytes(rendered, reader, loaded.settings, edition=WEEK, links=loaded.links, now=SEND_AT,
                               subject=f"Re {title}")
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert max(len(line) for line in head.split(b"\r\n")) <= 78
        msg = parsed_back(raw)
        names = list(msg.keys())
        expected_names = expected_names or names
        assert names == expected_names  # the same headers, whatever the text
        assert msg["Subject"] == one_line(f"Re {title}")[:300]
        if clean := one_line(name):
            (to,) = msg["To"].addresses
            assert to.addr_spec == "anna@example.com"
            if len(clean.encode()) <= 45 or "=?" not in clean and clean.isascii():  # one encoded-word at most
                assert to.display_name == clean
            else:  # Python's parser puts a space between encoded-words that RFC 2047 (6.2) says to join
                assert to.display_name.replace(" ", "") == clean.replace(" ", "")
        else:
            assert msg["To"] == "anna@example.com"

    check()


def test_the_web_view_is_written_for_everyone_without_personal_parts(week_store, tmp_path):
    path = build_edition(week_store, digest_settings(), FEEDS, WEEK, SEND_AT, tmp_path / "public" / "digest")
    assert path == tmp_path / "public" / "digest" / "2026-W48.html"
    html = path.read_text(encoding="utf-8")
    assert "Dear reader," in html and "unsubscribe" not in html.lower()
    assert "fpslot" not in html
    assert week_store.editions.get(WEEK).subject.startswith("Example Weekly: Ukraine Says Russia")


def test_an_outlet_template_overrides_the_packaged_one(week_store, tmp_path):
    templates = tmp_path / "templates"
    (templates / "digest").mkdir(parents=True)
    packaged = REPO / "templates" / "digest" / "email.html.j2"
    (templates / "digest" / "email.html.j2").write_text(
        packaged.read_text().replace("{{ intro }}", "OUR OWN INTRO"), encoding="utf-8")
    path = build_edition(week_store, digest_settings(), FEEDS, WEEK, SEND_AT, tmp_path / "digest",
                         templates_dir=templates)
    assert "OUR OWN INTRO" in path.read_text()


@pytest.mark.skipif(not VNU.exists(), reason="vnu.jar absent: run `npm ci --prefix tests/vnu`")
@pytest.mark.skipif(shutil.which("java") is None, reason="no java to run the Nu HTML checker")
def test_the_email_and_the_web_view_pass_the_nu_html_checker(week_store, tmp_path):
    week_store.editions.pick(WEEK, by_slug(week_of_articles(), "exiles").id, "A pitch")
    web = build_edition(week_store, digest_settings(), FEEDS, WEEK, SEND_AT, tmp_path)
    loaded = load_edition(week_store, digest_settings(), WEEK, SEND_AT, feeds_public_url=FEEDS)
    reader = Subscriber(email="anna@example.com", name="Anna", status="active", token="tok")
    msg = loaded.message(reader, SEND_AT)
    email_html = tmp_path / "email.html"
    email_html.write_text(msg.get_body(("html",)).get_content(), encoding="utf-8")
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", str(web), str(email_html)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
