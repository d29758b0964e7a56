"""Plain-text articles in the seed's format: the project's own fixture, and the real seed when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedpipe.extract import extract, parse_text

FIX = Path(__file__).parent / "fixtures"
SEED = Path(os.environ.get("FEEDPIPE_SEED", Path(__file__).resolve().parents[2] / "shared/seed"))
SEED_FILE = SEED / "000_8f26df3e451ccae8.txt"

FURNITURE = ("Support The", "Sign up for our", "newsletter", "Subscribers agree", "A Message from", "Dear readers",
             "Remind me later", "Not ready to support", "Read more", "Monthly", "Continue")


def _no_furniture(text: str) -> None:
    for phrase in FURNITURE:
        assert phrase not in text, phrase


def test_own_fixture_title_credit_body_and_subheading():
    path = FIX / "extract_seed_style.txt"
    a = parse_text(path.read_bytes(), str(path), source="files")
    assert a.title == "Ferry Operators Agree New Winter Timetable After Storm Closures"
    assert a.extra["image_credit"] == "Harbour Authority/Gazette Pictures"
    assert "Harbour Authority/Gazette Pictures" not in a.text
    assert a.text.startswith("Ferry operators on the northern coast agreed on Tuesday")
    assert "Mixed support" in a.text and "<h2>Mixed support</h2>" in a.content_html
    assert "The council's support for the plan was unanimous" in a.text
    assert a.text.rstrip().endswith("asked for a review in March.")
    _no_furniture(a.text)
    _no_furniture(a.content_html)
    assert a.url.startswith("file://") and a.canonical_url == a.url and len(a.id) == 32


def test_extract_sniffs_plain_text():
    path = FIX / "extract_seed_style.txt"
    [a] = extract(path.read_bytes(), str(path), source="files")
    assert a.title.startswith("Ferry Operators")


@pytest.mark.skipif(not SEED_FILE.exists(), reason=f"seed not found at {SEED_FILE} (set FEEDPIPE_SEED)")
def test_real_seed():
    a = parse_text(SEED_FILE.read_bytes(), str(SEED_FILE), source="seed")
    assert a.title == "Ukraine Says Russia Aiming To Drag Belarus Into War After Strikes"
    assert a.extra["image_credit"] == "Russian Defense Ministry/TASS"
    assert a.text.startswith("Ukraine on Saturday said Russia was aiming to drag its ally Belarus into the war")
    assert "<h2>Steadfast support</h2>" in a.content_html
    assert "Putin's steadfast support for Lukashenko" in a.text
    assert "logistical support to Russia's invasion" in a.text
    assert a.text.rstrip().endswith("further soured relations between Minsk and the West.")
    _no_furniture(a.text)
    assert "Russian Defense Ministry/TASS" not in a.text


def test_hard_wrapped_text_is_joined():
    body = (b"A Title Line\n\nThis paragraph was wrapped by an editor at a width of about sixty\n"
            b"characters, so its lines must be joined back together.\n\nSecond paragraph.\n")
    a = parse_text(body, "/tmp/wrapped.txt", source="f")
    assert a.text.split("\n\n")[0].endswith("joined back together.")


def test_latin1_text_does_not_crash():
    a = parse_text("Caf\u00e9 news\n\nThe caf\u00e9 opened.\n".encode("latin-1"), "/tmp/l.txt", source="f")
    assert a.title == "Caf\u00e9 news" and "caf\u00e9" in a.text


def test_byline_and_dateline_under_the_title():
    body = b"Support Us!\n\nA Title Here\n\nPhoto: AFP\n\nBy Jane Doe\n\nAug. 13, 2022\n\nBody one.\n\nBody two."
    a = parse_text(body, "/tmp/x.txt", source="s")
    assert a.title == "A Title Here" and a.authors == ("Jane Doe",)
    assert a.published_at is not None and a.published_at.isoformat() == "2022-08-13T00:00:00+00:00"
    assert a.extra["image_credit"] == "Photo: AFP" and a.text == "Body one.\n\nBody two."
