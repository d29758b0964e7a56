"""Country gazetteers beyond English: one per language, built on first use from three sources.

1. pycountry's own gettext catalogues (`iso3166-1` in `pycountry.LOCALES_DIR`): every country's name,
   common and official name in that language. A catalogue name with a comma or brackets ("Russie,
   Fédération de", "Bolivie (État plurinational de)") also gives its head ("Russie") unless two countries
   share it ("Corée"). Russian and Ukrainian names are declined (Россия, России, Россию, Россией) and
   German ones take the genitive -s (Russlands), by the rules in `_inflect`; over-generated forms cost
   nothing.
2. `countries.<lang>.tsv` in the tagging data folders: common names, demonyms and adjectives, cities,
   metonyms, stop entries and person titles (kind `title`), in the columns of aliases.tsv. A text may
   carry endings: `{a,b}` alternatives ("Russ{e,en,in}") or `@name` for a line `@name<TAB>ending,ending`
   ("российск@adj"); an empty alternative is the bare stem. These rows win over the catalogue.
3. `cities.<lang>.tsv`: the big cities' and capitals' names in that language (Moskau, Varsovie, Пекин), from
   GeoNames' alternate names kept only where the language's dictionary lists them as names; written by
   tools/build_city_names.py, declined like the catalogue's names; they never replace 1. or 2.
4. From the English gazetteer: cities, states and regions (their spellings travel: Berlin, Kharkiv) and
   acronyms (USA, UK).

Capitalised neighbours do not make a place a person's name here (German capitalises every noun); a
title before it ("Herr", "M.", "г-н") still does. No topic lexicon is involved: see tagger.py.
"""

from __future__ import annotations

import gettext
import itertools
import re

from feedpipe.tagging.gazetteer import Entry, Gazetteer, PersonRules, _assemble
from feedpipe.tagging.resources import DataFiles
from feedpipe.tagging.textnorm import fold, pattern, strip_accents

UNSPACED = frozenset({"ja", "zh"})  # written without spaces between words: names match inside runs of text
_BRACES = re.compile(r"\{([^{}]*)\}")
_MACRO = re.compile(r"@(\w+)")
_VOWELS = {"ru": "аеёиоуыэюя", "uk": "аеєиіїоуюя"}
_ENDINGS: dict[str, dict[str, tuple[str, ...]]] = {
    # what a name ending in (key) may end in instead, per language; "" = a consonant
    "ru": {"ия": ("ия", "ии", "ию", "ией"), "а": ("а", "ы", "и", "е", "у", "ой", "ей"), "я": ("я", "и", "е", "ю", "ей"),
           "й": ("й", "я", "ю", "ем", "е"), "ь": ("ь", "я", "ю", "ем", "и", "е", "ью"), "": ("", "а", "у", "ом", "е")},
    "uk": {"ія": ("ія", "ії", "ію", "ією"), "а": ("а", "и", "і", "у", "ою"), "я": ("я", "і", "ю", "ею"),
           "й": ("й", "ю", "я", "єм", "ї"), "ь": ("ь", "я", "ю", "ем", "і", "сю"), "": ("", "у", "а", "ом", "і")},
}


def expand(text: str, macros: dict[str, str]) -> list[str]:
    """'Russ{e,en}' -> ['Russe', 'Russen']; '@adj' is replaced by its ending list first."""
    text = _MACRO.sub(lambda m: "{" + macros.get(m.group(1), "") + "}", text)
    parts = _BRACES.split(text)  # literal, choices, literal, choices, ...
    pools = [parts[i].split(",") if i % 2 else [parts[i]] for i in range(len(parts))]
    return ["".join(p).strip() for p in itertools.product(*pools)]


def _inflect(name: str, lang: str) -> list[str]:
    """The case forms of a one-word country name (Russian, Ukrainian), or its genitive (German)."""
    if " " in name or "-" in name:
        return [name]
    if lang == "de":
        return [name] if name.endswith(("s", "x", "z", "ß")) else [name, name + "s"]
    table = _ENDINGS.get(lang)
    if table is None or len(name) < 4:
        return [name]
    for ending in ("ия", "ія", "а", "я", "й", "ь"):
        if ending in table and name.endswith(ending):
            stem = name[: -len(ending)]
            return [stem + e for e in table[ending]]
    if name[-1] in _VOWELS[lang]:
        return [name]  # Перу, Чили, Того: not declined
    return [name + e for e in table[""]]


def _key(text: str, lang: str) -> str:
    """The automaton key: a word start (leading space) where words are spaced; none in Japanese or Chinese."""
    return fold(text).strip() if lang in UNSPACED else pattern(text)


def _catalogue(lang: str) -> tuple[dict[str, Entry], bool]:
    """Names from pycountry's translations (none when it has no catalogue for `lang`)."""
    import pycountry  # on first use of a language, not at start-up (see gazetteer._pycountry_entries)

    try:
        tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
    except OSError:
        return {}, False
    claims: dict[str, set[str]] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            english = getattr(c, attr, None)
            if not english:
                continue
            local = tr.gettext(english)
            heads = [local.split(",")[0].split("(")[0].strip()] if ("," in local or "(" in local) else []
            for n in heads or [local]:
                claims.setdefault(n, set()).add(c.alpha_2)
    entries: dict[str, Entry] = {}
    for n, codes in claims.items():
        if len(codes) != 1 or len(n) < 3:
            continue  # "Corée" is both Koreas: the language file says which is which
        code = next(iter(codes))
        for form in _inflect(n, lang):
            for f in {form, strip_accents(form)}:
                entries.setdefault(_key(f, lang), Entry(f, (code,), "name"))
    return entries, True


def build_language(files: DataFiles, lang: str, base: Gazetteer) -> Gazetteer | None:
    """The gazetteer for `lang`, or None when neither pycountry nor a data file knows the language."""
    entries, known = _catalogue(lang)
    titles: set[str] = set()
    macros: dict[str, str] = {}
    rows = list(files.tsv_rows(f"countries.{lang}.tsv"))
    if not known and not rows:  # (a cities file alone does not make a language known)
        return None
    for key, e in base.entries.items() if lang not in UNSPACED else ():
        if e.kind in ("place", "state", "region") or e.acronym:
            entries.setdefault(key, e)
    for name, code, *_ in (r for r in files.tsv_rows(f"cities.{lang}.tsv") if len(r) >= 2):
        for form in _inflect(name.strip(), lang):
            for n in {form, strip_accents(form)}:
                entries.setdefault(_key(n, lang), Entry(n, (code.strip(),), "place"))
    for row in rows:
        row += [""] * (4 - len(row))
        text, codes, kind, flags = (x.strip() for x in row[:4])
        if text.startswith("@"):
            macros[text[1:]] = codes
            continue
        if kind == "title":
            titles.update(expand(text, macros))
            continue
        code_t = () if codes == "-" else tuple(codes.split("|"))
        for form in expand(text, macros):
            for n in {form, strip_accents(form)}:
                entries[_key(n, lang)] = Entry(n, code_t, kind, "p" in flags, "w" in flags, "a" in flags)
    places = dict(base.dateline_places)
    for key, e in entries.items():
        if e.codes and e.kind in ("place", "state", "name"):
            places.setdefault(key, e.codes[0])
    rules = PersonRules(frozenset(titles), frozenset(), frozenset(), by_case=False)  # English institution words
    # ("University of") rarely stand in other languages' text
    return _assemble(entries, dict(base.names), places, dict(base.qualifiers), rules, lang not in UNSPACED)
