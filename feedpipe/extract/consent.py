"""Cookie and consent notices: pruned from the page before trafilatura reads it, and caught by their words.

trafilatura (2.3) prunes consent banners only by anchored class names ("cookie-banner", "onetrust",
...) and its recall retry then picks up plain `<div class="cookie">` notices such as DW's "Nous
utilisons des cookies ..." as the first paragraph. `COOKIE_XPATH` goes to its `prune_xpath` option;
`is_cookie_notice` is the text check for notices whose markup names them nothing at all.
"""

from __future__ import annotations

import re


def _any(words: tuple[str, ...]) -> str:
    return " or ".join(f"contains(@{attr}, '{w}')" for w in words for attr in ("class", "id"))


# Inside <body> only: WordPress puts "cookies-not-set" on <body> itself, and pruning that empties the page.
# Plain contains() tests: a case-folding translate() per element cost 40 ms a page, these cost 4.
COOKIE_XPATH = "//body//*[@class or @id][" + _any(("cookie", "Cookie", "consent", "Consent", "gdpr")) + "]"

# "We use cookies" in the languages of the outlets we read; a notice is short and talks about itself.
_USES_COOKIES = re.compile(
    r"\b(?:we use|this (?:site|website) uses|uses) cookies\b|\bcookies? (?:help|are used)\b"
    r"|\bnous utilisons (?:des )?cookies\b|\bce site utilise des cookies\b|\butilise des cookies\b"
    r"|\bwir (?:verwenden|nutzen|setzen) cookies\b|\b(?:diese )?(?:web)?(?:site|seite) (?:verwendet|nutzt) .{0,40}cookies\b"
    r"|\b(?:utilizamos|usamos|este sitio (?:web )?utiliza|utiliza) (?:\w+ )?cookies\b"
    r"|\b(?:utilizamos|usamos|este site utiliza) (?:os )?cookies\b|\butilizziamo (?:i )?cookie\b"
    r"|\bwij gebruiken cookies\b|クッキー|cookie\s*を(?:使用|利用)|使用cookie|使用 cookie",
    re.IGNORECASE,
)


def is_cookie_notice(paragraph: str) -> bool:
    """A short paragraph that says the site uses cookies ("Nous utilisons des cookies pour ...")."""
    s = paragraph.strip()
    return 0 < len(s) <= 500 and bool(_USES_COOKIES.search(s))
