"""Feeds: articles + a feed's spec + settings → RSS 2.0, Atom 1.0, JSON Feed 1.1 bytes; the OPML index.

Pure: no store, no disk, no clock; the same articles give the same bytes.

- `specs`: which feeds exist and where they live (FeedSpec, slugs, feed ids and URLs)
- `entries`: one entry per article, prepared once for every format (tag: ids, UTC dates, categories)
- `fragments`: each entry's RSS <item> and Atom <entry>, written once and reused by every feed it is in
- `render`: RSS and Atom (the feed's head by feedgen, the entries' fragments), and `render_all` for all
  three formats at once
- `jsonfeed`: JSON Feed 1.1
- `opml`: the OPML index
- `websub`: the WebSub ping after a publish (network; not imported here, so rendering stays I/O-free)
"""

from __future__ import annotations

from feedpipe.feeds.entries import (
    COUNTRY_SCHEME,
    EPOCH,
    IPTC_SCHEME,
    Entry,
    EntryCache,
    entry_id,
    feed_updated,
    prepare_entries,
)
from feedpipe.feeds.jsonfeed import JSONFEED_VERSION, render_json
from feedpipe.feeds.opml import render_opml
from feedpipe.feeds.render import GENERATOR_URI, render_all, render_atom, render_rss
from feedpipe.feeds.specs import (
    FORMATS,
    MEDIA_TYPES,
    FeedSpec,
    all_spec,
    country_spec,
    feed_id,
    feed_url,
    section_spec,
    slugify,
    topic_slug,
    topic_spec,
    topic_specs,
)

__all__ = [
    "COUNTRY_SCHEME",
    "EPOCH",
    "FORMATS",
    "GENERATOR_URI",
    "IPTC_SCHEME",
    "JSONFEED_VERSION",
    "MEDIA_TYPES",
    "Entry",
    "EntryCache",
    "FeedSpec",
    "all_spec",
    "country_spec",
    "entry_id",
    "feed_id",
    "feed_updated",
    "feed_url",
    "prepare_entries",
    "render_all",
    "render_atom",
    "render_json",
    "render_opml",
    "render_rss",
    "section_spec",
    "slugify",
    "topic_slug",
    "topic_spec",
    "topic_specs",
]
