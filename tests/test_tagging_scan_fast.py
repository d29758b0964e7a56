"""The scan's fast layout gives what the plain one gives (issue 12, speed): the combined automaton built
with each node's common letters first finds exactly the matches of one built in plain order, on text
with multi-word names, names at zone boundaries, hyphens, apostrophes, accents and other scripts."""

from __future__ import annotations

import ahocorasick
import pytest

from feedpipe.tagging import Tagger
from feedpipe.tagging.countries import Prepared
from feedpipe.tagging.scanner import _walk_order, combined

TRICKY = [
    ("South Sudan and Sudan talk", "Papua New Guinea, not Guinea; Niger and Nigeria's Nigerian envoys met."),
    ("Bank of Japan", "The Bank of Japan and the bank of England; the Paris Agreement, then Paris."),
    ("St. Petersburg, Florida", "St  Petersburg and St. Petersburg, Russia; Atlanta, Georgia and Tbilisi, Georgia."),
    ("UNITED ARAB EMIRATES", "United Arab X; United Arab Emirates-based firms and the Arab League."),
    ("Côte d'Ivoire", "Cote d'Ivoire and Côte d’Ivoire: l'Élysée répond. Drone strike; strikes; elections."),
    ("Labour's vote", "Labour-led councils, labour shortages; pro-Russia and anti-Ukraine-war rallies."),
    ("Москва и Киев", "Переговоры в Минске. 東京で地震、日本政府が発表。 Kyiv — Kiev — Київ."),
    ("", "New York City, New York, new york; the Hague and The Hague; turkey and Turkey."),
]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


def test_the_walk_order_holds_every_pattern_once():
    pats = ["b", " ab", " aab", " ba", " b", "zz"]
    order = _walk_order(iter(pats))
    assert sorted(order) == sorted(pats)
    # letters by count: "b" 5, " " 4, "a" 4 (seen after " "), "z" 2; each node's commonest letter first
    assert order == ["b", " b", " ba", " ab", " aab", "zz"]


@pytest.mark.parametrize(("title", "body"), TRICKY)
def test_the_scanner_finds_what_an_automaton_in_plain_order_finds(tagger, title, body):
    values = combined(tagger.gazetteer, tagger.taxonomy)
    plain = ahocorasick.Automaton()
    for pat, value in values.items():  # the plain order: country names, then topic terms
        plain.add_word(pat, value)
    plain.make_automaton()
    low = Prepared.of(tagger.gazetteer, title, body).low
    for text in (low, low.upper().lower(), " " + low.replace(" ", "  ") + " "):
        assert list(tagger.scanner.automaton.iter_long(text)) == list(plain.iter_long(text))
    assert sorted(tagger.scanner.automaton.keys()) == sorted(values)
