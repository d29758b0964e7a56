"""Topics: IPTC Media Topics (top level) from a weighted, hand-written lexicon, plus outlet subtopics.

Why a lexicon and not a model: it ships as a readable TSV an editor can fix, loads in milliseconds, runs
offline and cannot have been fitted to the evaluation data. Terms are matched with Aho-Corasick on the
same folded text as the gazetteer; the longest term wins ("drone strike" is conflict, so "strike" inside
it does not also count as labour), and a capitalised term ("Labour") overrides the lower-case one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import ahocorasick

from feedpipe.core.model import TopicTag
from feedpipe.tagging.resources import DataFiles
from feedpipe.tagging.textnorm import fold

ZONE_WEIGHT = (2.5, 1.5, 1.0)  # title, lead, body
REPEAT_BONUS = 0.25  # a term counts once at the weight of its best zone, plus this per repeat...
MAX_REPEATS = 4  # ... for up to this many repeats: how many different topic words a story uses says
# more than how often it repeats one of them
SECOND_SHARE = 0.4  # a second or third topic needs this share of the best topic's score
MAX_TOPICS = 3
_TITLE, _LEAD, _MASK = 1 << 40, 1 << 20, (1 << 20) - 1  # bit fields of the per-term tally

TermValue = tuple[str | None, str | None, str, int]
"""What the automaton holds per pattern: (whole-word key, prefix key, cased form or "", characters from
the match's last character back to the word's first). Every pattern has at least one of the two keys."""
TermHit = tuple[int, TermValue]
"""(offset of the match's last character in the folded text, value): what a scan yields."""


@dataclass(frozen=True)
class Subtopic:
    """An outlet's own tag, e.g. "sub:sanctions": fires on its terms, optionally only with given
    focus countries and IPTC topics (so "war in Ukraine" needs Ukraine and conflict)."""

    code: str
    label: str
    terms: frozenset[str]
    min_hits: int = 1
    countries: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()  # every key a hit on a term is tallied under (set in __post_init__)

    def __post_init__(self) -> None:
        keys: set[str] = set()
        for k in self.terms:  # whole word, prefix, capitalised: see score_topics
            keys.update((k, k + "^"))
            if not k.endswith("$"):
                keys.update((k + "$", k + "$^"))
        object.__setattr__(self, "keys", frozenset(keys))


@dataclass(frozen=True)
class Taxonomy:
    labels: dict[str, str]
    automaton: ahocorasick.Automaton  # pattern -> TermValue
    weights: dict[str, tuple[tuple[str, float], ...]]  # key (key + "^" when cased) -> ((code, weight), ...)
    subtopics: tuple[Subtopic, ...]
    scaled: _Scaled = field(init=False, compare=False, repr=False)  # for scores_of_tally, filled as used

    def __post_init__(self) -> None:
        object.__setattr__(self, "scaled", _Scaled(self.weights))


def _key(term: str) -> str:
    """' elect*' stays a prefix (any ending); other keys get the marker '$' = must end a word."""
    prefix = term.endswith("*")
    body = fold(term.rstrip("*")).strip()
    return " " + body + ("" if prefix else "$")


def build(files: DataFiles) -> Taxonomy:
    labels = dict(files.toml("taxonomy.toml").get("topics", {}))
    plain: dict[str, dict[str, float]] = defaultdict(dict)
    cased: dict[str, dict[str, float]] = defaultdict(dict)
    forms: dict[str, str] = {}
    for row in files.tsv_rows("topic_terms.tsv"):
        if len(row) < 3:
            continue
        term, code, weight = row[0].strip(), row[1].strip(), float(row[2])
        key = _key(term)
        if term != term.lower():
            cased[key][code] = weight
            forms[key] = term.rstrip("*")
        else:
            plain[key][code] = weight
    subs = []
    for slug, t in files.toml("subtopics.toml").items():
        subs.append(
            Subtopic(
                code=f"sub:{slug}",
                label=t.get("label", slug),
                terms=frozenset(_key(x) for x in t.get("terms", ())),
                min_hits=int(t.get("min_hits", 1)),
                countries=frozenset(t.get("countries", ())),
                topics=frozenset(t.get("topics", ())),
            )
        )
    auto = ahocorasick.Automaton()
    weights: dict[str, tuple[tuple[str, float], ...]] = {}
    slots: dict[str, dict[str, str]] = defaultdict(dict)  # pattern -> {"$": whole-word key, "*": prefix key}
    for key in sorted(set(plain) | set(cased) | {k for s in subs for k in s.terms}):
        if key.endswith("$"):
            slots[key[:-1]]["$"] = key
        else:
            slots[key]["*"] = key
    for pat, slot in slots.items():
        kw, kp = slot.get("$"), slot.get("*")
        if kp is not None:
            weights[kp] = tuple(plain.get(kp, {}).items())
            weights[kp + "^"] = tuple(cased.get(kp, {}).items())
        if kw is not None:  # a whole word also satisfies the prefix: take the larger weight per code
            merged = dict(plain.get(kp, {})) if kp else {}
            for code, w in plain.get(kw, {}).items():
                merged[code] = max(w, merged.get(code, 0.0))
            weights[kw] = tuple(merged.items())
            weights[kw + "^"] = tuple({**cased.get(kp or "", {}), **cased.get(kw, {})}.items())
        form = forms.get(kw or "", "") or forms.get(kp or "", "")
        back = len(pat) - 1  # from the match's last character back to the word's first
        auto.add_word(pat, (kw, kp, form, back))
    auto.make_automaton()
    return Taxonomy(labels, auto, weights, tuple(subs))


def score_topics(
    tax: Taxonomy, full: str, low: str, title_end: int, lead_end: int, hits: Iterable[TermHit] | None = None
) -> tuple[dict[str, float], dict[str, int]]:
    """Scores per IPTC code, and hit counts per matched term key (for subtopics).

    `hits`: from a shared scan (scanner.py); by default the taxonomy scans itself. Tagger.tag tallies
    during its one scan instead (Scanner.scan) and calls `scores_from_tally`; both count alike.
    """
    tally: dict[str, int] = {}
    it: Iterable[TermHit] = tax.automaton.iter_long(low) if hits is None else hits
    for end, term in it:
        tally_term(tally, term, end, low, full, title_end, lead_end)
    return scores_from_tally(tax, tally)


def tally_term(
    tally: dict[str, int], term: TermValue, end: int, low: str, full: str, title_end: int, lead_end: int
) -> None:
    """Count one term occurrence under its key, in the bit field of its zone (see scores_from_tally).

    The whole-word key when the word ends there, else the prefix key ("elect*" in "elections"; a
    pattern with neither is inside a longer word and not counted); "^" marks the cased form ("Labour")."""
    kw, kp, cased_form, back = term
    key = kp
    if kw is not None:
        nxt = low[end + 1]
        if nxt == " " or not nxt.isalnum():
            key = kw
        elif kp is None:
            return  # inside a longer word
    if key is None:
        return  # not reached: a pattern without a whole-word key has a prefix key
    start = end - back
    if cased_form and full.startswith(cased_form, start):
        key += "^"  # "Labour" the party, counted apart from "labour"
    tally[key] = tally.get(key, 0) + (1 if start >= lead_end else _TITLE if start < title_end else _LEAD)


# zone weight plus the repeat bonus, per (zone, repeats): the same sums score_topics made term by term
_ZONE_REPEAT = tuple(tuple(z + REPEAT_BONUS * r for r in range(MAX_REPEATS + 1)) for z in ZONE_WEIGHT)


def scores_from_tally(tax: Taxonomy, tally: Mapping[str, int]) -> tuple[dict[str, float], dict[str, int]]:
    """Scores per IPTC code and counts per term key from the per-key tally of occurrences: title,
    lead and body counts packed in one integer (bit fields _TITLE, _LEAD, 1), so that the scan does one
    dict update per occurrence. A term counts once at the weight of its best zone, plus a bonus per repeat."""
    scores: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = {}
    table = tax.weights
    by_title, by_lead, by_body = _ZONE_REPEAT
    for key, v in tally.items():
        if v <= _MASK:  # the body only: the commonest case
            n, by_zone = v, by_body
        else:
            n_title, n_lead = v >> 40, (v >> 20) & _MASK
            n = n_title + n_lead + (v & _MASK)
            by_zone = by_title if n_title else by_lead
        counts[key] = n
        weights = table.get(key)
        if weights:
            z = by_zone[n - 1 if n <= MAX_REPEATS else MAX_REPEATS]
            for code, w in weights:
                scores[code] += w * z
    return scores, counts


_ROW = MAX_REPEATS + 1  # a key's scaled weights per zone: one per repeat count (see _Scaled)
_BODY = 2 * _ROW


class _Scaled(dict[str, tuple[tuple[tuple[str, float], ...], ...]]):
    """key -> its (code, weight * zone weight with repeat bonus) for every zone and repeat count, in the
    order _ZONE_REPEAT lists them (title, lead, body); () for a key with no weights. Made on first use."""

    def __init__(self, weights: Mapping[str, tuple[tuple[str, float], ...]]) -> None:
        super().__init__()
        self.weights = weights

    def __missing__(self, key: str) -> tuple[tuple[tuple[str, float], ...], ...]:
        weights = self.weights.get(key)
        row = tuple(tuple((c, w * z) for c, w in weights) for zone in _ZONE_REPEAT for z in zone) if weights else ()
        self[key] = row
        return row


def scores_of_tally(tax: Taxonomy, tally: Mapping[str, int]) -> dict[str, float]:
    """The scores of scores_from_tally (the same floats, in the same order) for Tagger.tag, which needs no
    counts per key (TallyCounts reads the few that subtopics need): a key's weight times its zone
    weight is looked up (computed once per key and zone), not multiplied per article."""
    scores: dict[str, float] = {}
    get = scores.get
    scaled = tax.scaled
    for key, v in tally.items():
        row = scaled[key]
        if not row:
            continue
        if v <= _MASK:  # the body only: the commonest case
            wzs = row[_BODY_ROW[v]] if v <= MAX_REPEATS else row[-1]
        else:
            n_title = v >> 40
            n = n_title + ((v >> 20) & _MASK) + (v & _MASK)
            wzs = row[(0 if n_title else _ROW) + (n - 1 if n <= MAX_REPEATS else MAX_REPEATS)]
        for code, wz in wzs:
            scores[code] = get(code, 0.0) + wz
    return scores


_BODY_ROW = tuple(_BODY + n - 1 for n in range(MAX_REPEATS + 1))  # body-only count -> its row (1-based)


class TallyCounts(Mapping[str, int]):
    """The counts per key of scores_from_tally, read from the tally when asked (pick_topics asks for the
    few keys of the subtopics an article has)."""

    def __init__(self, tally: Mapping[str, int]) -> None:
        self.tally = tally

    def __getitem__(self, key: str) -> int:
        v = self.tally[key]
        return v if v <= _MASK else (v >> 40) + ((v >> 20) & _MASK) + (v & _MASK)

    def __iter__(self) -> Iterator[str]:
        return iter(self.tally)

    def __len__(self) -> int:
        return len(self.tally)


def pick_topics(
    tax: Taxonomy,
    scores: Mapping[str, float],
    counts: Mapping[str, int],
    focus: set[str],
    subtopics: bool,
    calibrated: Sequence[tuple[str, float]] | None = None,
) -> tuple[TopicTag, ...]:
    """IPTC topics best first, then subtopics. `calibrated`: (code, probability) already cut at the
    model's threshold (see topic_model.py); without it, the lexicon's own shares decide."""
    if calibrated is not None:
        chosen = list(calibrated[:MAX_TOPICS])
        tags = [TopicTag(code=c, label=tax.labels.get(c, c), score=round(s, 3)) for c, s in chosen]
    else:
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] <= 0:
            return ()
        total = sum(s for _, s in ranked)
        best = ranked[0][1]
        chosen = [(c, s) for c, s in ranked[:MAX_TOPICS] if s >= SECOND_SHARE * best]
        tags = [TopicTag(code=c, label=tax.labels.get(c, c), score=round(s / total, 3)) for c, s in chosen]
    if subtopics:
        codes = {c for c, _ in chosen}
        for sub in tax.subtopics:
            if sub.countries and not (sub.countries & focus):
                continue
            if sub.topics and not (sub.topics & codes):
                continue
            n = sum(counts[k] for k in sub.keys.intersection(counts))
            if n < sub.min_hits:
                continue
            tags.append(
                TopicTag(code=sub.code, label=sub.label, score=round(min(1.0, n / (2 * sub.min_hits)), 3))
            )
    return tuple(tags)


def lexicon_terms(tax: Taxonomy, counts: Mapping[str, int], code: str) -> tuple[tuple[str, float], ...]:
    """The lexicon entries that counted for `code` in an article, (term, weight), strongest first."""
    out: dict[str, float] = {}
    for key, n in counts.items():
        for c, w in tax.weights.get(key, ()):
            if c == code and n:
                term = key.strip().replace("$", "").replace("^", "")
                term += "" if key.rstrip("^").endswith("$") else "*"
                out[term] = max(w, out.get(term, 0.0))
    return tuple(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))
