"""Hostile feeds stay inert: no entity expansion, no external entity or DTD is read or fetched
(the oversized form body is in test_web.py, beside its server)."""

from __future__ import annotations

from pathlib import Path

from feedpipe.core.errors import ExtractError
from feedpipe.extract import parse_feed
from tests.httpfixtures import local_server, send

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs</title><link>https://bomb.example.org/</link>
<item><title>&lol9;</title><link>https://bomb.example.org/a/1</link><description>&lol9;</description></item>
<item><title>A plain story</title><link>https://bomb.example.org/a/2</link></item>
</channel></rss>"""


def _feed_with_entity(system_id: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "{system_id}"> ]>
<rss version="2.0"><channel><title>XXE</title><link>https://xxe.example.org/</link>
<item><title>Story &xxe; here</title><link>https://xxe.example.org/a/1</link>
<description>Body &xxe; end</description></item>
</channel></rss>""".encode()


def _published_text(body: bytes) -> str:
    """Everything a reader could see of the parsed items, or the error's text when the feed is refused."""
    try:
        articles = parse_feed(body, "https://feeds.example.org/hostile.xml", source="hostile")
    except ExtractError as e:
        return str(e)
    return " ".join(f"{a.title} {a.summary or ''} {a.content_html or ''}" for a in articles)


def test_a_billion_laughs_feed_expands_nothing():
    text = _published_text(LAUGHS)
    assert "lollollol" not in text
    assert len(text) < 10_000


def test_an_external_entity_never_reads_a_local_file(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    assert "TOP-SECRET-MARKER" not in _published_text(_feed_with_entity(secret.as_uri()))
    assert "root:" not in _published_text(_feed_with_entity("file:///etc/passwd"))


def test_an_external_entity_or_dtd_is_never_fetched():
    with local_server() as srv:
        @srv.route("/evil.dtd")
        def _dtd(h):  # pragma: no cover - reached only if the parser fetched it
            send(h, 200, b'<!ENTITY stolen "FETCHED-MARKER">', {"Content-Type": "application/xml-dtd"})

        entity = _feed_with_entity(srv.url("/evil.dtd"))
        dtd = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{srv.url('/evil.dtd')}">
<rss version="2.0"><channel><title>DTD</title><link>https://dtd.example.org/</link>
<item><title>Story &stolen;</title><link>https://dtd.example.org/a/1</link></item></channel></rss>""".encode()
        for body in (entity, dtd):
            assert "FETCHED-MARKER" not in _published_text(body)
        assert srv.requests == []

