"""Every feed of the evaluation corpus through `extract`: nothing crashes, well-formed feeds yield items.

Reads $FEEDPIPE_EVAL_DATA/feeds (default ../shared/data/feeds beside the repository); skipped when
absent, since a fresh clone has no evaluation data.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from pathlib import Path

import feedparser
import pytest

from feedpipe.core.errors import ExtractError
from feedpipe.extract import extract

DATA = Path(os.environ.get("FEEDPIPE_EVAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FEEDS = DATA / "feeds"
_TAG = re.compile(r"<[^>]*>")
SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not FEEDS.is_dir(), reason=f"no evaluation feeds at {FEEDS} (set FEEDPIPE_EVAL_DATA)"),
]


def _files() -> list[Path]:
    return sorted(p for p in FEEDS.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _usable_entries(body: bytes) -> int:
    """Entries feedparser alone finds that have a link, a guid or a title (what feedpipe keeps)."""
    parsed = feedparser.parse(body)
    return sum(1 for e in parsed.entries if e.get("link") or e.get("id") or _TAG.sub("", e.get("title", "")).strip())


def test_every_feed_is_read_or_fails_readably(caplog):
    caplog.set_level(logging.ERROR)  # bozo feeds log at INFO; keep the report short
    files = _files()
    assert files, f"no feed files under {FEEDS}"
    outcomes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    missing: list[str] = []
    for path in files:
        rel = path.relative_to(FEEDS).as_posix()
        body = path.read_bytes()
        try:
            arts = extract(body, path.as_posix(), source=rel)
        except ExtractError as exc:
            assert exc.message and exc.hint and path.as_posix() in exc.message, rel
            outcomes["error"] += 1
            errors[exc.message.split(": ", 1)[1].split(" (")[0][:40]] += 1
            arts = None
        else:
            outcomes["items" if arts else "empty"] += 1
            for a in arts:
                assert a.id and (a.title or a.url or a.guid), rel
                assert a.published_at is None or a.published_at.utcoffset().total_seconds() == 0, rel
                assert "\n" not in a.title, rel
        wellformed = rel.startswith("feedparser-tests/wellformed/") and path.suffix == ".xml"
        if wellformed and not arts and _usable_entries(body):
            missing.append(rel)
    print(f"\ncorpus: {len(files)} files; {dict(outcomes)}; error kinds: {dict(errors.most_common(8))}")
    assert not missing, f"well-formed feeds that yielded no items: {missing[:20]} ({len(missing)})"


def test_real_feeds_yield_their_items():
    real = FEEDS / "real"
    if not real.is_dir():
        pytest.skip(f"no real feeds at {real}")
    for path in sorted(real.rglob("*")):
        if path.suffix.lower() not in SUFFIXES | {".rss", ".atom"} or "FirstEntry" in path.name:
            continue
        body = path.read_bytes()
        usable = _usable_entries(body)
        if not usable:
            continue
        arts = extract(body, f"https://feeds.example/{path.name}", source=path.name)
        # duplicates (same guid or canonical URL) collapse; everything else comes through
        assert len(arts) >= max(1, usable - 5) or len(arts) >= usable * 0.9, (path.name, len(arts), usable)
    bbc = real / "news-outlets" / "bbc_news_frontpage_2024-08.rss"
    if bbc.exists():
        arts = extract(bbc.read_bytes(), "https://feeds.bbci.co.uk/news/rss.xml", source="bbc")
        assert len({a.guid for a in arts}) == len(arts) and len({a.id for a in arts}) == len(arts)
        assert len(arts) >= 50
