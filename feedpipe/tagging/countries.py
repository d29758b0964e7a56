"""Countries an article is about (focus) or names in passing (mention), with the evidence for each.

Steps, each cheap: one Aho-Corasick scan of the folded text; a capitalisation check against the original
(so "turkey" and "chad" are words, "US" must be upper case); longest match wins ("South Sudan" hides
"Sudan", "Papua New Guinea" hides "Guinea"; "Niger" never matches inside "Nigeria" because patterns are
whole words); person-name patterns drop "Jordan Pickford", "Denzel Washington", "Mr Jordan"; a shared
name (Georgia, St. Petersburg, Korea, Congo) takes the reading its hint words, its neighbour ("Atlanta,
Georgia", "St. Petersburg, Florida", "Florida, Uruguay") and the outlet's country point to.
Then every country is scored by where it appears (headline and dateline weigh most, then the lead).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from feedpipe.model import CountryTag
from feedpipe.tagging.datelines import Dateline, read_dateline
from feedpipe.tagging.gazetteer import Entry, Gazetteer, folded

ZONE_WEIGHT = {"title": 3.0, "dateline": 3.0, "lead": 1.5, "body": 1.0}
LEAD_CHARS = 300
FOCUS_SHARE = 0.5  # a country scoring at least this share of the top score is focus
LEAD_FOCUS_SHARE = 0.25  # ... or this share, when it is also named in the headline area or lead


@dataclass(slots=True)
class _Match:
    start: int  # offsets of the matched words in the original text
    end: int
    key: str
    entry: Entry
    zone: str
    code: str | None = None


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
    """A capitalised, mixed-case word such as 'Pickford' (not 'NEWS', not 'said')."""
    return len(w) > 1 and w[0].isupper() and w[1:].islower()


def _person(m: _Match, text: str, gz: Gazetteer, match_ends: set[int], match_starts: set[int]) -> bool:
    rules = gz.people
    before = _word_before(text, m.start)
    if before in rules.titles:
        return True
    after = _word_after(text, m.end)
    if _is_name_word(after) and after not in rules.place_followers and (m.end + 1) not in match_starts:
        return True
    return (
        _is_name_word(before)
        and before not in rules.place_preceders
        and (m.start - 1) not in match_ends
    )


def scan(
    gz: Gazetteer, full: str, low: str, zones: tuple[int, int, int, int]
) -> tuple[list[_Match], set[str], set[str]]:
    """All accepted matches, longest first; plus the keys seen anywhere and the keys seen lower case."""
    title_end, dl_start, dl_end, lead_end = zones
    raw: list[_Match] = []
    seen: set[str] = set()
    lower_seen: set[str] = set()
    for end, (key, e) in gz.automaton.iter(low):
        start = end - len(key) + 1  # in `low`; the original word starts here too (low has one pad char)
        wend = end - 1
        seen.add(key)
        if not e.codes and e.kind == "hint":
            continue
        first = full[start]
        if e.acronym:
            if any(c.islower() for c in full[start:wend]):
                continue
        elif not first.isupper():
            if first.isalpha():
                lower_seen.add(key)
                continue
        if start < title_end:
            zone = "title"
        elif dl_start <= start < dl_end:
            continue  # the dateline is read on its own
        elif start < lead_end:
            zone = "lead"
        else:
            zone = "body"
        raw.append(_Match(start, wend, key, e, zone))
    raw.sort(key=lambda m: (m.start, -m.end))
    kept: list[_Match] = []
    last = -1
    for m in raw:
        if m.start >= last:
            kept.append(m)
            last = m.end
    return kept, seen, lower_seen


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
        return cls(full, folded(full), len(title), off, dl, lead_start + LEAD_CHARS)


def tag_countries(gz: Gazetteer, art: Prepared, source_country: str | None = None) -> tuple[CountryTag, ...]:
    dl = art.dateline
    full = art.full
    title = full[: art.title_end]
    body = full[art.body_start :]
    dl_end = art.body_start + dl.end if dl else art.body_start
    kept, seen, lower_seen = scan(gz, full, art.low, (art.title_end, art.body_start, dl_end, art.lead_end))
    upper_title = title.isupper()

    match_ends = {m.end for m in kept}
    match_starts = {m.start for m in kept}
    found: list[_Match] = []
    person_ok: set[str] = set()  # person-prone names accepted as places in mixed-case text
    caps_title: list[_Match] = []
    for m in kept:
        e = m.entry
        if not e.codes:
            continue  # stop entry: it only hid the names inside it
        if e.person:
            if m.zone == "title" and upper_title:
                caps_title.append(m)  # "STANLEY WORKS": no case to read; judged by the body below
                continue
            if _person(m, full, gz, match_ends, match_starts):
                continue
            person_ok.add(m.key)
        found.append(m)
    found[:0] = [m for m in caps_title if m.key in person_ok or not body]

    plain: dict[str, int] = defaultdict(int)  # unambiguous evidence per code
    for m in found:
        if len(m.entry.codes) == 1:
            m.code = m.entry.codes[0]
            plain[m.code] += 1
    if dl:
        plain[dl.code] += 2

    # neighbours: "Atlanta, Georgia", "St. Petersburg, Florida", "Florida, Uruguay"
    for a, b in zip(found, found[1:], strict=False):
        gap = full[a.end : b.start]
        if gap.strip() != "," or len(gap) > 3:
            continue
        if b.code is None and a.code in b.entry.codes:
            b.code = a.code
        elif a.code is None and b.code in a.entry.codes:
            a.code = b.code
        elif a.entry.kind in ("place", "state") and b.entry.kind in ("name", "state") and b.code:
            if b.entry.kind == "name" and a.code != b.code:
                plain[a.code or ""] -= 1
                a.code = b.code  # a town of that name in that country

    for m in found:
        if m.code is None:
            m.code = _resolve(m.entry, seen, plain, source_country)

    # common words: "turkey" lower case in the same article makes "Turkey" the bird too,
    # unless something else points to the country
    drop_words = {m.key for m in found if m.entry.word and m.key in lower_seen}

    scores: dict[str, float] = defaultdict(float)
    evidence: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    zones_of: dict[str, set[str]] = defaultdict(set)
    for m in found:
        code = m.code
        if m.key in drop_words and plain.get(code, 0) <= sum(1 for x in found if x.key == m.key):
            continue
        scores[code] += ZONE_WEIGHT[m.zone] * m.entry.weight
        evidence[code][f"{m.zone}:{full[m.start : m.end]}"] += 1
        zones_of[code].add(m.zone)
    if dl:
        scores[dl.code] += ZONE_WEIGHT["dateline"]
        evidence[dl.code][f"dateline:{dl.place}"] += 1
        zones_of[dl.code].add("dateline")
    if not scores:
        return ()

    top = max(scores.values())
    tags = []
    for code, score in scores.items():
        z = zones_of[code]
        share = score / top
        focus = (
            "title" in z
            or "dateline" in z
            or share >= FOCUS_SHARE
            or ("lead" in z and share >= LEAD_FOCUS_SHARE)
        )
        ev = tuple(f"{k} x{n}" if n > 1 else k for k, n in evidence[code].items())
        tags.append(
            CountryTag(
                code=code,
                name=gz.names.get(code, code),
                role="focus" if focus else "mention",
                score=round(share, 3),
                evidence=ev,
            )
        )
    tags.sort(key=lambda t: (t.role != "focus", -t.score, t.code))
    return tuple(tags)


def _resolve(e: Entry, seen: set[str], plain: dict[str, int], source_country: str | None) -> str:
    """Pick the reading of a shared name: hint words, then other evidence, then the outlet's country."""
    best, best_score = e.codes[0], -1.0
    for i, code in enumerate(e.codes):
        s = 0.01 * (len(e.codes) - i)
        if e.hints and code in e.hints:
            s += 3.0 * len(e.hints[code] & seen)
        s += min(plain.get(code, 0), 3)
        if code == source_country:
            s += 0.5
        if s > best_score:
            best, best_score = code, s
    return best
