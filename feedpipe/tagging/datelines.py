"""Datelines: "NEW YORK, March 3 -", "MOSCOW (Reuters) -", "GREENWICH, Conn., March 3 -", "KYIV, Ukraine —".

A dateline names where the story was filed, which in wire copy is nearly always a country it is about,
so it counts as much as the headline. Only an upper-case place at the very start of the body, ended by
a dash, is read as one; the regex runs on the first 120 characters only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feedpipe.tagging.gazetteer import Gazetteer, qualifier_key
from feedpipe.tagging.textnorm import pattern

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}"
_DATELINE = re.compile(
    r"\s*(?P<city>[A-Z][A-Z.'’ -]*[A-Z.])"
    r"(?:\s*,\s*(?P<qual>[A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*)*))?"
    r"(?:\s*,?\s*" + _MONTH + r")?"
    r"(?:\s*\((?P<agency>[A-Za-z .&-]{2,30})\))?"
    r"\s*[-–—]+\s*"
)


@dataclass(frozen=True, slots=True)
class Dateline:
    code: str
    place: str
    end: int  # offset in the body just after the dateline


def read_dateline(body: str, gz: Gazetteer) -> Dateline | None:
    m = _DATELINE.match(body[:120])
    if not m or not m.group("city").replace(" ", "").replace(".", "").isupper():
        return None
    city = m.group("city").strip()
    qual = (m.group("qual") or "").strip()
    code = gz.dateline_places.get(pattern(city))
    if qual:
        q = gz.qualifiers.get(qualifier_key(qual))
        if q is None:
            e = gz.entries.get(pattern(qual))
            if e is not None and e.codes:
                q = code if code in e.codes else e.codes[0]
        if q is None and qual.endswith("."):  # "Mass.", "Ill.": an abbreviated US state
            q = "US"
        code = q or code
    if code is None:
        return None
    return Dateline(code, city.title() + (", " + qual if qual else ""), m.end())
