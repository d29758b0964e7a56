"""A page's headline without the site's furniture: "Story | DW | 23.05.2011" becomes "Story".

trafilatura (2.3) takes the title from og:title / <meta name="title"> as the site wrote it, suffixes
included ("- BBC News", "| The Japan Times", "- La Tercera"), and only splits the <title> element when
it has nothing better; it also accepts CMS names ("escenic") as titles. The cleanup here drops a
trailing or leading segment only when it is the site's own name (as trafilatura reports it, or the
host name and its label: "DW" on dw.com) or a date, so a headline with a dash in it ("Brexit - what
happens next") keeps both halves.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATOR = re.compile(r"\s+(?:[|•·⁄~»«›‹]|[-–—]|::)\s+")
_BRAND_WORDS = {"news", "online", "nachrichten", "noticias", "notícias", "actualites", "international", "world",
                "today", "live", "digital", "plus", "de", "com", "gmbh", "ag", "ltd", "inc", "sa", "sl"}
_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


def fold(s: str) -> str:
    """Lower-case letters and digits only, accents removed: "SAT.1 REGIONAL" -> "sat1regional"."""
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def site_names(sitename: str | None, hostname: str | None) -> set[str]:
    """Folded spellings a site uses for itself: its name, its host ("tagesschau.de"), the host's label."""
    names = {fold(sitename or ""), fold(hostname or "")}
    host = (hostname or "").lower().removeprefix("www.")
    if host:
        names.add(fold(host.split(".")[0]))
        names.add(fold(host.rsplit(".", 1)[0]))
    if sitename:
        names.add(fold(re.sub(r"(?i)^the\s+", "", sitename)))
        names.add(fold(re.sub(r"(?i)\.(?:com|org|net|de|fr|es|co\.uk)$", "", sitename.strip())))
    return {n for n in names if len(n) >= 2}


def is_site_segment(segment: str, names: set[str]) -> bool:
    """A title segment that is furniture: the site's name (its host's label, "DW" on dw.com), a date."""
    s = segment.strip()
    if not s:
        return True
    if _DATE.match(s):
        return True
    f = fold(s)
    if f in names:
        return True
    # "News", "Online", "Nachrichten" after the name: "SPIEGEL ONLINE" on spiegel.de, "BBC News" on bbc.com
    words = s.split()
    return 1 < len(words) <= 3 and fold(words[0]) in names and all(fold(w) in _BRAND_WORDS for w in words[1:])


def clean_title(title: str, *, sitename: str | None, hostname: str | None) -> str:
    """The headline without site-name and date segments at either end; never empty if `title` is not."""
    parts = _SEPARATOR.split(title.strip())
    if len(parts) < 2:
        return title.strip()
    names = site_names(sitename, hostname)
    seps = _SEPARATOR.findall(title.strip())
    start, end = 0, len(parts)
    while end - start > 1 and is_site_segment(parts[end - 1], names):
        end -= 1
    while end - start > 1 and is_site_segment(parts[start], names):
        start += 1
    out = parts[start]
    for k in range(start + 1, end):
        out += seps[k - 1] + parts[k]
    return out.strip()


def looks_like_headline(title: str) -> bool:
    """False for what is no headline: a lone lower-case word ("escenic", a CMS name) or nothing."""
    s = title.strip()
    return bool(s) and not (len(s.split()) == 1 and s == s.lower())
