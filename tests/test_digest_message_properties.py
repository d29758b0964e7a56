"""Properties of the email builder (`digest.message`: the message for one subscriber), checked with
hypothesis: arbitrary Unicode in the article's text fields, the subscriber's name and the digest's title
gives a message that parses back, has exactly the headers the builder means to write (text never adds
one), no line break inside any header value, and carries the text minus the characters a header or a
line may not hold (`core.text.one_line`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import compat32, default
from email.utils import unquote

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedpipe.core.model import Article, CountryTag, Subscriber, TopicTag
from feedpipe.core.text import one_line
from feedpipe.digest.message import message_bytes
from feedpipe.digest.render import Links, render
from feedpipe.digest.select import select
from tests.digest_support import SEND_AT, WEEK, digest_settings

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPICE = st.sampled_from(["\r\n", "\n", "\r", "\x00", "\x85", "\u2028", "\t", "Bcc: x@evil.example", ":", ",", ";",
                         "<", ">", '"', "\\", "@", "(", ")", "=?UTF-8?Q?Hi=0D=0ABcc:_x@evil.example?=",
                         "=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=", "{", "}", "{title}", "é", "Київ", "\ud800", " "])
TEXT = st.lists(st.one_of(st.text(max_size=12), SPICE), max_size=8).map("".join)
LINKS = Links(public_url="https://news.example.org", feeds_url="https://news.example.org/feeds")
HEADERS = ["From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
           "List-Unsubscribe-Post", "List-Archive", "Precedence", "X-Feedpipe-Edition", "MIME-Version", "Content-Type"]


def display_name(data: bytes, addr: str) -> str:
    """The To header's display name, decoded per RFC 2047 (white space between adjacent encoded-words
    ignored, which the `default` policy's phrase parser does not do) or unquoted."""
    raw = str(message_from_bytes(data, policy=compat32)["To"]).replace("\r\n ", " ").replace("\n ", " ")
    if raw == addr:
        return ""
    assert raw.endswith(f" <{addr}>"), raw
    phrase = raw.removesuffix(f" <{addr}>")
    if phrase.startswith('"'):
        return unquote(phrase)
    return str(make_header(decode_header(phrase)))


def build(digest_title: str, name: str, title: str, summary: str, author: str, label: str) -> tuple[EmailMessage, bytes]:
    article = Article(
        id="id0001", url="https://news.example.org/a", canonical_url="https://news.example.org/a", source="desk",
        title=title, summary=summary, authors=(author,), published_at=SEND_AT - timedelta(hours=3), section="news",
        countries=(CountryTag(code="UA", name=label, role="focus", score=0.9),),
        topics=(TopicTag(code="medtop:20000000", label=label, score=0.9),),
    )
    digest = digest_settings(title=digest_title)
    selection = select([article], [], digest, SEND_AT)
    assert [i.article.id for i in selection.items] == ["id0001"]
    rendered = render(selection, digest, edition_key=WEEK, links=LINKS)
    reader = Subscriber(email="anna@example.com", name=name, status="active", token="tok-123")
    data, _ = message_bytes(rendered, reader, digest, edition=WEEK, links=LINKS, now=datetime(2026, 11, 27, tzinfo=UTC))
    msg = message_from_bytes(data, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg, data


@PROPERTY
@given(digest_title=TEXT, name=TEXT, title=TEXT, summary=TEXT, author=TEXT, label=TEXT)
@example(  # issue 10, failure 7: encoded-words in a title and a name, NEL and a brace in the digest's title
    digest_title="Weekly\u0085{Digest}", name="=?UTF-8?Q?Anna=0D=0ACc:_z@evil.example?=",
    title="Kyiv =?UTF-8?Q?Hi=0D=0ABcc:_x@evil.example?=", summary="", author="", label="",
)
@example(digest_title="Тижневик", name="Анна Петренко-Коваленко, «Київ»", title="Київ", summary="",
         author="", label="Україна")
def test_any_unicode_in_any_text_field_adds_no_header_and_reads_back_as_one_line(
    digest_title, name, title, summary, author, label
):
    msg, data = build(digest_title, name, title, summary, author, label)

    assert list(msg.keys()) == HEADERS  # exactly the headers built, in order: text never adds one
    assert not msg.defects
    for key in HEADERS:
        value = str(msg[key])
        assert "\r" not in value and "\n" not in value, (key, value)  # decoded: no encoded-word line break either
        assert not msg[key].defects, (key, msg[key].defects)
    want_prefix = one_line(digest_title)
    subject = str(msg["Subject"])
    assert subject == one_line(f"{want_prefix}: {one_line(title)}")[:300] or (
        subject.startswith(f"{want_prefix}:") and subject.endswith("…")  # a long headline is cut at a word
    )
    (to,) = msg["To"].addresses
    assert to.addr_spec == "anna@example.com"
    assert display_name(data, "anna@example.com") == one_line(name)[:100].strip()
    assert str(msg["List-Id"]).endswith("<weekly.news.example.org>")
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    assert "fpslot" not in text and "fpslot" not in html_part
    assert one_line(title) in text
    assert f"Dear {one_line(name) or 'reader'}," in text
    if one_line(label):
        assert one_line(label) in text  # the country's label on the item
