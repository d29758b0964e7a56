"""The scan's fast layout gives what the plain one gives (issue 12, speed): the combined automaton built
with each node's common letters first finds exactly the matches of one built in plain order, on text
with multi-word names, names at zone boundaries, hyphens, apostrophes, accents and other scripts; its flat
values tally topic terms as topics.tally_term does; and the countries of tricky text are as before."""

from __future__ import annotations

import dataclasses

import ahocorasick
import pytest

from feedpipe.tagging import Tagger, countries, topics
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


@pytest.mark.parametrize(("title", "body"), TRICKY)
def test_the_one_pass_tally_is_the_term_by_term_tally(tagger, title, body):
    art = Prepared.of(tagger.gazetteer, title, body)
    geo, hits = tagger.scanner.split(art.low)
    plain: dict[str, int] = {}
    for end, term in hits:  # the definition: topics.tally_term on every topic hit
        topics.tally_term(plain, term, end, art.low, art.full, art.title_end, art.lead_end)
    geo_scan, tally = tagger.scanner.scan(art.low, art.full, art.title_end, art.lead_end)
    assert list(tally.items()) == list(plain.items())  # same counts, same order
    assert geo_scan == geo
    scores, _counts = topics.scores_from_tally(tagger.taxonomy, plain)
    assert list(topics.scores_of_tally(tagger.taxonomy, tally).items()) == list(scores.items())


def test_the_flat_values_keep_both_readings_of_a_shared_pattern(tagger):
    values = combined(tagger.gazetteer, tagger.taxonomy)
    both = [pat for pat, (g, kw, kp, _cased, _back) in values.items() if g is not None and (kw or kp)]
    assert both  # e.g. "Kremlin", "White House": a country name and a topic term
    for pat in both:
        g, kw, kp, cased, back = values[pat]
        assert tagger.gazetteer.automaton.get(pat) == g
        assert tagger.taxonomy.automaton.get(pat) == (kw, kp, cased, back)


@pytest.mark.parametrize(("i", "expected"), [
    (0, [("SD", "focus", 1.0, ("title:Sudan",)), ("SS", "focus", 1.0, ("title:South Sudan",)),
         ("NG", "focus", 0.85, ("lead:Nigeria", "lead:Nigerian")), ("GN", "focus", 0.5, ("lead:Guinea",)),
         ("NE", "focus", 0.5, ("lead:Niger",)), ("PG", "focus", 0.5, ("lead:Papua New Guinea",))]),
    (2, [("US", "focus", 1.0, ("title:St. Petersburg", "title:Florida", "lead:St Petersburg", "lead:Atlanta")),
         ("RU", "focus", 0.352, ("lead:St. Petersburg", "lead:Russia")), ("GE", "focus", 0.167, ("lead:Tbilisi",))]),
    (3, [("AE", "focus", 1.0, ("title:UNITED ARAB EMIRATES", "lead:United Arab Emirates"))]),
    (7, [("NL", "focus", 1.0, ("lead:the Hague x2",)), ("US", "focus", 1.0, ("lead:New York City", "lead:New York"))]),
])
def test_countries_of_tricky_text_are_what_the_plain_code_gave(tagger, i, expected):
    """Longest names, neighbours ("St. Petersburg, Florida"), capitals checked per letter, counts and
    ties in order: the values the tagger gave before matches became tuples (checked on 12,939 texts)."""
    tags = tagger.tag(*TRICKY[i])
    assert [(c.code, c.role, c.score, c.evidence) for c in tags.countries] == expected



def test_the_institution_gate_is_the_cached_words_and_letters_of_these_rules(tagger):
    """countries._institution_gate finds the gate by the rules' identity; it gives what the lru_cache'd
    helpers give, and other rules (equal or not) get their own."""
    rules = tagger.gazetteer.people
    words, letters = countries._institution_gate(rules)
    assert (words, letters) == (countries._institution_words(rules), countries._last_letters(rules.institution_before))
    assert " university" in words and "f" in letters  # "University", "University of"
    assert countries._institution_gate(rules)[0] is words  # kept, not rebuilt
    other = dataclasses.replace(rules, institution_after=("Academy",), institution_before=("Academy of",))
    assert countries._institution_gate(other) == (frozenset({" academy"}), frozenset({"f"}))
    assert countries._institution_gate(rules) == (words, letters)


def test_a_place_in_an_institutions_name_is_still_no_country(tagger):
    tags = tagger.tag("Georgetown University and the University of Tokyo", "Students from Georgetown University and "
                      "the University of Tokyo met in Paris to discuss climate research with colleagues from Kenya.")
    assert {c.code for c in tags.countries} == {"FR", "KE"}  # no Japan (Tokyo), no US (Georgetown)
