"""RFC 822 dates written with another language's day and month names ("Seg, 24 Set 2018 19:42:40 -0300"),
read without dateparser.

Many Brazilian, Spanish, French, German and Italian feeds write `pubDate` this way. dateparser reads
them, but its first use costs ~0.4 CPU-s (import and locale tables), more than parsing a whole feed;
this reads the one common shape with the names dateparser itself knows for those languages (its
`date_translation_data`; tests/test_date_names.py checks every name against dateparser) and leaves
every other string to dateparser.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

# Per language: the twelve months, then the seven days from Monday; each slot's names split by "|",
# lower case, as in dateparser's data for the language.
_NAMES = {
    "es": ("ene|enero feb|febrero mar|marzo abr|abril may|mayo jun|junio jul|julio ago|agosto "
           "sept|septiembre|setiembre|sep|set oct|octubre nov|noviembre dic|diciembre",
           "lun|lunes mar|martes mié|miércoles jue|jueves vie|viernes sáb|sábado dom|domingo"),
    "pt": ("jan|janeiro fev|fevereiro mar|março abr|abril mai|maio jun|junho jul|julho ago|agosto "
           "set|setembro out|outubro nov|novembro dez|dezembro",
           "seg|segunda-feira|segunda ter|terça-feira|terça qua|quarta-feira|quarta qui|quinta-feira|quinta "
           "sex|sexta-feira|sexta sáb|sábado|sab dom|domingo"),
    "fr": ("janv|janvier|jan févr|février|fév mars avr|avril mai juin|jun juil|juillet|jul août|aoû "
           "sept|septembre|sep oct|octobre nov|novembre déc|décembre",
           "lun|lundi mar|mardi mer|mercredi jeu|jeudi ven|vendredi sam|samedi dim|dimanche"),
    "de": ("jan|januar|jänner feb|februar|feber mär|märz|mrz apr|april mai jun|juni jul|juli aug|august "
           "sep|sept|september okt|oktober nov|november dez|dezember",
           "mo|montag di|dienstag mi|mittwoch do|donnerstag fr|freitag sa|samstag so|sonntag"),
    "it": ("gen|gennaio feb|febbraio mar|marzo apr|aprile mag|maggio giu|giugno lug|luglio ago|agosto "
           "set|settembre ott|ottobre nov|novembre dic|dicembre",
           "lun|lunedì mar|martedì mer|mercoledì gio|giovedì ven|venerdì sab|sabato dom|domenica"),
}
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _table(slots: str) -> dict[str, int]:
    return {name: i for i, slot in enumerate(slots.split()) for name in slot.split("|")}


MONTHS = {lang: _table(months) for lang, (months, _days) in _NAMES.items()}
DAYS = {lang: _table(days) for lang, (_months, days) in _NAMES.items()}
LANGUAGES = tuple(_NAMES)

# [day name[.][,]] DD month[.] YYYY HH:MM[:SS] [+hhmm | GMT | UTC]: nothing else is taken
_SHAPE = re.compile(
    r"(?:(?P<wd>[^\W\d_][\w-]*)\.?,?\s+)?(?P<d>\d{1,2})\.?\s+(?P<m>[^\W\d_]+)\.?,?\s+(?P<y>\d{4}),?\s+"
    r"(?P<t>\d{1,2}:\d{2}(?::\d{2})?)(?:\s*(?P<z>[+-]\d{4}|GMT|UTC))?",
)


def named_rfc822(s: str, languages: tuple[str, ...]) -> datetime | None:
    """The date in `s` when it has the RFC 822 shape with the day and month names of one of `languages`
    (tried in order; the first whose names are both known reads it), else None (ask dateparser)."""
    m = _SHAPE.fullmatch(s.strip())
    if m is None:
        return None
    month_name, day_name = m["m"].lower(), (m["wd"] or "").lower()
    for lang in languages:
        month = MONTHS.get(lang, {}).get(month_name)
        if month is None or (day_name and day_name not in DAYS[lang]):
            continue
        text = f"{m['d']} {_EN_MONTHS[month]} {m['y']} {m['t']} {m['z'] or ''}".strip()
        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return None
