"""Sections come from the feed's categories first, then the URL path, then the default."""

from __future__ import annotations

import pytest

from feedpipe.tagging import Tagger


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    # one compiled-gazetteer cache for the whole test session, never the user's own
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


@pytest.mark.parametrize(
    ("categories", "url", "section"),
    [
        (("Opinion",), None, "opinion"),
        (("Comment is free",), None, "opinion"),
        (("World", "Analysis"), None, "news"),  # the first category that names a section wins
        ((), "https://example.org/analysis/2026/11/28/what-the-vote-means", "analysis"),
        ((), "https://example.org/opinion/why-we-should-worry", "opinion"),
        ((), "https://example.org/features/long-read/the-river", "feature"),
        # the last path segment is the story's slug, not a section
        ((), "https://example.org/world/2026/11/28/opinion-polls-tighten", "news"),
        ((), "https://example.org/2026/11/28/story", None),  # no evidence: the source's section applies
        (("Sport",), None, None),
    ],
)
def test_section_from_categories_and_url(tagger, categories, url, section):
    assert tagger.tag("A headline", "Some text.", categories=categories, url=url).section == section


def test_an_outlet_can_add_a_section(tmp_path):
    (tmp_path / "tagging").mkdir()
    (tmp_path / "tagging" / "sections.toml").write_text(
        'default = "news"\n[sections.podcast]\nwords = ["podcast", "podcasts"]\n'
        '[sections.opinion]\nwords = ["opinion"]\n',
        encoding="utf-8",
    )
    outlet = Tagger.load(tmp_path, cache_dir=None)
    assert outlet.tag("Episode 12", "", url="https://example.org/podcasts/episode-12").section == "podcast"
    assert outlet.tag("View", "", categories=("Opinion",)).section == "opinion"
