"""The tag records (core.model's CountryTag, TopicTag, Tags) built the quick way in tag()'s inner loop.

A frozen dataclass's generated __init__ sets each field with object.__setattr__, about 2 us for a
five-field record and 7-8 records per 600-word article. These functions make the same objects (same
class, same fields in the same order: ==, hash, repr and pickle cannot tell them apart) by filling the
new instance's __dict__, in about a third of the time. They do so only while a class is plain (no
__post_init__, no __slots__, exactly these fields, checked at import): otherwise the class's own
constructor runs, so a check added to core/model.py later is never skipped.
"""

from __future__ import annotations

from dataclasses import fields

from feedpipe.core.model import CountryTag, Role, Tags, TopicTag

_new = object.__new__


def _plain(cls: type, names: tuple[str, ...]) -> bool:
    return (
        "__post_init__" not in dir(cls)
        and "__slots__" not in cls.__dict__
        and tuple(f.name for f in fields(cls)) == names
    )


PLAIN = (
    _plain(CountryTag, ("code", "name", "role", "score", "evidence"))
    and _plain(TopicTag, ("code", "label", "score"))
    and _plain(Tags, ("countries", "topics", "section", "language", "notes"))
)


def country_tag(code: str, name: str, role: Role, score: float, evidence: tuple[str, ...]) -> CountryTag:
    if not PLAIN:
        return CountryTag(code=code, name=name, role=role, score=score, evidence=evidence)
    tag = _new(CountryTag)
    d = tag.__dict__
    d["code"] = code
    d["name"] = name
    d["role"] = role
    d["score"] = score
    d["evidence"] = evidence
    return tag


def topic_tag(code: str, label: str, score: float) -> TopicTag:
    if not PLAIN:
        return TopicTag(code=code, label=label, score=score)
    tag = _new(TopicTag)
    d = tag.__dict__
    d["code"] = code
    d["label"] = label
    d["score"] = score
    return tag


def tags(
    countries: tuple[CountryTag, ...],
    topics: tuple[TopicTag, ...],
    section: str | None,
    language: str | None,
    notes: tuple[str, ...],
) -> Tags:
    if not PLAIN:
        return Tags(countries=countries, topics=topics, section=section, language=language, notes=notes)
    out = _new(Tags)
    d = out.__dict__
    d["countries"] = countries
    d["topics"] = topics
    d["section"] = section
    d["language"] = language
    d["notes"] = notes
    return out
