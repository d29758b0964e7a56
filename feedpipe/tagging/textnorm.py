"""Text normalisation shared by the gazetteer and the topic lexicon.

Both are matched on one lower-cased copy of the article in which every character that is not a letter or a
digit became a space, padded with a space at each end. A pattern " kyiv" (leading space) then starts only at
a word start, the matcher checks that a space follows, "Ukraine's" and "U.S." need no special case, and
offsets in the copy are offsets in the original text plus one, so capitalisation can be checked there.
Patterns carry no trailing space so that neighbouring words never overlap and the automaton's
longest-match scan (`iter_long`) does the "South Sudan hides Sudan" work in C.
"""

from __future__ import annotations

import re
import unicodedata

_BLANK = "\t\n\r\x0b\x0c!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u00a0\u00ab\u00bb\u00b7"
_PUNCT = {i: " " for i in range(0x2000, 0x2070)}  # unicode punctuation and spaces (dashes, quotes, ...)
_PUNCT.update({ord(c): " " for c in _BLANK})
# str.translate with a dict is slow on text that is mostly outside the table (Cyrillic, Greek, CJK: a
# failed lookup per character), so other scripts blank the same characters with one regex instead.
_PUNCT_RE = re.compile("[" + re.escape("".join(chr(k) for k in _PUNCT)) + "]")
# Most articles are Latin-1 once their typographic punctuation is blanked, and bytes.translate is ten
# times faster than str.translate on non-ASCII text, so that is the usual path.
_BYTES = bytes(32 if chr(i) in _BLANK else i for i in range(256))
_LOWER_BYTES = bytes(32 if chr(i) in _BLANK else ord(chr(i).lower()) for i in range(256))  # stays in Latin-1
_TYPOGRAPHY = tuple(chr(i) for i in (0x2018, 0x2019, 0x201C, 0x201D, 0x2013, 0x2014, 0x2026, 0x2022, 0x2032))
_MAX_KEPT = 64  # more characters above Latin-1 than this: another script, folded by the general path


def fold(text: str) -> str:
    """Lower-case `text` and blank its punctuation, keeping its length (offsets stay valid)."""
    try:  # Latin-1 text: lower-cased and blanked by one bytes.translate
        return text.encode("latin-1").translate(_LOWER_BYTES).decode("latin-1")
    except UnicodeEncodeError:
        pass
    low = text.lower()
    if len(low) != len(text):  # e.g. "İ" lower-cases to two code points; keep offsets aligned instead
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    for ch in _TYPOGRAPHY:  # curly quotes and dashes: the commonest characters above Latin-1 in news
        if ch in low:
            low = low.replace(ch, " ")
    try:
        return low.encode("latin-1").translate(_BYTES).decode("latin-1")
    except UnicodeEncodeError:
        pass
    # Mostly Latin-1 with a few other characters ("€", "ğ", "\ufffd", other punctuation): every one of
    # them becomes "?" and then a space, and those that are not punctuation are put back where they were.
    raw = low.encode("latin-1", "replace")
    if raw.count(63) > _MAX_KEPT:  # 63 is "?": another script (Cyrillic, CJK), folded by the general path
        return _PUNCT_RE.sub(" ", low)
    out = raw.translate(_BYTES).decode("latin-1")
    parts: list[str] = []
    prev = 0
    i = raw.find(63)
    while i >= 0:
        c = low[i]
        if c != "?" and not "\u2000" <= c <= "\u206f":
            parts += (out[prev:i], c)
            prev = i + 1
        i = raw.find(63, i + 1)
    parts.append(out[prev:])
    return "".join(parts)


def strip_accents(text: str) -> str:
    """'Côte d'Ivoire' -> 'Cote d'Ivoire', so unaccented spellings in articles match too."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def pattern(text: str) -> str:
    """The key a name is stored under: folded, with a leading space ('St. Petersburg' -> ' st  petersburg').

    Inner runs of spaces are kept as they are, so the key matches the same spelling in an article;
    other spellings ("St Petersburg") are listed as aliases of their own.
    """
    return " " + fold(text).strip()
