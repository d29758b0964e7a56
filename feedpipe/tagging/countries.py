"""Countries an article is about (focus) or names in passing (mention), with the evidence for each.

Steps, each cheap: one longest-match Aho-Corasick scan of the folded text ("South Sudan" hides "Sudan",
"Papua New Guinea" hides "Guinea"; "Niger" never matches inside "Nigeria" because patterns are whole
words); a capitalisation check against the original (so "turkey" and "chad" are words, "US" must be upper
case); person-name patterns drop "Jordan Pickford", "Denzel Washington", "Mr Jordan"; a shared name
(Georgia, St. Petersburg, Korea, Congo) takes the reading its hint words, its neighbour ("Atlanta,
Georgia", "St. Petersburg, Florida", "Florida, Uruguay") and the outlet's country point to.
Then each country is scored by where it appears (headline and dateline weigh most, then the lead,
then the rest) and every country close enough to the top, or named up front, is focus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import cast

from feedpipe.core.model import CountryTag
from feedpipe.tagging.datelines import Dateline, read_dateline
from feedpipe.tagging.gazetteer import KIND_WEIGHT, Entry, Gazetteer, GeoHit, PersonRules, folded
from feedpipe.tagging.textnorm import pattern

ZONE_WEIGHT = {"title": 3.0, "dateline": 3.0, "lead": 1.5, "body": 1.0}
LEAD_MIN, LEAD_MAX = 40, 250  # the lead is the body's first sentence, within these many characters
FOCUS_SHARE = 0.5  # a country scoring at least this share of the top score is focus
WORD = "-"  # the reading "a common word, not a country" of a name whose hints list words for it
LEAD_FOCUS_SHARE = 0.1  # ... or this share, when it is named in the lead: the first sentence says what
# a story is about, so "refugees from Sudan crossed into South Sudan" makes both focus


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article laid out once for both taggers: headline and body joined, folded, zones marked."""

    full: str
    low: str
    title_end: int
    body_start: int
    dateline: Dateline | None
    lead_end: int

    @classmethod
    def of(cls, gz: Gazetteer, title: str, body: str) -> Prepared:
        dl = read_dateline(body, gz)
        full = title + "\n\n" + body
        off = len(title) + 2
        lead_start = off + dl.end if dl else off
        stop = full.find(". ", lead_start + LEAD_MIN, lead_start + LEAD_MAX)
        if stop < 0:  # Japanese and Chinese end a sentence with "。"
            stop = full.find("。", lead_start + LEAD_MIN // 4, lead_start + LEAD_MAX)
        lead_end = stop + 1 if stop > 0 else lead_start + LEAD_MAX
        return cls(full, folded(full), len(title), off, dl, lead_end)


_Match = tuple[int, int, str, Entry, str]
"""An accepted match: (start, end, key, entry, zone), start and end the offsets of the matched words in the
original text. A plain tuple, as the automaton's hits are: about 20 per article, made in the hot loop."""


def _word_before(text: str, start: int) -> str:
    if start < 2 or not text[start - 1].isspace() or text[start - 2].isspace():
        return ""
    i = start - 1
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return text[i : start - 1]


def _word_after(text: str, end: int) -> str:
    if end + 1 >= len(text) or not text[end].isspace() or text[end + 1].isspace():
        return ""
    j = end + 1
    while j < len(text) and (text[j].isalpha() or text[j] in "-'"):
        j += 1
    return text[end + 1 : j]


def _is_name_word(w: str) -> bool:
    """A capitalised, mixed-case word such as 'Pickford' or 'McDonnell' (not 'NEWS', not 'said')."""
    return len(w) > 1 and w[0].isupper() and not w.isupper()


def _person(m: _Match, text: str, gz: Gazetteer, match_ends: set[int], match_starts: set[int]) -> bool:
    """Is this place name part of a person's name here ("Jordan Pickford", "Denzel Washington")?"""
    rules = gz.people
    start, end = m[0], m[1]
    before = _word_before(text, start)
    if before in rules.titles:
        return True
    if not rules.by_case:
        return False
    after = _word_after(text, end)
    if _is_name_word(after) and after not in rules.place_followers and (end + 1) not in match_starts:
        return True
    return _is_name_word(before) and before not in rules.place_preceders and (start - 1) not in match_ends


def _institution(full: str, start: int, end: int, rules: PersonRules, last_letters: frozenset[str]) -> bool:
    """Is this place part of an institution's name ("Georgetown University", "University of Tokyo")?
    `last_letters`: _last_letters(rules.institution_before), looked up once per article (_institution_gate)."""
    if full[end : end + 1] == " " and full[end + 1 : end + 2].isupper() and full.startswith(rules.institution_after, end + 1):
        return True
    return full[start - 2 : start - 1] in last_letters and full[
        max(0, start - 40) : start
    ].rstrip(" ").endswith(rules.institution_before)


_PLACE_KINDS = frozenset({"place", "state", "name", "region"})
_NONE: frozenset[str] = frozenset()


@lru_cache(maxsize=8)
def _institution_words(rules: PersonRules) -> frozenset[str]:
    """Keys of the first words of the institution phrases ("University", "College"): the gazetteer holds
    them as hint entries, so an article that names none of them skips the institution test."""
    return frozenset(pattern(p.split()[0]) for p in (*rules.institution_after, *rules.institution_before) if p)


@lru_cache(maxsize=8)
def _last_letters(phrases: tuple[str, ...]) -> frozenset[str]:
    """The letters the words before an institution's place may end with ("University of" -> "f"): a cheap
    first test, since most places are not preceded by one."""
    return frozenset(p[-1] for p in phrases if p)


_GATES: dict[int, tuple[PersonRules, frozenset[str], frozenset[str]]] = {}  # id(rules) -> (rules, words, letters)


def _institution_gate(rules: PersonRules) -> tuple[frozenset[str], frozenset[str]]:
    """(_institution_words(rules), _last_letters(rules.institution_before)), kept per rules object and found
    by its identity, as Tagger.fast_model does: an lru_cache hashes every field of the rules (their tuples'
    hashes are not cached), some 3k instructions per article."""
    got = _GATES.get(id(rules))
    if got is None or got[0] is not rules:
        if len(_GATES) >= 16:  # a gazetteer per language: a handful; tests build many
            _GATES.clear()
        got = _GATES[id(rules)] = (rules, _institution_words(rules), _last_letters(rules.institution_before))
    return got[1], got[2]


def scan(gz: Gazetteer, art: Prepared, hits: Iterable[GeoHit] | None = None) -> tuple[list[_Match], set[str], set[str]]:
    """Accepted matches in text order; plus the keys seen anywhere and the keys seen in lower case.

    `hits`: (end, value) pairs from a shared scan (see scanner.py); by default the gazetteer scans itself.
    """
    full, low = art.full, art.low
    dl_start = art.body_start
    dl_end = art.body_start + art.dateline.end if art.dateline else dl_start
    title_end, lead_end = art.title_end, art.lead_end
    found: list[_Match] = []
    add = found.append
    seen: set[str] = set()
    add_seen = seen.add
    lower_seen: set[str] = set()
    it: Iterable[GeoHit] = gz.automaton.iter_long(low) if hits is None else hits
    spaced = gz.spaced
    for end, (key, e, back) in it:
        nxt = low[end + 1]
        if spaced and nxt != " " and nxt.isalnum():
            continue  # a longer word ("Nigerian" is not "Niger")
        add_seen(key)
        if not e.codes:
            continue  # a hint word, or a stop entry that hides the names inside it
        start = end - back  # the word starts here in the original (low has one pad char)
        if e.acronym:
            span = full[start:end]
            if not span.isupper() and any(c.islower() for c in span):  # isupper(): none is lower case
                continue
        elif e.initial_only:
            if not full[start].isupper():
                lower_seen.add(key)  # "turkey", "chad": a word, not a country
                continue
        elif not all(map(str.isupper, map(full.__getitem__, map(start.__add__, e.caps)))):  # no frame made
            if not full[start].isupper() and e.caps[:1] == (0,):
                lower_seen.add(key)
            continue  # "The valley", "new york": not the place's spelling
        if dl_start <= start < dl_end:
            continue  # the dateline is read on its own
        add((start, end, key, e, "body" if start >= lead_end else "lead" if start >= title_end else "title"))
    if found:
        rules = gz.people
        words, letters = _institution_gate(rules)
        if not seen.isdisjoint(words):  # a university named after its town
            found = [m for m in found
                     if m[3].kind not in _PLACE_KINDS or not _institution(full, m[0], m[1], rules, letters)]
    return found, seen, lower_seen


def _filter_people(found: list[_Match], art: Prepared, gz: Gazetteer, has_body: bool) -> list[_Match]:
    for m in found:
        if m[3].person:
            break
    else:
        return found
    full = art.full
    upper_title = full[: art.title_end].isupper()
    match_ends = {m[1] for m in found}
    match_starts = {m[0] for m in found}
    kept: list[_Match] = []
    person_ok: set[str] = set()
    caps_title: list[_Match] = []
    for m in found:
        if not m[3].person:
            kept.append(m)
        elif m[4] == "title" and upper_title:
            caps_title.append(m)  # "STANLEY WORKS <SWK>": no case to read, so the body decides
        elif not _person(m, full, gz, match_ends, match_starts):
            person_ok.add(m[2])
            kept.append(m)
    if caps_title:
        kept = [m for m in caps_title if m[2] in person_ok or not has_body] + kept
    return kept


def _resolve(e: Entry, seen: set[str], plain: dict[str, int], source_country: str | None) -> str:
    """Pick the reading of a shared name: hint words, then other evidence, then the outlet's country."""
    best, best_score = e.codes[0], -1.0
    readings = e.codes + (WORD,) if e.hints and WORD in e.hints else e.codes
    for i, code in enumerate(readings):
        s = 0.01 * (len(readings) - i)
        if code == WORD and e.hints:  # "roast", "stuffing" near "Turkey": the bird, one point a word
            s += min(len(e.hints[WORD] & seen), 3)
        elif e.hints and code in e.hints:
            s += 3.0 * len(e.hints[code] & seen)
        s += min(plain.get(code, 0), 3)
        if code == source_country:
            s += 0.5
        if s > best_score:
            best, best_score = code, s
    return best


def _assign_codes(
    found: list[_Match], full: str, seen: set[str], dl: Dateline | None, source: str | None
) -> tuple[list[str], dict[str, int]]:
    """Every match's country code (in the order of `found`), and how often each code was named unambiguously."""
    plain: dict[str, int] = {}
    codes: list[str | None] = []
    for m in found:
        e = m[3]
        if len(e.codes) == 1 and not (e.hints and WORD in e.hints):
            code = e.codes[0]
            codes.append(code)
            plain[code] = plain.get(code, 0) + 1
        else:
            codes.append(None)
    if dl:
        plain[dl.code] = plain.get(dl.code, 0) + 2
    # neighbours: "Atlanta, Georgia", "St. Petersburg, Florida", "Florida, Uruguay"
    for i in range(len(found) - 1):
        a, b = found[i], found[i + 1]
        if b[0] - a[1] > 3 or full[a[1] : b[0]].strip() != ",":
            continue
        a_code, b_code = codes[i], codes[i + 1]
        if b_code is None and a_code in b[3].codes:
            codes[i + 1] = a_code
        elif a_code is None and b_code in a[3].codes:
            codes[i] = b_code
        elif a[3].kind in ("place", "state") and b[3].kind == "name" and b_code and a_code != b_code:
            if a_code:
                plain[a_code] -= 1
            codes[i] = b_code  # a town of that name in that country
    if None in codes:
        codes = [c if c is not None else _resolve(m[3], seen, plain, source) for m, c in zip(found, codes, strict=True)]
    return cast(list[str], codes), plain


def tag_countries(
    gz: Gazetteer, art: Prepared, source_country: str | None = None, hits: Iterable[GeoHit] | None = None
) -> tuple[CountryTag, ...]:
    found, seen, lower_seen = scan(gz, art, hits)
    found = _filter_people(found, art, gz, has_body=len(art.full) > art.body_start)
    dl = art.dateline
    codes, plain = _assign_codes(found, art.full, seen, dl, source_country)

    # a common word seen in lower case ("turkey") makes its capitalised form the word too ("Turkey is
    # best roasted"), unless other evidence points to the country
    doubtful: dict[str, int] = {}
    if lower_seen:
        for code, m in zip(codes, found, strict=True):
            if code != WORD and m[3].word and m[2] in lower_seen:
                doubtful[code] = doubtful.get(code, 0) + 1

    agg: dict[tuple[str, str, str], list[_Match]] = {}  # (code, zone, key) -> its matches
    for code, m in zip(codes, found, strict=True):
        if code == WORD:
            continue
        key = m[2]
        if doubtful and m[3].word and key in lower_seen and plain.get(code, 0) <= doubtful.get(code, 0):
            continue
        k = (code, m[4], key)
        same = agg.get(k)
        if same is None:
            agg[k] = [m]
        else:
            same.append(m)
    scores: dict[str, float] = {}
    evidence: dict[str, dict[str, int]] = {}
    zones_of: dict[str, set[str]] = {}
    treaty: dict[str, float] = {}  # "Minsk agreements": evidence shown, but a mention at most
    full = art.full
    for (code, zone, _key), same in agg.items():
        start, end, _k, e, _z = same[0]
        n = len(same)
        kind = e.kind
        weight = ZONE_WEIGHT[zone] * KIND_WEIGHT[kind] * n
        if kind == "treaty":
            treaty[code] = treaty.get(code, 0.0) + weight
        else:
            scores[code] = scores.get(code, 0.0) + weight
            z = zones_of.get(code)
            if z is None:
                zones_of[code] = {zone}
            else:
                z.add(zone)
        ev = evidence.get(code)
        if ev is None:
            ev = evidence[code] = {}
        surface = full[start:end]
        label = f"{zone}:{surface if ' ' not in surface and surface.isprintable() else ' '.join(surface.split())}"
        ev[label] = ev.get(label, 0) + n
    if dl:
        scores[dl.code] = scores.get(dl.code, 0.0) + ZONE_WEIGHT["dateline"]
        evidence.setdefault(dl.code, {})[f"dateline:{dl.place}"] = 1
        zones_of.setdefault(dl.code, set()).add("dateline")
    if not scores and not treaty:
        return ()

    capped = {code for code in treaty if code not in scores} if treaty else _NONE
    for code in capped:
        scores[code], zones_of[code] = treaty[code], set()
    top = (max((v for c, v in scores.items() if c not in capped), default=0.0) if capped else 0.0) or max(
        scores.values())
    ranked: list[tuple[tuple[bool, float, str], CountryTag]] = []  # (sort key, tag): one code each, so no ties
    for code, score in scores.items():
        z = zones_of[code]
        share = min(score / top, 1.0)
        focus = code not in capped and (
            "title" in z
            or "dateline" in z
            or share >= FOCUS_SHARE
            or ("lead" in z and share >= LEAD_FOCUS_SHARE)
        )
        ev = evidence[code]
        labels = tuple(ev) if max(ev.values()) == 1 else tuple([f"{k} x{n}" if n > 1 else k for k, n in ev.items()])
        rounded = 1.0 if share == 1.0 else round(share, 3)  # (the top country's share: round() is slow)
        ranked.append(((not focus, -rounded, code), CountryTag(
            code=code, name=gz.names.get(code, code), role="focus" if focus else "mention", score=rounded,
            evidence=labels)))
    ranked.sort()  # focus first, then by score, then by code
    return tuple(map(itemgetter(1), ranked))
