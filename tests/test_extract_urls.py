"""Canonical URLs and ids: tracking and http/https variants are one article."""

from __future__ import annotations

import pytest

from feedpipe.extract.urls import article_id, canonical_url, content_hash

BASE = "https://www.example.org/news/story-1"


@pytest.mark.parametrize(
    "variant",
    [
        "http://www.example.org/news/story-1",
        "https://WWW.Example.ORG/news/story-1/",
        "https://www.example.org:443/news/story-1#comments",
        "http://www.example.org:80/news/story-1?utm_source=twitter&utm_medium=social",
        "https://www.example.org/news/story-1?fbclid=IwAR0&gclid=x&mc_cid=1&mc_eid=2&igshid=3&yclid=4&_ga=5",
        "https://www.example.org/news/story-1?ref_src=twsrc%5Etfw&UTM_Campaign=x",
    ],
)
def test_variants_share_canonical_url_and_id(variant):
    assert canonical_url(variant) == BASE
    assert article_id(canonical_url(variant)) == article_id(BASE)


def test_meaningful_query_is_kept_and_sorted():
    assert canonical_url("https://ex.org/a?page=2&id=7&utm_source=x") == "https://ex.org/a?id=7&page=2"
    assert canonical_url("https://ex.org:8443/") == "https://ex.org:8443/"


def test_non_web_urls_pass_through():
    assert canonical_url("file:///tmp/a.txt") == "file:///tmp/a.txt"
    assert canonical_url("") == ""


def test_article_id_from_guid_and_shape():
    a = article_id(source="s1", guid="g")
    assert len(a) == 32 and int(a, 16) >= 0
    assert a != article_id(source="s2", guid="g")
    with pytest.raises(ValueError):
        article_id()


def test_content_hash_ignores_whitespace_and_case_but_not_edits():
    assert content_hash("Title", "Body  text\n") == content_hash("title", "body text")
    assert content_hash("Title", "Body text") != content_hash("Title edited", "Body text")
