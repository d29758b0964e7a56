"""Every produced file checked offline against what its spec requires (the W3C Feed Validation Service
is not reachable from tests): RFC 4287 for Atom, RSS 2.0 (+ the W3C validator's rules for guid, dates,
enclosures, tag: and urn: ids), OPML 2.0, JSON Feed 1.1."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.core.settings import FeedSettings
from feedpipe.feeds.publish import publish_feeds
from feedpipe.store import Store

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
# The W3C feed validator's patterns (feedvalidator/validators.py).
TAG_URI = re.compile(
    r"^tag:([a-z0-9\-._]+?@)?[a-z0-9.\-]+?,\d{4}(-\d{2}(-\d{2})?)?:[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+$"
)
URN = re.compile(r"^urn:[a-zA-Z0-9][a-zA-Z0-9-]{1,31}:([a-zA-Z0-9()+,.:=@;$_!*'\-]|%[0-9A-Fa-f]{2})+$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d:\d\d [+-]\d{4}$"
)
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MIME = re.compile(r'^[^\s()<>,;:\\"/\[\]?=]+/[^\s()<>,;:\\"/\[\]?=]+$')
URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


@pytest.fixture(scope="module")
def feeds(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("valid")
    store = Store.open("sqlite:///" + str(tmp / "x.db"), now=NOW)
    store.articles.upsert(
        [
            Article(
                id=f"{n:032x}",
                url=f"https://news.example.org/s/{n}",
                canonical_url=f"https://news.example.org/s/{n}",
                source="desk",
                title=f"Story {n} <b>&amp;</b>\x0c",
                summary="" if n % 5 == 0 else f"Summary {n}",
                content_html="" if n % 7 == 0 else f"<p>Body {n}</p>",
                published_at=NOW - timedelta(hours=n),
                updated_at=NOW - timedelta(hours=n) + timedelta(seconds=n),
                authors=(f"Author {n}", "Desk") if n % 2 else (),
                image=f"https://img.example.org/{n}.png?w=800" if n % 3 else None,
                section="opinion" if n % 4 else "news",
                countries=(
                    CountryTag(
                        code="UA" if n % 2 else "BY",
                        name="Ukraine" if n % 2 else "Belarus",
                        role="focus",
                        score=1.0,
                    ),
                ),
                topics=(
                    TopicTag(code="medtop:16000000", label="conflict, war and peace", score=1.0),
                    TopicTag(code="sub:sanctions", label="Sanctions", score=0.4),
                ),
            )
            for n in range(1, 21)
        ],
        now=NOW,
    )
    settings = FeedSettings(
        public_url="https://news.example.org",
        title="Example News",
        websub_hub="https://hub.example.org/",
        max_entries=15,
    )
    publish_feeds(store, tmp / "feeds", settings, only_dirty=False)
    store.close()
    return tmp / "feeds"


def files(folder: Path, suffix: str) -> list[Path]:
    found = sorted(folder.rglob(f"*{suffix}"))
    assert found, suffix
    return found


def test_atom_feeds_have_what_rfc_4287_requires(feeds):
    for path in files(feeds, ".atom"):
        feed = etree.parse(str(path)).getroot()
        assert feed.tag == f"{ATOM}feed", path
        for name in ("id", "title", "updated"):
            assert len(feed.findall(f"{ATOM}{name}")) == 1, (path, name)
        assert TAG_URI.match(feed.findtext(f"{ATOM}id"))
        assert RFC3339_Z.match(feed.findtext(f"{ATOM}updated"))
        assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
        rels = Counter(
            (link.get("rel", "alternate"), link.get("type")) for link in feed.findall(f"{ATOM}link")
        )
        assert rels[("self", "application/atom+xml")] == 1 and rels[("alternate", "text/html")] == 1
        assert all(n == 1 for n in rels.values())
        feed_author = feed.find(f"{ATOM}author/{ATOM}name") is not None
        entries = feed.findall(f"{ATOM}entry")
        assert entries
        ids = [e.findtext(f"{ATOM}id") for e in entries]
        assert len(set(ids)) == len(ids)
        updated = [e.findtext(f"{ATOM}updated") for e in entries]
        assert feed.findtext(f"{ATOM}updated") == max(updated)  # the newest entry, not the build time
        for entry in entries:
            for name in ("id", "title", "updated"):
                assert len(entry.findall(f"{ATOM}{name}")) == 1, (path, name)
            assert TAG_URI.match(entry.findtext(f"{ATOM}id"))
            assert entry.findtext(f"{ATOM}title").strip()
            assert all(RFC3339_Z.match(entry.findtext(f"{ATOM}{n}")) for n in ("updated", "published"))
            assert feed_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
            links = entry.findall(f"{ATOM}link")
            alternates = [link for link in links if link.get("rel", "alternate") == "alternate"]
            assert len(alternates) == 1 and URL.match(alternates[0].get("href"))
            for enclosure in (link for link in links if link.get("rel") == "enclosure"):
                assert MIME.match(enclosure.get("type")) and URL.match(enclosure.get("href"))
            content = entry.find(f"{ATOM}content")
            assert content is None or content.get("type") == "html"
            for category in entry.findall(f"{ATOM}category"):
                scheme = category.get("scheme")
                assert category.get("term") and (URL.match(scheme) or URN.match(scheme)), scheme


def test_rss_feeds_have_what_rss_2_requires(feeds):
    for path in files(feeds, ".rss"):
        rss = etree.parse(str(path)).getroot()
        assert rss.tag == "rss" and rss.get("version") == "2.0"
        channel = rss.find("channel")
        for name in ("title", "link", "description"):
            assert (channel.findtext(name) or "").strip(), (path, name)
        assert URL.match(channel.findtext("link"))
        assert LANG.match(channel.findtext("language"))
        assert RFC822.match(channel.findtext("lastBuildDate"))
        assert int(channel.findtext("ttl")) > 0
        atom_links = {link.get("rel"): link.get("href") for link in channel.findall(f"{ATOM}link")}
        assert atom_links["self"] == f"https://news.example.org/feeds/{path.relative_to(feeds)}"
        assert atom_links["hub"] == "https://hub.example.org/"
        items = channel.findall("item")
        guids = [i.findtext("guid") for i in items]
        assert items and len(set(guids)) == len(guids)
        for item in items:
            assert item.findtext("title") or item.findtext("description")
            assert URL.match(item.findtext("link"))
            guid = item.find("guid")
            assert guid.get("isPermaLink") == "false" and TAG_URI.match(guid.text)
            assert RFC822.match(item.findtext("pubDate"))
            assert (
                item.find("author") is None
            )  # RSS <author> must be an e-mail address; names go to dc:creator
            assert len(item.findall("enclosure")) <= 1
            for enclosure in item.findall("enclosure"):
                assert URL.match(enclosure.get("url")) and MIME.match(enclosure.get("type"))
                assert int(enclosure.get("length")) >= 0  # 0: size unknown, as the W3C validator advises


def test_the_opml_follows_opml_2(feeds):
    opml = etree.parse(str(feeds / "index.opml")).getroot()
    assert opml.tag == "opml" and opml.get("version") == "2.0"
    assert opml.findtext("head/title")
    outlines = list(opml.find("body").iter("outline"))
    subscriptions = [o for o in outlines if o.get("type")]
    for outline in outlines:
        assert outline.get("text")
        if outline.get("type") is None:  # a folder: the W3C validator wants no other attributes then
            assert set(outline.attrib) == {"text"}
    for outline in subscriptions:
        assert outline.get("type") == "rss" and outline.get("title") and outline.get("version") == "RSS2"
        assert (feeds / outline.get("xmlUrl").removeprefix("https://news.example.org/feeds/")).exists()
    assert len(subscriptions) == len(files(feeds, ".rss"))


def test_json_feeds_follow_json_feed_1_1(feeds):
    for path in files(feeds, ".json"):
        feed = json.loads(path.read_bytes())
        assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"]
        assert feed["feed_url"] == f"https://news.example.org/feeds/{path.relative_to(feeds)}"
        assert URL.match(feed["home_page_url"])
        ids = [item["id"] for item in feed["items"]]
        assert ids and len(set(ids)) == len(ids)
        for item in feed["items"]:
            assert isinstance(item["id"], str)
            assert ("content_html" in item) != ("content_text" in item)
            assert RFC3339_Z.match(item["date_published"]) and RFC3339_Z.match(item["date_modified"])
            assert all(isinstance(a["name"], str) for a in item.get("authors", []))


def test_no_file_holds_a_character_xml_forbids(feeds):
    forbidden = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
    for path in sorted(feeds.rglob("*.*")):
        assert not forbidden.search(path.read_text("utf-8")), path
