"""The trained topic model: short items get sensible topics or none, scores are probabilities cut at a
threshold, `--explain` says why, and the shipped model file is what tools/train_topics.py makes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedpipe.cli.tag import tag as tag_command
from feedpipe.tagging import Tagger
from feedpipe.tagging.resources import packaged_dir
from feedpipe.tagging.topic_model import MODEL_FILE, TopicModel, features, model_file_bytes, read_model_text

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
    sure = model.score(features(" late goal wins it ", 50), {})
    assert (sure[0].code, round(sure[0].score, 3)) == (SPORT, 0.953)  # 1 / (1 + e^-3)
    unsure = model.score(features(" a goal in the film ", 50), {})
    assert unsure[0].score < model.threshold  # 0.62: the caller gives no topic
    rain = model.score([], {WEATHER: 5.0})
    assert [t.code for t in rain] == [ARTS, SPORT, WEATHER] and rain[-1].source == "lexicon"


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
    assert path.stat().st_size < 5_000_000  # a few MB
    sys.path.insert(0, str(ROOT))
    from tools.train_topics import to_json  # noqa: PLC0415

    model = TopicModel.load(path)
    assert model_file_bytes(to_json(model)) == path.read_bytes()  # the writer's own output, unedited
    again = TopicModel.load(path)
    feats = features(" parliament votes on the budget ", 40)
    assert model.score(feats, {}) == again.score(feats, {})


def test_an_unreadable_model_file_is_named_with_the_fix(tmp_path):
    bad = tmp_path / MODEL_FILE
    bad.write_text('{"classes": [', encoding="utf-8")
    with pytest.raises(ValueError, match=r"topic_model\.json\.gz is unreadable .*tools/train_topics\.py"):
        TopicModel.load(bad)


@pytest.mark.corpus
@pytest.mark.skipif(
    not (DATA / "tagging").is_dir(), reason=f"no eval data at {DATA} (set FEEDPIPE_EVAL_DATA)"
)
def test_the_shipped_model_is_what_the_training_script_makes_from_the_data(tagger):
    sys.path.insert(0, str(ROOT))
    from tools.train_topics import to_json, train  # noqa: PLC0415

    model, _items = train(DATA, tagger)
    shipped = read_model_text(packaged_dir() / MODEL_FILE)
    assert to_json(model) == shipped, "retrain: python tools/train_topics.py (see its docstring)"
