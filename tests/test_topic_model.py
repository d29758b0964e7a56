"""The trained topic model: short items get sensible topics or none, scores are probabilities cut at a
threshold, `--explain` says why, and the shipped model file is what tools/train_topics.py makes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedpipe.cli.tag import tag as tag_command
from feedpipe.tagging import Tagger
from feedpipe.tagging.countries import Prepared
from feedpipe.tagging.resources import packaged_dir
from feedpipe.tagging.topic_model import LONG, MODEL_FILE, TopicModel, features, pack, reads_past, unpack

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FEEDPIPE_EVAL_DATA", ROOT.parent / "shared" / "data"))
ARTS, CRIME, DISASTER, ECONOMY = "medtop:01000000", "medtop:02000000", "medtop:03000000", "medtop:04000000"
HEALTH, HUMAN, POLITICS, TECH = "medtop:07000000", "medtop:08000000", "medtop:11000000", "medtop:13000000"
SPORT, WEATHER = "medtop:15000000", "medtop:17000000"


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


def codes(tags) -> list[str]:
    return [t.code for t in tags.topics if t.code.startswith("medtop:")]


# The four items the operator reported, as a feed gives them: a headline and a sentence or two.
def test_an_obituary_of_a_singin_in_the_rain_star_is_not_weather(tagger):
    tags = tagger.tag(
        "'Singin' in the Rain' star Debbie Reynolds dies at 84",
        "The actress, who danced with Gene Kelly in the 1952 film, died in Los Angeles, her son said.",
    )
    assert WEATHER not in codes(tags)
    assert codes(tags)[:1] in ([], [ARTS])


def test_facebook_banning_crypto_ads_is_not_sport(tagger):
    tags = tagger.tag(
        "Facebook bans ads for cryptocurrencies",
        "The social network will no longer allow adverts that promote bitcoin or initial coin offerings, "
        "saying many of them are deceptive.",
    )
    assert SPORT not in codes(tags)
    assert codes(tags)[:1] in ([], [ECONOMY], [TECH])


def test_escobars_house_demolished_is_neither_health_nor_disaster(tagger):
    tags = tagger.tag(
        "Pablo Escobar's Medellin house is demolished",
        "The building where the drug lord lived was brought down to make way for a park in memory of "
        "the victims of his cartel.",
    )
    assert not {HEALTH, DISASTER} & set(codes(tags))
    assert codes(tags)[:1] in ([], [CRIME], [HUMAN], [POLITICS])


def test_a_portuguese_election_match_is_not_sport(tagger):
    tags = tagger.tag(
        "Match Eleitoral: o frente a frente entre os candidatos",
        "Os dois candidatos a primeiro-ministro debateram a economia e a saúde na televisão.",
    )
    assert SPORT not in codes(tags)


def test_scores_are_probabilities_and_only_those_over_the_threshold_are_given(tagger):
    assert tagger.model is not None
    tags = tagger.tag(
        "Striker scores twice as United win the derby",
        "The forward's late goal settled the league match in front of a full stadium.",
    )
    assert codes(tags)[0] == SPORT
    assert all(tagger.model.threshold <= t.score <= 1 for t in tags.topics if t.code.startswith("medtop:"))
    every = [t for t, _terms in tagger.explain_topics("Striker scores twice as United win the derby", "")]
    learned = [t.score for t in every if t.source == "model"]
    assert abs(sum(learned) - 1.0) < 1e-6  # the learned topics share one distribution
    assert [t.score for t in every] == sorted((t.score for t in every), reverse=True)


def test_words_the_model_has_never_seen_get_no_topic_rather_than_a_guess(tagger):
    assert tagger.tag("Zorblax quindle frampt", "Vexnor plimb gratch.").topics == ()


def test_a_hand_made_model_gives_a_topic_only_over_its_threshold():
    model = TopicModel.from_json(
        {
            "classes": [ARTS, SPORT],
            "prior": [0.0, 0.0],
            "weights": {"goal": [-1.5, 1.5], "film": [1.0, -1.0]},
            "lexicon": {},
            "temperature": 1.0,
            "lexicon_curve": [0.0, 0.0, 0.0],
            "lexicon_only": [WEATHER],
            "threshold": 0.8,
            "lead_chars": 100,
        }
    )
    sure = model.score(body_words(" late goal wins it "), {})
    assert (sure[0].code, round(sure[0].score, 3)) == (SPORT, 0.953)  # 1 / (1 + e^-3)
    unsure = model.score(body_words(" a goal in the film "), {})
    assert unsure[0].score < model.threshold  # 0.73: the caller gives no topic
    rain = model.score([], {WEATHER: 5.0})
    assert [t.code for t in rain] == [ARTS, SPORT, WEATHER] and rain[-1].source == "lexicon"


def body_words(low: str) -> list[str]:
    """Features of a folded text with no headline, all of it lead."""
    return features(low, 0, len(low), len(low))


def test_the_model_reads_marked_headline_words_lead_words_and_pairs_of_the_first_sentence(tagger):
    art = Prepared.of(
        tagger.gazetteer,
        "Striker scores twice",
        "The late goal by the home side settled the match. Fans sang outside the stadium. "
        + "More filler words here. " * 40,
    )
    feats = features(art.low, art.title_end, art.lead_end, art.body_start + 1 + 100)
    assert feats[:3] == ["t:striker", "t:scores", "t:twice"]  # headline words, marked
    assert {"striker", "goal", "stadium", "striker scores", "late goal", "the match"} <= set(feats)
    assert "fans sang" not in feats  # pairs come from the headline and the first sentence only
    assert "filler" in feats and len(feats) == len(set(feats))  # each feature once
    short = features(art.low, art.title_end, art.lead_end, art.body_start + 1 + 30)
    assert "late goal" in short and not {"stadium", "the match"} & set(short)  # nothing after `end`


def test_a_long_article_is_marked_and_gets_the_long_articles_temperature(tagger):
    lead = "The late goal by the home side settled the match. "
    art = Prepared.of(tagger.gazetteer, "Striker scores twice", lead + "More filler words here. " * 40)
    long_feats = features(art.low, art.title_end, art.lead_end, art.body_start + 1 + 100)
    item = Prepared.of(tagger.gazetteer, "Striker scores twice", lead)
    item_feats = features(item.low, item.title_end, item.lead_end, item.body_start + 1 + 100)
    assert long_feats[-1] == LONG and LONG not in item_feats  # read whole: a feed item, no marker
    assert reads_past(art.low, art.body_start + 1 + 100) and not reads_past(item.low, item.body_start + 1 + 100)
    model = TopicModel.from_json(
        {
            "classes": [ARTS, SPORT],
            "prior": [0.0, 0.0],
            "weights": {"goal": [-1.5, 1.5]},
            "lexicon": {},
            "temperature": 1.0,
            "long_temperature": 2.0,
            "lexicon_curve": [0.0, 0.0, 0.0],
            "lexicon_only": [],
            "threshold": 0.5,
            "lead_chars": 100,
        }
    )
    assert round(model.probabilities(["goal"], {})[1], 3) == 0.953  # 1 / (1 + e^-3)
    assert round(model.probabilities(["goal", LONG], {})[1], 3) == 0.818  # 1 / (1 + e^-1.5)
    assert model.weights_of(LONG) is None  # the marker has no weights of its own
    assert TopicModel.from_bytes(model.to_bytes()).long_temperature == 2.0


def test_packed_weights_round_trip_to_a_thousandth_and_refuse_what_does_not_fit():
    weights = (-3.2106, 0.0, 12.5, -0.0004)
    assert unpack(pack(weights), 4) == (-3.211, 0.0, 12.5, -0.0)
    with pytest.raises(ValueError, match="out of the packable range"):
        pack([70.0, 0.0])


def test_a_model_written_and_read_back_scores_the_same_and_the_file_is_the_same_bytes(tmp_path):
    model = TopicModel.from_json(
        {
            "classes": [ARTS, SPORT, TECH],
            "prior": [0.1, -0.2, 0.1],
            "weights": {"t:goal": [-2.0, 2.5, -0.5], "film": [1.0, -1.0, 0.0], "new chip": [0, -1, 1]},
            "lexicon": {SPORT: [-0.4, 0.8, -0.4]},
            "temperature": 1.5,
            "lexicon_curve": [1.0, 0.5, -2.0],
            "lexicon_only": [WEATHER],
            "threshold": 0.5,
            "lead_chars": 600,
        }
    )
    path = tmp_path / MODEL_FILE
    path.write_bytes(model.file_bytes())
    again = TopicModel.load(path)
    feats = ["t:goal", "film", "new chip", "unknown"]
    assert again.score(feats, {SPORT: 3.0, WEATHER: 1.0}) == model.score(feats, {SPORT: 3.0, WEATHER: 1.0})
    assert again.file_bytes() == path.read_bytes()
    assert again.weights_of("t:goal") == (-2.0, 2.5, -0.5) and again.weights_of("unknown") is None
    truncated = tmp_path / "truncated" / MODEL_FILE
    truncated.parent.mkdir()
    import gzip  # noqa: PLC0415

    truncated.write_bytes(gzip.compress(model.to_bytes()[:-5]))
    with pytest.raises(ValueError, match=r"unreadable \(3 features announced, 3 names and \d+ bytes"):
        TopicModel.load(truncated)


def test_scoring_imports_no_numpy():
    code = (
        "import sys; from feedpipe.tagging import Tagger; t = Tagger.load(cache_dir=None); "
        "t.tag('Striker scores twice', 'The late goal settled the match.'); "
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_explain_shows_the_words_and_lexicon_entries_behind_each_topic(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    story = tmp_path / "story.txt"
    story.write_text(
        "Striker scores twice as United win the derby\n\n"
        "The forward's late goal settled the league match in front of a full stadium.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(tag_command, ["--explain", str(story)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    why = next(i for i, ln in enumerate(lines) if ln.startswith(f"  why {SPORT} sport"))
    assert "given" in lines[why]
    assert lines[why + 1].startswith("    words: ") and "striker" in lines[why + 1]
    assert lines[why + 2].startswith("    lexicon: ") and "goal" in lines[why + 2]
    plain = CliRunner().invoke(tag_command, [str(story)])
    assert "why " not in plain.output


def test_the_shipped_model_file_is_canonical_and_compact():
    path = packaged_dir() / MODEL_FILE
    assert path.stat().st_size < 1_500_000  # about half a megabyte
    model = TopicModel.load(path)
    assert model.file_bytes() == path.read_bytes()  # the writer's own output, unedited
    assert len(model.packed) > 10_000 and len(model.classes) >= 10
    again = TopicModel.load(path)
    feats = body_words(" parliament votes on the budget ")
    assert model.score(feats, {}) == again.score(feats, {})


def test_an_unreadable_model_file_is_named_with_the_fix(tmp_path):
    bad = tmp_path / MODEL_FILE
    bad.write_text('{"classes": [', encoding="utf-8")
    with pytest.raises(ValueError, match=r"topic_model\.bin\.gz is unreadable .*tools/train_topics\.py"):
        TopicModel.load(bad)


@pytest.mark.corpus
@pytest.mark.skipif(
    not (DATA / "tagging").is_dir(), reason=f"no eval data at {DATA} (set FEEDPIPE_EVAL_DATA)"
)
def test_the_shipped_model_is_what_the_training_script_makes_from_the_data(tagger):
    sys.path.insert(0, str(ROOT))
    from tools.train_topics import train  # noqa: PLC0415

    model, _items = train(DATA, tagger)
    shipped = (packaged_dir() / MODEL_FILE).read_bytes()
    assert model.file_bytes() == shipped, "retrain: python tools/train_topics.py (see its docstring)"
