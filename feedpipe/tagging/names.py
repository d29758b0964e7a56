"""Names people read: the one owner of how a country code or a topic code is shown, and of reading a
name, code or slug a person typed back into a code.

- Countries: ISO 3166-1 alpha-2 codes shown by their common English name (pycountry's `common_name`
  where it has one, else its `name`, with a few short forms people use: "Russia", "DR Congo").
- Topics: IPTC Media Topic codes and the outlet's subtopics (`sub:sanctions`) shown by the label the
  tagging lexicon carries (`taxonomy.toml`, `subtopics.toml`, outlet overrides included).

Codes stay codes in JSON, feeds and the store; pages, emails and CLI tables show these names. A name
that is not known is refused with the closest valid choices (`UnknownChoice`, exit code 2).

Usage: ``country_name("KP")`` -> "North Korea"; ``country_code("ukraine")`` -> "UA";
``topics = TopicNames.load(config_dir)``; ``topics.label("sub-elections")`` -> "elections";
``topics.code("Politics")`` -> "medtop:11000000".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import pycountry

from feedpipe.core.errors import FeedpipeError
from feedpipe.feeds.specs import topic_slug
from feedpipe.tagging.resources import DataFiles

# Where pycountry has no short common name, the form English-language news uses.
SHORT_NAMES = {
    "RU": "Russia",
    "CD": "DR Congo",
    "CG": "Republic of the Congo",
    "PS": "Palestine",
    "VA": "Vatican City",
    "FM": "Micronesia",
    "BN": "Brunei",
    "FK": "Falkland Islands",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
    "CC": "Cocos Islands",
    "MF": "Saint Martin",
    "SX": "Sint Maarten",
}
SUGGESTIONS = 3


class UnknownChoice(FeedpipeError):
    """A country or topic a person typed is not one feedpipe knows; the hint names the closest ones."""

    exit_code = 2

    def __init__(self, kind: str, given: str, suggestions: Iterable[str], example: str) -> None:
        self.kind, self.given, self.suggestions = kind, given, tuple(suggestions)
        hint = (f"did you mean {' or '.join(self.suggestions)}?" if self.suggestions else f"e.g. {example}")
        super().__init__(f"unknown {kind} {given!r}", hint)


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").replace("_", " ").split())


@cache
def country_names() -> Mapping[str, str]:
    """Every ISO 3166-1 alpha-2 code (upper case) and the name shown for it."""
    out: dict[str, str] = {}
    for c in pycountry.countries:
        out[c.alpha_2] = SHORT_NAMES.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
    return out


@cache
def _country_lookup() -> Mapping[str, str]:
    """Folded code, alpha-3, name, common, official and shown name -> alpha-2 code."""
    out: dict[str, str] = {}
    for c in pycountry.countries:
        for form in (c.alpha_2, c.alpha_3, c.name, getattr(c, "common_name", None),
                     getattr(c, "official_name", None), country_names()[c.alpha_2]):
            if form:
                out.setdefault(_fold(form), c.alpha_2)
    return out


def country_name(code: str) -> str:
    """The name shown for an alpha-2 code ("KG" -> "Kyrgyzstan"); an unknown code is shown as given."""
    return country_names().get((code or "").strip().upper(), code)


def country_code(text: str) -> str:
    """The alpha-2 code of a code or name a person typed ("ua", "UA", "Ukraine", "UKR"); UnknownChoice
    with the closest names when it is none of them."""
    found = _country_lookup().get(_fold(text or ""))
    if found is not None:
        return found
    names = country_names()
    by_name = {_fold(name): code for code, name in names.items()}
    close = difflib.get_close_matches(_fold(text or ""), list(by_name), n=SUGGESTIONS, cutoff=0.6)
    suggestions = [f"{names[by_name[n]]} ({by_name[n]})" for n in close]
    if not suggestions and len((text or "").strip()) == 2:  # a two-letter typo: codes that share a letter
        t = text.strip().upper()
        suggestions = [f"{names[c]} ({c})" for c in sorted(names) if c[0] == t[0] or c[1] == t[1]][:SUGGESTIONS]
    raise UnknownChoice("country", text, suggestions, "UA or Ukraine")


def country_codes(texts: Iterable[str]) -> list[str]:
    """Every entry read with `country_code`, duplicates dropped, in the order given."""
    return list(dict.fromkeys(country_code(t) for t in texts if t and t.strip()))


@dataclass(frozen=True)
class TopicNames:
    """Topic codes and their labels (IPTC top level, then the outlet's subtopics), from the lexicon."""

    labels: Mapping[str, str]  # code -> label

    @classmethod
    def from_files(cls, files: DataFiles) -> TopicNames:
        labels = {str(k): str(v) for k, v in dict(files.toml("taxonomy.toml").get("topics", {})).items()}
        for slug, table in files.toml("subtopics.toml").items():
            label = table.get("label", slug) if isinstance(table, dict) else slug
            labels[f"sub:{slug}"] = str(label)
        return cls(labels)

    @classmethod
    def load(cls, config_dir: Path | None = None) -> TopicNames:
        """The packaged lexicon plus the outlet's `config_dir/tagging/` overrides."""
        return cls.from_files(DataFiles.for_config(config_dir))

    def slug(self, code: str) -> str:
        """The feed slug of a code ("medtop:11000000" -> "politics", "sub:sanctions" -> "sub-sanctions")."""
        return topic_slug(code, self.labels.get(code, code))

    @cached_property
    def _lookup(self) -> dict[str, str]:
        """Folded code, slug, label (and a subtopic's bare slug) -> code, built once."""
        out: dict[str, str] = {}
        for code, label in self.labels.items():
            for form in (code, self.slug(code), label):
                out.setdefault(_fold(form), code)
            if code.startswith("sub:"):
                out.setdefault(_fold(code[4:]), code)
        return out

    def find(self, text: str) -> str | None:
        """The code of a code, feed slug or label, or None."""
        return self._lookup.get(_fold(text or ""))

    def label(self, code_or_slug: str) -> str:
        """The label shown for a code or slug; an unknown one is shown as given."""
        code = self.find(code_or_slug)
        return self.labels[code] if code is not None else code_or_slug

    def code(self, text: str) -> str:
        """The code of a code, slug or label a person typed; UnknownChoice with the closest labels."""
        code = self.find(text)
        if code is not None:
            return code
        lookup = self._lookup
        close = difflib.get_close_matches(_fold(text or ""), list(lookup), n=SUGGESTIONS * 2, cutoff=0.6)
        codes = list(dict.fromkeys(lookup[n] for n in close))[:SUGGESTIONS]
        raise UnknownChoice("topic", text, [self.shown(c) for c in codes],
                            "one of " + ", ".join(self.slug(c) for c in self.labels))

    def shown(self, code: str) -> str:
        """How a choice is named in a message: the label, and the slug to type when it differs."""
        label, slug = self.labels.get(code, code), self.slug(code)
        return label if slug == label else f"{label} ({slug})"

    def codes(self, texts: Iterable[str]) -> list[str]:
        """Every entry read with `code`, duplicates dropped, in the order given."""
        return list(dict.fromkeys(self.code(t) for t in texts if t and t.strip()))
