"""The tag records (core.model's CountryTag, TopicTag, Tags) are slotted frozen dataclasses (issue 12, speed:
cheaper to build per article); they still behave as the plain frozen ones did: keyword-only, immutable,
equal and hashed by value, copied by dataclasses.replace, and pickled (an ingest's worker processes send
tagged articles back) at every protocol."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from feedpipe.core.model import Article, CountryTag, Tags, TopicTag

KENYA = CountryTag(code="KE", name="Kenya", role="focus", score=1.0, evidence=("title:Kenya", "body:Nairobi x2"))
POLITICS = TopicTag(code="medtop:11000000", label="politics", score=0.734)
TAGS = Tags(countries=(KENYA,), topics=(POLITICS,), section="world", language="en", notes=("language en",))


@pytest.mark.parametrize("record", [KENYA, POLITICS, TAGS])
def test_a_record_survives_pickling_and_copying(record):
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(record, protocol))
        assert back == record and hash(back) == hash(record) and back is not record
    assert copy.deepcopy(record) == record and copy.copy(record) == record


def test_records_are_frozen_keyword_only_and_compared_by_value():
    with pytest.raises(dataclasses.FrozenInstanceError):
        KENYA.score = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        CountryTag("KE", "Kenya", "focus", 1.0)  # type: ignore[misc]
    assert not hasattr(KENYA, "__dict__")  # slotted
    moved = dataclasses.replace(KENYA, role="mention", score=0.25)
    assert moved == CountryTag(code="KE", name="Kenya", role="mention", score=0.25, evidence=KENYA.evidence)
    assert moved != KENYA and len({KENYA, moved, dataclasses.replace(moved, role="focus", score=1.0)}) == 2
    assert dataclasses.asdict(TAGS)["countries"][0]["evidence"] == ("title:Kenya", "body:Nairobi x2")
    assert Tags() == Tags(countries=(), topics=(), section=None, language=None, notes=())


def test_an_article_with_tags_pickles_as_a_worker_sends_it():
    art = Article(id="a1", url="https://example.org/a", canonical_url="https://example.org/a", title="Kenya votes",
                  source="example", countries=TAGS.countries, topics=TAGS.topics)
    back = pickle.loads(pickle.dumps(art, pickle.HIGHEST_PROTOCOL))
    assert back == art and back.countries[0].evidence == KENYA.evidence and back.topics == (POLITICS,)
