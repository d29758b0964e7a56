"""A second, independent reader: every RSS and Atom feed read by @rowanmanning/feed-parser (node) must
agree with feedparser on the entries, their ids, links and instants.

Needs node and `npm ci --prefix tests/node`; skipped with that hint otherwise.
"""

from __future__ import annotations

import calendar
import html
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.core.settings import FeedSettings
from feedpipe.feeds.publish import publish_feeds
from feedpipe.store import Store

NODE_DIR = Path(__file__).parent / "node"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = FeedSettings(
    public_url="https://news.example.org", title="Example News", websub_hub="https://hub.example.org/"
)

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None
    or not (NODE_DIR / "node_modules" / "@rowanmanning" / "feed-parser").is_dir(),
    reason="second feed reader not installed: run `npm ci --prefix tests/node` (needs node >= 18)",
)


def node_parse(paths: list[Path]) -> dict[str, dict]:
    done = subprocess.run(
        ["node", str(NODE_DIR / "parse_feeds.cjs"), *map(str, paths)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return {r["file"]: r for r in json.loads(done.stdout)}


def iso(struct_time) -> str:
    return (
        datetime.fromtimestamp(calendar.timegm(struct_time), UTC).isoformat(timespec="milliseconds")[:-6]
        + "Z"
    )


@pytest.fixture(scope="module")
def feeds_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("readers")
    store = Store.open("sqlite:///" + str(tmp / "x.db"), now=NOW)
    countries = [
        CountryTag(code=c, name=n, role="focus", score=1.0)
        for c, n in (("UA", "Ukraine"), ("BY", "Belarus"), ("PL", "Poland"))
    ]
    topics = [
        TopicTag(code="medtop:11000000", label="politics", score=1.0),
        TopicTag(code="medtop:04000000", label="economy, business and finance", score=1.0),
        TopicTag(code="sub:sanctions", label="sanctions", score=1.0),
    ]
    store.articles.upsert(
        [
            Article(
                id=f"a{n:03d}",
                url=f"https://news.example.org/s/{n}?utm_source=x",
                canonical_url=f"https://news.example.org/s/{n}",
                source="desk",
                title=f"Story {n} & <more>" + ("\x0b" if n == 7 else ""),
                summary=f"Summary {n}",
                content_html=f'<p>Body <a href="https://example.org/{n}">{n}</a></p>',
                published_at=NOW - timedelta(hours=n, minutes=n),
                updated_at=NOW - timedelta(hours=n),
                authors=(f"Author {n % 3}",) if n % 4 else (),
                image=f"https://img.example.org/{n}.jpg" if n % 2 else None,
                section=("news", "analysis", "opinion")[n % 3],
                countries=(countries[n % 3],),
                topics=tuple(topics[: 1 + n % 3]),
            )
            for n in range(1, 31)
        ],
        now=NOW,
    )
    publish_feeds(store, tmp / "feeds", SETTINGS, only_dirty=False)
    store.close()
    return tmp / "feeds"


def test_node_reader_and_feedparser_agree_on_every_xml_feed(feeds_dir):
    paths = sorted(p for p in feeds_dir.rglob("*") if p.suffix in (".rss", ".atom"))
    assert len(paths) == 2 * (1 + 3 + 3 + 3)
    parsed = node_parse(paths)

    for path in paths:
        result = parsed[str(path)]
        assert "error" not in result, result
        feed = result["feed"]
        ours = feedparser.parse(path.read_bytes())
        assert not ours.bozo, (path, ours.get("bozo_exception"))
        assert feed["title"] == ours.feed.title
        assert feed["self"] == f"https://news.example.org/feeds/{path.relative_to(feeds_dir)}"
        assert feed["updated"] == iso(ours.feed.updated_parsed)
        assert feed["language"] == "en"
        assert len(feed["items"]) == len(ours.entries) > 0
        for item, entry in zip(feed["items"], ours.entries, strict=True):
            assert item["id"] == entry.id
            # An RSS title that holds markup is written escaped; feedparser hands it back as HTML
            # (escaped), the Node reader as the text itself: the same title either way.
            assert item["title"] == (html.unescape(entry.title) if path.suffix == ".rss" else entry.title)
            assert item["url"] == entry.link
            assert item["published"] == iso(entry.published_parsed)
            if path.suffix == ".atom":
                assert item["updated"] == iso(entry.updated_parsed)
            assert item["content"] == entry.content[0].value


def test_node_reader_sees_categories_authors_and_images(feeds_dir):
    parsed = node_parse([feeds_dir / "all.atom", feeds_dir / "all.rss"])
    atom_item = parsed[str(feeds_dir / "all.atom")]["feed"]["items"][0]  # story 1
    rss_item = parsed[str(feeds_dir / "all.rss")]["feed"]["items"][0]

    assert {"label": "Belarus", "term": "BY", "url": "urn:iso:std:iso:3166:-1"} in atom_item["categories"]
    assert {
        "label": "economy, business and finance",
        "term": "04000000",
        "url": "http://cv.iptc.org/newscodes/mediatopic/",
    } in atom_item["categories"]
    assert [a["name"] for a in atom_item["authors"]] == ["Author 1"]
    assert [a["name"] for a in rss_item["authors"]] == ["Author 1"]
    assert {m["url"] for m in rss_item["media"]} == {"https://img.example.org/1.jpg"}
    assert {m["url"] for m in atom_item["media"]} == {"https://img.example.org/1.jpg"}
