"""The tagger's fast paths give what the plain definitions give (issue 12, speed): folding Latin-1 text
with one byte table, the one-pass scan that tallies topic terms as it goes (what Tagger.tag uses) against
the separate scan and scoring that tools/train_topics.py uses, the English function-word count, and the
topic model's scoring as tag() runs it against features() + TopicModel.given.
The trained topic model reads the lexicon's scores, so the two scoring paths must agree to the last bit."""

from __future__ import annotations

import dataclasses
import re

import pytest

from feedpipe.tagging import Tagger, topics
from feedpipe.tagging.countries import Prepared
from feedpipe.tagging.language import _ENGLISH, _plainly_english
from feedpipe.tagging.textnorm import _PUNCT_RE, fold
from feedpipe.tagging.topic_fast import FastModel, _cut_between_words
from feedpipe.tagging.topic_model import MAX_FEATURES, TopicModel, features

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
    for _ in range(2):  # what Tagger.tag uses: the scaled weights are made on first use, then reused
        assert list(topics.scores_of_tally(tagger.taxonomy, tally).items()) == list(separate[0].items())
        assert dict(topics.TallyCounts(tally)) == separate[1]


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


# The topic model as Tagger.tag runs it (topic_fast.FastModel) gives what its definition gives:
# model.given(features(...), lexicon scores), the same floats in the same order.

def plain_given(model, low, title_end, lead_end, end, lex):
    feats = features(low, title_end, lead_end, end)
    return model.given(feats, lex) if feats or any(lex.values()) else []


def fast_and_plain(model, low, title_end, lead_end, end, lex):
    fast = FastModel.of(model).given(low, title_end, lead_end, end, lex)
    return fast, plain_given(model, low, title_end, lead_end, end, lex)


MODEL_ARTICLES = [
    *ARTICLES,
    ("Striker scores twice as the home side wins",
     "The late goal by the home side settled the match. Fans sang outside the stadium, and the coach "
     "said the players had shown character. " * 3),
    ("Central bank raises rates", "Inflation rose again. " + "Markets fell as shares slid and bonds rallied. " * 20),
    ("Headline only", ""),
    ("", "A body with no headline: the minister resigned after the vote on the budget, officials said."),
    ("", ""),
]


@pytest.mark.parametrize(("title", "body"), MODEL_ARTICLES)
def test_the_fast_topic_model_gives_what_features_and_given_give(tagger, title, body):
    model = tagger.model
    assert model is not None
    art = Prepared.of(tagger.gazetteer, title, body)
    scores, _counts = topics.scores_from_tally(
        tagger.taxonomy, tagger.scanner.scan(art.low, art.full, art.title_end, art.lead_end)[1]
    )
    for end in (art.body_start + 1 + model.lead_chars, art.body_start + 1 + 20, 1, len(art.low)):
        for lex in (scores, {}):
            fast, plain = fast_and_plain(model, art.low, art.title_end, art.lead_end, end, lex)
            assert repr(fast) == repr(plain)  # the same topics with the same scores, to the last bit


TOY = TopicModel.from_json({
    "classes": ["medtop:04000000", "medtop:15000000"],
    "prior": [0.1, -0.1],
    "weights": {"t:goal": [-1.0, 2.0], "goal": [-0.5, 1.0], "late goal": [-0.25, 0.75], "bank": [1.5, -1.0],
                "t:bank": [2.0, -2.0], "rates": [0.5, -0.5], "the": [0.001, -0.001]},
    "lexicon": {"medtop:04000000": [0.3, -0.3]},
    "temperature": 1.3,
    "lexicon_curve": [1.0, 0.5, -1.0],
    "lexicon_only": ["medtop:17000000"],
    "threshold": 0.2,
    "lead_chars": 30,
})


@pytest.mark.parametrize("low", [
    " bank raises rates  the late goal by the home side  the goal  bank bank ",
    " goal   the late goal late goal the goal bank rates the the ",
    " t:bank t:goal  goal late goal ",  # a "t:" in the text: fold() never leaves one; the plain path runs
    "   ",
])
@pytest.mark.parametrize("model", [TOY, dataclasses.replace(TOY, long_temperature=0.7)])
def test_the_fast_path_of_a_hand_made_model_is_its_definition(low, model):
    assert not FastModel.of(model).plain
    for title_end in (0, 5, 12):
        for lead_end in (3, 20, len(low) - 1, len(low) + 5):
            for end in (1, 10, 31, len(low)):
                for lex in ({}, {"medtop:04000000": 2.0, "medtop:17000000": 3.0}, {"medtop:15000000": 0.0}):
                    fast, plain = fast_and_plain(model, low, title_end, lead_end, end, lex)
                    assert repr(fast) == repr(plain), (title_end, lead_end, end, lex)


def test_more_features_than_the_model_reads_take_the_plain_path():
    low = " " + " ".join(f"w{i}" for i in range(MAX_FEATURES + 10)) + " goal bank "
    fast, plain = fast_and_plain(TOY, low, 0, 10, len(low), {})
    assert fast == plain and plain  # the plain path stops at MAX_FEATURES: "goal" and "bank" are not read
    assert plain == TOY.given([], {})


def test_the_tagger_builds_the_fast_layout_once_per_model(tagger):
    assert tagger.model is not None
    assert tagger.fast_model(tagger.model) is tagger.fast_model(tagger.model)
    fast = tagger.fast_model(tagger.model)
    assert len(fast.title) + len(fast.words) + len(fast.pairs) == len(tagger.model.packed)
    assert tagger.fast_model(TOY).model is TOY


@pytest.mark.parametrize("low", [" ab cd  ef\u2028gh\x1cij kl ", " abcdef ", "  ", " a b c d e f g h "])
def test_a_text_cut_between_words_splits_as_the_whole_does(low):
    for i in range(len(low) + 1):
        if _cut_between_words(low, i):
            assert low[:i].split() + low[i:].split() == low.split()


class Warmer(TopicModel):
    """A model whose scoring has changed in a way topic_fast.py does not know (here: a hotter softmax)."""

    def given(self, feats, lex):
        return [(c, round(p, 2)) for c, p in super().given(feats, lex)]


def test_the_fast_path_steps_aside_when_the_model_scores_in_a_way_it_does_not_know(tagger):
    assert not FastModel.of(tagger.model).plain and not FastModel.of(TOY).plain
    changed = Warmer(**{f.name: getattr(TOY, f.name) for f in dataclasses.fields(TOY)})
    fast = FastModel.of(changed)
    assert fast.plain  # its self-check at load found a difference: the model's own path runs
    low = " bank raises rates  the late goal by the home side  the goal  bank bank "
    assert fast.given(low, 5, 20, 31, {}) == changed.given(features(low, 5, 20, 31), {})
