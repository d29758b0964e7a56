"""Language detection on the shared outlet pages (never shipped, never fitted to), and what the tagger
then does with each page.

    FEEDPIPE_EVAL_DATA=../shared/data .venv/bin/python benchmarks/eval_languages.py

For each page of pages/news-outlets (extracted with feedpipe's own page extractor): the language found
on the headline alone, the first 100 and 300 characters, and the whole article, against the outlet's
language (the table below, written here from the outlets' editions: the manifest has no language
field); then the whole article's tags (language, focus countries, number of topics). Prints figures
only.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from feedpipe.core.errors import FeedpipeError
from feedpipe.extract.page import parse_page
from feedpipe.tagging import Tagger
from feedpipe.tagging.language import detect_language

ROOT = Path(__file__).resolve().parent.parent
OUTLET_LANGUAGE = {  # host -> the language of that edition; every other page is English
    "clarin.com": "es", "elcomercio.pe": "es", "elpais.com": "es", "eltiempo.com": "es", "infobae.com": "es",
    "lanacion.com.ar": "es", "latercera.com": "es", "dw.com": "fr",  # this DW page is from the French service
    "faz.net": "de", "nzz.ch": "de", "spiegel.de": "de", "tagesschau.de": "de", "welt.de": "de", "zeit.de": "de",
}


def main() -> int:
    data = Path(os.environ.get("FEEDPIPE_EVAL_DATA", str(ROOT.parent / "shared" / "data")))
    folder = data / "pages" / "news-outlets"
    if not folder.is_dir():
        print(f"skipped: {folder} not found (set FEEDPIPE_EVAL_DATA)")
        return 1
    tagger = Tagger.load()
    right: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    n = 0
    for page in sorted(folder.glob("*.html")):
        host = page.name.removesuffix(".html")
        try:
            art = parse_page(page.read_bytes(), f"https://{host}/", source=host)
        except FeedpipeError as exc:
            print(f"  {host}: not extracted ({exc})")
            continue
        n += 1
        want = OUTLET_LANGUAGE.get(host, "en")
        samples = {"headline": (art.title, ""), "100 chars": ("", art.text[:100]),
                   "300 chars": (art.title, art.text[:300]), "article": (art.title, art.text)}
        for name, (title, body) in samples.items():
            got = detect_language(title, body).code
            right[name] += got == want
            unknown[name] += got is None
        tags = tagger.tag(art.title, art.text, url=art.url)
        focus = " ".join(c.code for c in tags.countries if c.role == "focus") or "-"
        print(f"  {host:20} {want} -> {tags.language or '?':3} focus {focus:18} topics {len(tags.topics)}  "
              f"{art.title[:50]}")
    for name in ("headline", "100 chars", "300 chars", "article"):
        print(f"{name:10}: {right[name]}/{n} right, {unknown[name]} unknown (then the declared language, or "
              "English rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
