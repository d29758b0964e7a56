"""Each entry's RSS <item> and Atom <entry> are written once as text (`feeds.fragments`) and reused by
every feed the entry is in: the documents are byte for byte those feedgen + lxml wrote
(`tests/feeds_oracle.py`), for any text in any field, with or without link, content, summary, image,
authors, categories and an entry language of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.core.settings import FeedSettings
from feedpipe.feeds import all_spec, country_spec, render_all
from tests.feeds_oracle import oracle_rss_atom

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPICE = st.sampled_from(["<", ">", "&", "&amp;", "&lt;b&gt;", "</b>", "<img src=x onerror=alert(1)>", '"', "'",
                         "\r\n", "\r", "\n", "\t", "\x00", "\x85", "\u2028", "\ufeff", "\ud800", "]]>", " ", "é"])
TEXT = st.lists(st.one_of(st.text(max_size=10), SPICE), max_size=6).map("".join)
URL = st.sampled_from(["https://news.example.org/a?x=1&y=\"2\"", "javascript:alert(1)", "", "file:///etc/passwd",
                       "https://news.example.org/été/a b"])
SETTINGS = FeedSettings(public_url="https://news.example.org", title="Example & <News>", language="en",
                        websub_hub="https://hub.example.org/")


def article(n: int, *, title: str, summary: str, content: str, url: str, image: str | None, author: str,
            label: str, language: str, section: str) -> Article:
    return Article(
        id=f"id&{n}\"", url=url, canonical_url=url, source="desk", title=title, summary=summary,
        content_html=content, authors=(author, "Second Author") if author else (), image=image,
        section=section, language=language, published_at=T0 - timedelta(hours=n),
        updated_at=T0 - timedelta(hours=n) + timedelta(minutes=5),
        countries=(CountryTag(code="ua", name=label, role="focus", score=0.9),
                   CountryTag(code="PL", name="Poland", role="mention", score=0.1)),
        topics=(TopicTag(code="medtop:20000000", label=label, score=1.0), TopicTag(code="sub:a&b", label="", score=1.0)),
    )


@PROPERTY
@given(title=TEXT, summary=TEXT, content=TEXT, url=URL, image=st.sampled_from([None, "https://img.example.org/a.png",
                                                                               "/rel.gif", "data:x"]),
       author=TEXT, label=TEXT, language=st.sampled_from(["", "en", "de", "pt-BR", "not a tag", "EN"]), section=TEXT)
@example(title="", summary="", content="", url="", image=None, author="", label="", language="", section="")
@example(title="<b>x</b>", summary="a & b", content="<p onclick=x>hi</p><script>1</script>",
         url="https://news.example.org/a", image="https://img.example.org/a.jpg", author="A\r\nB",
         label="\"q\"\t<", language="de", section="news")
def test_rss_and_atom_are_byte_for_byte_what_feedgen_wrote(title, summary, content, url, image, author, label,
                                                           language, section):
    articles = [article(n, title=title, summary=summary, content=content, url=url, image=image, author=author,
                        label=label, language=language, section=section) for n in range(2)]
    for spec in (all_spec(SETTINGS), country_spec("UA", "Ukraine", SETTINGS)):
        out = render_all(spec, articles, SETTINGS)
        assert (out["rss"], out["atom"]) == oracle_rss_atom(spec, articles, SETTINGS)


def test_a_feed_with_no_entries_is_what_feedgen_wrote():
    out = render_all(all_spec(SETTINGS), [], SETTINGS)
    assert (out["rss"], out["atom"]) == oracle_rss_atom(all_spec(SETTINGS), [], SETTINGS)


def test_an_entry_shared_by_two_feeds_is_written_once_and_appears_in_both():
    shared = article(1, title="Shared", summary="s", content="<p>c</p>", url="https://news.example.org/s",
                     image=None, author="A", label="Ukraine", language="en", section="news")
    cache: dict = {}
    first = render_all(all_spec(SETTINGS), [shared], SETTINGS, cache=cache)
    entry = cache[shared.id][1]
    fragments = (entry.rss_xml, entry.atom_xml)
    second = render_all(country_spec("UA", "Ukraine", SETTINGS), [shared], SETTINGS, cache=cache)
    assert (entry.rss_xml, entry.atom_xml) == fragments and fragments[0] is not None and fragments[1] is not None
    for out in (first, second):
        assert fragments[0] in out["rss"] and fragments[1] in out["atom"]
