"""clean.py: sanitising, text helpers and the boilerplate filter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedpipe.core.text import one_line, xml_safe
from feedpipe.extract.clean import (
    _join_lines,
    boilerplate_flags,
    filter_paragraphs,
    html_to_text,
    is_banner,
    is_photo_credit,
    normalize_paragraph,
    sanitize_html,
)


def test_sanitize_drops_scripts_and_handlers_and_absolutises_links():
    out = sanitize_html(
        '<p onclick="x()">Hi <a href="/a?b=1" target="_blank">a</a><script>alert(1)</script>'
        '<img src="i.png" onerror="x()"><a href="javascript:alert(1)">j</a><iframe src="//e"></iframe></p>',
        "https://ex.org/news/story",
    )
    assert "script" not in out and "onclick" not in out and "onerror" not in out and "iframe" not in out
    assert 'href="https://ex.org/a?b=1"' in out and 'src="https://ex.org/news/i.png"' in out
    assert 'rel="noopener nofollow"' in out and "javascript" not in out


def test_html_to_text_and_one_line():
    assert html_to_text("<p>a &amp; b</p><p>c<br>d</p>") == "a & b\n\nc\n\nd"
    assert one_line(" A\ntitle\u2028with\r\nbreaks\x01 ") == "A title with breaks"


def test_xml_safe():
    assert xml_safe("a\x00b\x0bc\ufffed\uffffe\ud800f\tg\nh") == "abcdef\tg\nh"


@pytest.mark.parametrize(
    "line",
    ["Support The Moscow Times!", "Subscribe now", "Donate to the Harbour Gazette"],
)
def test_banners(line):
    assert is_banner(line)


@pytest.mark.parametrize(
    "line",
    [
        "Ukraine Says Russia Aiming To Drag Belarus Into War After Strikes",
        "Steadfast support",
        "Support for Lukashenko wanes in Minsk",
        "Subscribers flock to new service",
    ],
)
def test_titles_are_not_banners(line):
    assert not is_banner(line)


@pytest.mark.parametrize(
    "line", ["Russian Defense Ministry/TASS", "Photo: AFP", "Mikhail Metzel / TASS", "John Smith via Getty Images"]
)
def test_photo_credits(line):
    assert is_photo_credit(line, position_known=True)


def test_slash_subheading_in_body_is_kept():
    assert filter_paragraphs(["Russia/Ukraine talks"]) == ["Russia/Ukraine talks"]
    assert filter_paragraphs(["Mikhail Metzel/TASS"]) == []


@pytest.mark.parametrize(
    "line",
    [
        "Putin's steadfast support for Lukashenko helped the man dubbed \"Europe's last dictator\" to overcome "
        "the challenge to his leadership.",
        "Belarus has provided logistical support to Russia's invasion of Ukraine that began on Feb. 24.",
        "Lukashenko has accused the West of elevating Nazism over its military and financial support for Ukraine.",
        "Steadfast support",
        "The council said its support for the project would continue.",
        "\"We thank you for your support,\" the minister told the crowd.",
        "He said the 24/7 helpline would stay open.",
    ],
)
def test_body_paragraphs_mentioning_support_are_kept(line):
    assert filter_paragraphs([line]) == [line]


@pytest.mark.parametrize(
    "line",
    [
        "Sign up for our free weekly newsletter",
        "Our weekly newsletter contains a hand-picked selection of news. You will receive it in your mailbox.",
        "Subscribers agree to the Privacy Policy",
        "Your support, no matter how small, makes a world of difference. If you can, please support us monthly.",
        "Not ready to support today?",
        "Remind me later.",
        "Read more",
        "Related Coverage",
        "© 2020 CBS Interactive Inc. All Rights Reserved.",
        "By registering, you agree to our T&C and Privacy Policy",
        "Available for everyone, funded by readers",
    ],
)
def test_single_boilerplate_lines_are_dropped(line):
    assert filter_paragraphs([line]) == []


def test_appeal_letter_is_dropped_as_a_whole():
    paras = [
        "Body paragraph one.",
        "A Message from The Example Times:",
        "Dear readers,",
        "We are facing unprecedented challenges from the authorities.",
        "These actions are attempts to silence journalism.",
        "By supporting The Example Times, you're defending journalism. Thank you for standing with us.",
        "Once",
        "Monthly",
        "Continue",
    ]
    assert filter_paragraphs(paras) == ["Body paragraph one."]


def test_read_more_heading_takes_its_links_but_not_following_body():
    paras = ["Read more", "Ferry timetable changes", "Market day moves", "A real paragraph that ends in a period."]
    flags = boilerplate_flags(paras)
    assert flags[:3] == ["links-heading", "related-link", "related-link"] and flags[3] is None


_DATA = Path(os.environ.get("FEEDPIPE_EVAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
_BBC = _DATA / "tagging" / "bbc-news"


@pytest.mark.corpus
@pytest.mark.skipif(not _BBC.is_dir(), reason=f"BBC News articles not found at {_BBC} (FEEDPIPE_EVAL_DATA)")
def test_filter_keeps_real_news_paragraphs():
    """Clean newswire text has no furniture: the filter must drop (almost) nothing from it."""
    total = dropped = 0
    for path in sorted(_BBC.rglob("*.txt")):
        paras = [ln.strip() for ln in path.read_bytes().decode("utf-8", "replace").splitlines() if ln.strip()][1:]
        total += len(paras)
        dropped += sum(f is not None for f in boilerplate_flags(paras))
    assert total > 5000
    assert dropped / total <= 0.001, f"{dropped} of {total} body paragraphs dropped"


SPACES = " \t\f\v\xa0\u2000\u2005\u200a\u200b\u202f\u205f\u3000"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from([*SPACES, "a", "é", "\n", "\r", "\x85", "\u2028", "\x00", "\x1f", "\u1680"]),
               max_size=40))
def test_the_text_of_an_item_is_its_lines_each_normalised_like_a_paragraph(text):
    """The whole-string pass of html_to_text (`_join_lines`) gives what normalising each line alone
    does: runs of spaces collapsed, illegal characters dropped, blank lines gone."""
    lines = [normalize_paragraph(line) for line in text.splitlines()]
    assert _join_lines(text) == "\n\n".join(line for line in lines if line)
