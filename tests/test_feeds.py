"""Rendering feeds from articles: RSS 2.0, Atom 1.0, JSON Feed 1.1 and OPML, read back by feedparser."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from lxml import etree

from feedpipe.config.feeds import parse_feed_settings
from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.core.settings import FeedSettings
from feedpipe.feeds import (
    COUNTRY_SCHEME,
    IPTC_SCHEME,
    all_spec,
    country_spec,
    render_all,
    render_atom,
    render_json,
    render_opml,
    render_rss,
    section_spec,
    topic_spec,
    topic_specs,
)

SETTINGS = FeedSettings(
    public_url="https://news.example.org",
    title="Example News",
    subtitle="News from the East",
    language="en",
    max_entries=50,
    ttl=30,
    websub_hub="https://hub.example.org/",
)
T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
UKRAINE = CountryTag(code="UA", name="Ukraine", role="focus", score=0.9)
POLAND = CountryTag(code="PL", name="Poland", role="mention", score=0.2)
POLITICS = TopicTag(code="medtop:11000000", label="politics", score=0.8)
SANCTIONS = TopicTag(code="sub:sanctions", label="sanctions", score=0.5)


def article(n: int, **changes) -> Article:
    fields = dict(
        id=f"id{n:04d}",
        url=f"https://news.example.org/story-{n}?utm_source=rss",
        canonical_url=f"https://news.example.org/story-{n}",
        title=f"Story {n}",
        source="desk",
        summary=f"Summary of story {n}.",
        content_html=f"<p>Body of <b>story {n}</b>.</p>",
        published_at=T0 - timedelta(hours=n),
        updated_at=T0 - timedelta(hours=n) + timedelta(minutes=5),
        authors=("Olena Petrenko",),
        image=f"https://img.example.org/{n}.webp",
        section="news",
        countries=(UKRAINE, POLAND),
        topics=(POLITICS, SANCTIONS),
        language="en",
    )
    fields.update(changes)
    return Article(**fields)


ARTICLES = [article(n) for n in range(1, 6)]
SPEC = country_spec("UA", "Ukraine", SETTINGS)


def instant(struct_time) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(struct_time), UTC)


def read(fmt: str, data: bytes):
    """feedparser for RSS and Atom; JSON Feed (which feedparser 6.0 cannot read) checked and mapped alike."""
    if fmt != "json":
        return feedparser.parse(data)
    feed = json.loads(data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"]
    entries = []
    for item in feed["items"]:
        assert item["id"] and (item.get("content_html") or item.get("content_text")), item
        entries.append(
            feedparser.FeedParserDict(
                id=item["id"],
                title=item.get("title"),
                link=item.get("url"),
                published_parsed=datetime.fromisoformat(item["date_published"]).utctimetuple(),
                updated_parsed=datetime.fromisoformat(item["date_modified"]).utctimetuple(),
            )
        )
    return feedparser.FeedParserDict(
        bozo=0, feed=feedparser.FeedParserDict(title=feed["title"]), entries=entries
    )


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_every_format_reads_back_with_the_same_entries_and_instants(fmt):
    data = render_all(SPEC, ARTICLES, SETTINGS)[fmt]
    parsed = read(fmt, data)

    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Example News: Ukraine"
    assert [e.title for e in parsed.entries] == [a.title for a in ARTICLES]
    assert [e.link for e in parsed.entries] == [a.canonical_url for a in ARTICLES]
    assert [e.id for e in parsed.entries] == [f"tag:news.example.org,2026:article:{a.id}" for a in ARTICLES]
    assert [instant(e.published_parsed) for e in parsed.entries] == [a.published_at for a in ARTICLES]
    if fmt != "rss":  # RSS items carry only pubDate
        assert [instant(e.updated_parsed) for e in parsed.entries] == [a.updated_at for a in ARTICLES]


def test_feed_updated_is_the_newest_entry_not_the_build_time():
    newest = max(a.updated_at for a in ARTICLES)
    atom = feedparser.parse(render_atom(SPEC, ARTICLES, SETTINGS))
    rss = feedparser.parse(render_rss(SPEC, ARTICLES, SETTINGS))

    assert instant(atom.feed.updated_parsed) == newest
    assert instant(rss.feed.updated_parsed) == newest  # lastBuildDate


def test_rendering_twice_gives_identical_bytes():
    assert render_all(SPEC, ARTICLES, SETTINGS) == render_all(SPEC, list(ARTICLES), SETTINGS)


def test_atom_carries_self_hub_categories_and_enclosure():
    parsed = feedparser.parse(render_atom(SPEC, ARTICLES, SETTINGS))
    links = {(link.rel, link.href) for link in parsed.feed.links}
    entry = parsed.entries[0]

    assert ("self", "https://news.example.org/feeds/country/ua.atom") in links
    assert ("hub", "https://hub.example.org/") in links
    assert ("alternate", "https://news.example.org") in links
    assert parsed.feed.language == "en"
    assert {(t.scheme, t.term, t.label) for t in entry.tags} == {
        (COUNTRY_SCHEME, "UA", "Ukraine"),  # focus countries only: Poland is a mention
        (IPTC_SCHEME, "11000000", "politics"),
        ("https://news.example.org/feeds/topic/", "sub-sanctions", "sanctions"),
        ("https://news.example.org/feeds/section/", "news", "news"),
    }
    assert entry.enclosures[0].href == "https://img.example.org/1.webp"
    assert entry.enclosures[0].type == "image/webp"
    assert entry.author == "Olena Petrenko"
    assert entry.summary == "Summary of story 1."
    assert entry.content[0].value == "<p>Body of <b>story 1</b>.</p>"


def test_rss_guid_is_not_a_permalink_and_categories_carry_code_and_label():
    root = etree.fromstring(render_rss(SPEC, ARTICLES, SETTINGS))
    item = root.find("channel/item")
    guid = item.find("guid")
    categories = [(c.get("domain"), c.text) for c in item.findall("category")]
    enclosure = item.find("enclosure")

    assert guid.get("isPermaLink") == "false"
    assert guid.text == "tag:news.example.org,2026:article:id0001"
    assert (COUNTRY_SCHEME, "UA") in categories and (None, "Ukraine") in categories
    assert (IPTC_SCHEME, "11000000") in categories and (None, "politics") in categories
    assert enclosure.attrib == {"url": "https://img.example.org/1.webp", "length": "0", "type": "image/webp"}
    assert root.find("channel/ttl").text == "30"
    assert item.find("{http://purl.org/dc/elements/1.1/}creator").text == "Olena Petrenko"
    hub = root.find("channel/{http://www.w3.org/2005/Atom}link[@rel='hub']")
    assert hub.get("href") == "https://hub.example.org/"


def test_json_feed_has_the_required_fields():
    feed = json.loads(render_json(SPEC, ARTICLES, SETTINGS))

    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Example News: Ukraine"
    assert feed["feed_url"] == "https://news.example.org/feeds/country/ua.json"
    assert feed["hubs"] == [{"type": "WebSub", "url": "https://hub.example.org/"}]
    for item, source in zip(feed["items"], ARTICLES, strict=True):
        assert item["id"] == f"tag:news.example.org,2026:article:{source.id}"
        assert item.get("content_html") or item.get("content_text")
        assert datetime.fromisoformat(item["date_published"]) == source.published_at
        assert item["image"] == source.image
    assert feed["items"][0]["_feedpipe"]["categories"][0] == {
        "scheme": COUNTRY_SCHEME,
        "term": "UA",
        "label": "Ukraine",
    }


def test_json_feed_falls_back_to_content_text_without_html():
    item = json.loads(render_json(SPEC, [article(1, content_html="")], SETTINGS))["items"][0]
    assert item["content_text"] == "Summary of story 1."
    assert "content_html" not in item


def test_only_the_newest_max_entries_are_kept():
    few = FeedSettings(public_url="https://news.example.org", max_entries=2)
    for fmt, data in render_all(all_spec(few), ARTICLES, few).items():
        parsed = read(fmt, data)
        assert [e.title for e in parsed.entries] == ["Story 1", "Story 2"], fmt


BAD = "Bad\x00 \x0bchars\x1b here\ufffe\ud800 and \ud83d alone"


@pytest.mark.parametrize("field", ["title", "summary", "content_html", "authors", "canonical_url"])
def test_xml_forbidden_characters_are_dropped_never_fatal(field):
    value = (
        (BAD,)
        if field == "authors"
        else ("https://news.example.org/x\x00y" if field == "canonical_url" else BAD)
    )
    bad = article(9, **{field: value})

    out = render_all(SPEC, [ARTICLES[0], bad], SETTINGS)

    for fmt, data in out.items():
        parsed = read(fmt, data)
        assert not parsed.bozo, (fmt, parsed.get("bozo_exception"))
        assert len(parsed.entries) == 2
    if field == "title":
        assert feedparser.parse(out["atom"]).entries[1].title == "Bad chars here and alone"


def test_feedgen_alone_raises_on_those_characters():
    """Why the characters are removed: feedgen (lxml) refuses them at serialisation."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id("urn:x")
    fg.title("t")
    fe = fg.add_entry()
    with pytest.raises(ValueError):
        fe.title(BAD)
        fg.atom_str()


def test_empty_title_and_naive_dates_still_make_a_valid_entry():
    odd = article(3, title="  ", published_at=datetime(2026, 11, 1, 12, 0), updated_at=None)
    parsed = feedparser.parse(render_atom(SPEC, [odd], SETTINGS))

    assert not parsed.bozo
    assert parsed.entries[0].title == "Summary of story 3."
    assert instant(parsed.entries[0].published_parsed) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_an_empty_feed_is_valid_and_stable():
    out = render_all(all_spec(SETTINGS), [], SETTINGS)
    assert out == render_all(all_spec(SETTINGS), [], SETTINGS)  # no clock involved
    for fmt, data in out.items():
        parsed = read(fmt, data)
        assert not parsed.bozo and parsed.entries == []


def test_slugs():
    assert (
        topic_spec("medtop:16000000", "conflict, war and peace", SETTINGS).stem
        == "topic/conflict-war-and-peace"
    )
    assert (
        topic_spec("medtop:04000000", "economy, business and finance", SETTINGS).slug
        == "economy-business-and-finance"
    )
    assert topic_spec("sub:sanctions", "Sanctions", SETTINGS).stem == "topic/sub-sanctions"
    assert country_spec("by", "Belarus", SETTINGS).stem == "country/by"
    assert section_spec("opinion", SETTINGS).stem == "section/opinion"
    clash = topic_specs({"medtop:1": "Politics", "medtop:2": "politics"}, SETTINGS)
    assert [s.slug for s in clash] == ["politics", "politics-2"]


def test_opml_lists_every_feed_with_its_title():
    specs = [
        all_spec(SETTINGS),
        SPEC,
        topic_spec("medtop:11000000", "politics", SETTINGS),
        section_spec("news", SETTINGS),
    ]
    root = etree.fromstring(render_opml(specs, SETTINGS))
    outlines = {o.get("xmlUrl"): o.get("title") for o in root.iter("outline") if o.get("xmlUrl")}

    assert root.get("version") == "2.0"
    assert outlines == {
        "https://news.example.org/feeds/all.rss": "Example News",
        "https://news.example.org/feeds/country/ua.rss": "Example News: Ukraine",
        "https://news.example.org/feeds/topic/politics.rss": "Example News: politics",
        "https://news.example.org/feeds/section/news.rss": "Example News: News",
    }


def test_feed_settings_defaults_from_an_empty_table():
    settings, problems = parse_feed_settings({}, where="config/feedpipe.toml")
    assert problems == []
    assert settings == FeedSettings()
    assert (settings.max_entries, settings.ttl, settings.websub_hub) == (50, 60, None)


def test_feed_settings_are_read():
    settings, problems = parse_feed_settings(
        {
            "public_url": "https://news.example.org/",
            "title": "Example News",
            "max_entries": 20,
            "ttl": 15,
            "websub_hub": "https://hub.example.org/",
            "language": "uk",
            "id_authority": "example.org,2020",
        },
        where="feedpipe.toml",
    )
    assert problems == []
    assert settings.feeds_url == "https://news.example.org/feeds"
    assert (settings.max_entries, settings.ttl, settings.language) == (20, 15, "uk")
    assert settings.tag_authority == "example.org,2020"


def test_every_bad_feed_setting_is_reported_with_the_file_and_an_example():
    _, problems = parse_feed_settings(
        {
            "public_url": "news.example.org",
            "max_entries": 0,
            "ttl": "soon",
            "language": "English!",
            "websub_hub": "ftp://hub",
            "title": "",
            "max_entrys": 5,
        },
        where="config/feedpipe.toml",
    )

    assert len(problems) == 7
    assert all(p.startswith("config/feedpipe.toml [feeds] ") for p in problems)
    assert (
        "config/feedpipe.toml [feeds] max_entries: must be a positive integer, got 0 - e.g. max_entries = 50"
    ) in problems
    assert "config/feedpipe.toml [feeds] max_entrys: unknown key; did you mean 'max_entries'?" in problems


def test_an_entry_cache_shared_by_one_build_never_serves_a_changed_article():
    prepared: dict = {}
    first = render_all(SPEC, ARTICLES, SETTINGS, cache=prepared)
    edited = [article(1, title="Story 1, corrected"), *ARTICLES[1:]]

    again = render_all(all_spec(SETTINGS), ARTICLES, SETTINGS, cache=prepared)  # other feed, same articles
    changed = render_all(SPEC, edited, SETTINGS, cache=prepared)

    assert first == render_all(SPEC, ARTICLES, SETTINGS)  # the cache changes nothing in the output
    assert [e.title for e in feedparser.parse(again["atom"]).entries] == [a.title for a in ARTICLES]
    assert feedparser.parse(changed["rss"]).entries[0].title == "Story 1, corrected"
    assert json.loads(changed["json"])["items"][0]["title"] == "Story 1, corrected"
