"""The tagger's fast paths give what the plain definitions give (issue 12, speed): folding Latin-1 text
with one byte table, the one-pass scan that tallies topic terms as it goes (what Tagger.tag uses) against
the separate scan and scoring that tools/train_topics.py uses, and the English function-word count.
The trained topic model reads the lexicon's scores, so the two scoring paths must agree to the last bit."""

from __future__ import annotations

import re

import pytest

from feedpipe.tagging import Tagger, topics
from feedpipe.tagging.countries import Prepared
from feedpipe.tagging.language import _ENGLISH, _plainly_english
from feedpipe.tagging.textnorm import _PUNCT_RE, fold

TEXTS = [
    "Labour's leader visited Kyiv on Monday.",
    "Prices rose 4% to €12.50 \u2014 the “highest” in years\u2026 said the ECB\u2019s chief.",
    "ÉLECTIONS À PARIS: l'Élysée répond, «non».",
    "Straße, Ärzte und Öl: Deutschland\u00a0streitet.",
    "A broken byte \ufffd in the middle, and a lone \ud800 surrogate.",
    "Россия и Украина обменялись пленными — сообщил Кремль.",
    "Москва, Киев и Минск: переговоры продолжатся в понедельник, сообщили дипломаты. " * 3,
    "Prices: €1, €2, €3? " * 6 + "Erdoğan’s “plan” — costs €5bn.",
    "İstanbul'da seçim: İYİ Parti açıkladı.",
    "東京で地震、日本政府が発表。",
    "",
]


def plain_fold(text: str) -> str:
    """The definition: lower case (keeping characters whose lower case is longer), punctuation blanked."""
    low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return _PUNCT_RE.sub(" ", low)


@pytest.mark.parametrize("text", TEXTS)
def test_fold_keeps_offsets_and_matches_the_plain_definition(text):
    assert fold(text) == plain_fold(text)
    assert len(fold(text)) == len(text)


def test_mostly_latin1_text_keeps_its_other_letters():
    assert fold("Łódź’s “Mayor”—€5") == "łódź s  mayor  €5"


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


ARTICLES = [
    ("Labour wins the vote in Scotland",
     "Labour MPs cheered as the election result came in. Farm labour is scarce, the union said, and "
     "strikes over pay closed schools. The central bank raised interest rates; electoral officials "
     "counted votes into the night while the Labour leader thanked voters in Glasgow."),
    ("Flooding in northern Italy",
     "Heavy rain forced thousands from their homes. Rescue teams worked through the night, and the "
     "government promised aid. Rainbows appeared when the storm passed; rainfall records fell."),
    ("Quiet day", "Nothing happened."),
]


@pytest.mark.parametrize(("title", "body"), ARTICLES)
def test_one_pass_scan_scores_topics_as_the_separate_scan_does(tagger, title, body):
    art = Prepared.of(tagger.gazetteer, title, body)
    geo_split, hits = tagger.scanner.split(art.low)
    separate = topics.score_topics(tagger.taxonomy, art.full, art.low, art.title_end, art.lead_end, hits)
    geo_scan, tally = tagger.scanner.scan(art.low, art.full, art.title_end, art.lead_end)
    one_pass = topics.scores_from_tally(tagger.taxonomy, tally)
    assert geo_scan == geo_split
    assert list(one_pass[0].items()) == list(separate[0].items())  # same floats, same order
    assert one_pass[1] == separate[1]


def test_the_two_paths_agree_on_a_real_looking_article(tagger):
    title, body = ARTICLES[0]
    art = Prepared.of(tagger.gazetteer, title, body)
    scores, counts = topics.score_topics(tagger.taxonomy, art.full, art.low, art.title_end, art.lead_end)
    assert scores and counts  # the example does reach the lexicon
    assert topics.scores_from_tally(tagger.taxonomy, tagger.scanner.scan(
        art.low, art.full, art.title_end, art.lead_end)[1]) == (scores, counts)


SAMPLES = [
    "The minister said on Monday that the talks in Cairo had made progress towards a ceasefire, and that "
    "both sides were hopeful it would be signed by the end of the week, though officials were cautious.",
    "Der Minister sagte am Montag, dass die Gespräche in Kairo Fortschritte gemacht hätten und dass beide "
    "Seiten hofften, es werde bis zum Ende der Woche unterzeichnet, auch wenn Beamte vorsichtig waren.",
    "İt is the café of the 2024 season, and the crowd said it was the best of its kind in the city and "
    "that they would be back, as they were last year, for the food and the music that it has.",
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_function_word_count_is_the_regex_definition(sample):
    words = re.findall(r"[a-z]+", sample.lower())
    expected = len(words) >= 30 and sum(w in _ENGLISH for w in words) * 5 >= len(words)
    assert _plainly_english(sample) is expected
    assert _plainly_english(SAMPLES[0]) and not _plainly_english(SAMPLES[1])
