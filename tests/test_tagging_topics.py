"""Topic tagging: IPTC top level first, outlet subtopics after, and the pitfalls named in issue 3."""

from __future__ import annotations

import pytest

from feedpipe.tagging import Tagger

POLITICS, LABOUR, ARTS, TECH = "medtop:11000000", "medtop:09000000", "medtop:01000000", "medtop:13000000"
CONFLICT, DISASTER, SPORT, ECONOMY = (
    "medtop:16000000",
    "medtop:03000000",
    "medtop:15000000",
    "medtop:04000000",
)


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Tagger:
    # one compiled-gazetteer cache for the whole test session, never the user's own
    return Tagger.load(cache_dir=tmp_path_factory.getbasetemp() / "tagger-cache")


def first(tags) -> str:
    return tags.topics[0].code


def test_labour_the_uk_party_is_politics(tagger):
    tags = tagger.tag(
        "Labour sets out its plans",
        "Labour promised to reform the planning system if it wins power. The Labour leader told the party "
        "conference that Conservative ministers had failed, and Labour MPs cheered.",
    )
    assert first(tags) == POLITICS
    assert LABOUR not in {t.code for t in tags.topics}


def test_labour_the_workforce_is_labour(tagger):
    tags = tagger.tag(
        "Shortage of farm labour",
        "Growers say a shortage of seasonal labour left fruit unpicked. Unions want higher wages for workers.",
    )
    assert first(tags) == LABOUR


def test_a_concert_streamed_online_is_arts_not_technology(tagger):
    tags = tagger.tag(
        "Orchestra streams its anniversary concert",
        "The orchestra's anniversary concert was streamed online to fans around the world. The conductor "
        "chose a programme of symphonies, and the soloist, a young violinist, drew a standing ovation.",
    )
    assert first(tags) == ARTS


def test_a_drone_strike_on_a_city_is_conflict_not_disaster(tagger):
    tags = tagger.tag(
        "Drone strike hits city centre",
        "A drone strike on the city centre destroyed two buildings and killed four people overnight, "
        "officials said. The army said it had shot down three other drones.",
    )
    assert first(tags) == CONFLICT
    assert DISASTER not in {t.code for t in tags.topics[:1]}


def test_an_earthquake_is_a_disaster(tagger):
    tags = tagger.tag(
        "Earthquake kills dozens", "A strong earthquake flattened villages; rescuers searched the rubble."
    )
    assert first(tags) == DISASTER


def test_sport_and_business_stories(tagger):
    sport = tagger.tag(
        "Late goal settles derby",
        "The striker scored in stoppage time as the home team won the league match.",
    )
    assert first(sport) == SPORT
    money = tagger.tag(
        "Retailer's profits fall", "Shares fell after the retailer cut its profit forecast and sales slowed."
    )
    assert first(money) == ECONOMY


def test_one_to_three_topics_best_first_with_labels(tagger):
    tags = tagger.tag(
        "Minister opens school science lab",
        "The education minister opened a new science laboratory at the school, where pupils will learn "
        "chemistry and physics. Teachers said the government funding was welcome.",
        subtopics=False,
    )
    assert 1 <= len(tags.topics) <= 3
    scores = [t.score for t in tags.topics]
    assert scores == sorted(scores, reverse=True)
    assert all(t.code.startswith("medtop:") and t.label for t in tags.topics)


def test_outlet_subtopics_are_extra_tags(tagger):
    text = "The European Union agreed new sanctions on the bank, including an asset freeze."
    with_subs = tagger.tag("EU widens sanctions", text)
    assert "sub:sanctions" in {t.code for t in with_subs.topics}
    assert next(t for t in with_subs.topics if t.code == "sub:sanctions").label == "sanctions"
    without = tagger.tag("EU widens sanctions", text, subtopics=False)
    assert not any(t.code.startswith("sub:") for t in without.topics)


def test_war_in_ukraine_needs_ukraine_and_conflict(tagger):
    war = tagger.tag(
        "Missiles hit Kharkiv",
        "Russian missiles struck Kharkiv overnight and troops pressed an offensive near the front line in Ukraine.",
    )
    assert "sub:war-in-ukraine" in {t.code for t in war.topics}
    grain = tagger.tag(
        "Ukraine grain harvest", "Ukraine's farmers expect a record wheat harvest this summer."
    )
    assert "sub:war-in-ukraine" not in {t.code for t in grain.topics}


def test_an_outlet_can_define_its_own_subtopic(tmp_path):
    (tmp_path / "tagging").mkdir()
    (tmp_path / "tagging" / "subtopics.toml").write_text(
        '[cocoa]\nlabel = "cocoa market"\nterms = ["cocoa"]\nmin_hits = 1\n', encoding="utf-8"
    )
    tags = Tagger.load(tmp_path, cache_dir=None).tag(
        "Cocoa prices jump", "Cocoa futures rose as rain hit the harvest."
    )
    assert ("sub:cocoa", "cocoa market") in {(t.code, t.label) for t in tags.topics}


def test_no_words_no_topics(tagger):
    assert tagger.tag("", "").topics == ()
