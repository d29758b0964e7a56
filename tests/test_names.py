# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""Names people read: countries by their common English names and topics by their lexicon labels on
every page, email and CLI table, codes in JSON and feeds; what a person types is read back into a code
or refused with the closest valid choices. And the support box's options, links when configured."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from feedpipe.config.digest import parse_digest_settings
from feedpipe.core.model import CountryTag, Subscriber
from feedpipe.digest.build import load_edition
from feedpipe.digest.message import build_message
from feedpipe.tagging.names import TopicNames, UnknownChoice, country_code, country_name
from tests.digest_support import SEND_AT, WEEK, digest_settings, week_store  # noqa: F401

FEEDS = "https://news.example.org/feeds"


@pytest.mark.parametrize(("code", "name"), [
    ("KG", "Kyrgyzstan"), ("MK", "North Macedonia"), ("KP", "North Korea"), ("KR", "South Korea"),
    ("RU", "Russia"), ("IR", "Iran"), ("VN", "Vietnam"), ("ua", "Ukraine"),
])
def test_a_country_is_shown_by_its_common_english_name(code, name):
    assert country_name(code) == name


@pytest.mark.parametrize("typed", ["Ukraine", "ukraine", "ua", "UA", "UKR"])
def test_a_country_is_read_from_its_name_or_code(typed):
    assert country_code(typed) == "UA"


def test_an_unknown_country_is_refused_with_the_closest_names():
    with pytest.raises(UnknownChoice) as refused:
        country_code("Rusia")
    assert refused.value.exit_code == 2 and refused.value.suggestions[0] == "Russia (RU)"
    with pytest.raises(UnknownChoice, match="unknown country 'XX'"):
        country_code("XX")


def test_topics_are_shown_by_label_and_read_from_a_code_slug_or_label():
    topics = TopicNames.load()
    assert topics.label("arts-culture-entertainment-and-media") == "arts, culture, entertainment and media"
    assert topics.label("sub-elections") == "elections" and topics.label("medtop:11000000") == "politics"
    assert topics.code("Politics") == topics.code("politics") == topics.code("medtop:11000000") == "medtop:11000000"
    assert topics.code("sub-sanctions") == topics.code("sanctions") == "sub:sanctions"
    with pytest.raises(UnknownChoice) as refused:
        topics.code("nonsense-topic")
    assert "politics" in refused.value.hint  # no close one: every choice is listed
    with pytest.raises(UnknownChoice, match="did you mean politics"):
        topics.code("politcs")


def test_an_outlets_own_subtopic_label_is_used(tmp_path: Path):
    (tmp_path / "tagging").mkdir()
    (tmp_path / "tagging" / "subtopics.toml").write_text('[energy]\nlabel = "energy crisis"\nterms = ["gas"]\n')
    topics = TopicNames.load(tmp_path)
    assert topics.label("sub:energy") == "energy crisis" and topics.code("energy crisis") == "sub:energy"


def test_the_email_names_countries_as_people_say_them(week_store):
    kp = CountryTag(code="KP", name="Korea, Democratic People's Republic of", role="focus", score=0.9)
    story = next(a for a in week_store.articles.query() if a.url.endswith("kazakh-oil"))
    week_store.articles.upsert([replace(story, countries=(kp,))], now=SEND_AT)
    loaded = load_edition(week_store, digest_settings(), WEEK, SEND_AT, feeds_public_url=FEEDS)
    reader = Subscriber(email="anna@example.com", status="active", token="t")
    msg = build_message(loaded.rendered(loaded.general), reader, loaded.settings, edition=WEEK,
                        links=loaded.links, now=SEND_AT)
    html, text = msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
    assert ">North Korea</a>" in html and "North Korea" in text
    assert "Democratic People" not in html and "Democratic People" not in text
    assert f"{FEEDS}/country/kp.atom" in html  # codes stay in the links


def test_support_options_become_links_only_when_their_urls_are_configured(week_store):
    table = {"support": {"text": "Help us", "url": "https://news.example.org/support",
                         "option_urls": {"Once": "https://news.example.org/give?once",
                                         "Monthly": "javascript:alert(1)"}}}
    _, problems = parse_digest_settings(table, where="feedpipe.toml", base_dir=Path("."))
    assert problems == ["feedpipe.toml [digest.support.option_urls] Monthly: 'javascript:alert(1)' is not an "
                        'http(s) URL - e.g. option_urls = { Monthly = "https://news.example.org/support?monthly" }']
    table["support"]["option_urls"] = {"Once": "https://news.example.org/give?once", "Annualy": "https://x.org"}
    _, problems = parse_digest_settings(table, where="feedpipe.toml", base_dir=Path("."))
    assert problems == ["feedpipe.toml [digest.support.option_urls] Annualy: unknown key; did you mean 'Annual'?"]
    del table["support"]["option_urls"]["Annualy"]
    settings, problems = parse_digest_settings(table, where="feedpipe.toml", base_dir=Path("."))
    assert problems == []
    settings = replace(digest_settings(), support=settings.support)
    loaded = load_edition(week_store, settings, WEEK, SEND_AT, feeds_public_url=FEEDS)
    reader = Subscriber(email="anna@example.com", status="active", token="t")
    msg = build_message(loaded.rendered(loaded.general), reader, settings, edition=WEEK, links=loaded.links,
                        now=SEND_AT)
    html, text = msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
    assert '<a href="https://news.example.org/give?once"' in html and ">Once</a>" in html
    assert "Monthly</a>" not in html and " · Monthly · Annual" in html  # plain text without a URL
    assert "Once: https://news.example.org/give?once" in text
    assert "Monthly: https://news.example.org/support" in text  # the appeal's own URL for the others
    plain = load_edition(week_store, digest_settings(), WEEK, SEND_AT, feeds_public_url=FEEDS)
    html = build_message(plain.rendered(plain.general), reader, plain.settings, edition=WEEK, links=plain.links,
                         now=SEND_AT).get_body(("html",)).get_content()
    assert "Once · Monthly · Annual" in html and ">Once</a>" not in html
