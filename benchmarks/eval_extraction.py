"""Evaluate page extraction on the shared news-outlet pages (never shipped, never fitted to).

    FEEDPIPE_EVAL_DATA=../shared/data .venv/bin/python benchmarks/eval_extraction.py [--verbose]

Each page goes through `feedpipe.extract.extract` (the path ingestion and `feedpipe tag` use: sniffing,
then the page extractor) with the manifest's URL. Prints, per page and overall, the share of the
manifest's `with` phrases kept and `without` phrases dropped, plus title and author issues:

- title: differs from the manifest's title (when it gives one), or still carries a site suffix
  ("| DW | 23.05.2011", "- BBC News"), or is repeated as the first paragraph of the text;
- author: an author that is a place or the outlet (`SPIEGEL ONLINE`, `Hamburg`, `Deutsche Welle`), or
  a manifest author missing from the authors (counted apart).

A title that is another of the page's own headlines (og:title against <h1>, with or without a kicker)
is shown in brackets but not counted as an issue.

Phrases are compared after collapsing white space. Exit status 0 always (this is a report).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata
from pathlib import Path

from feedpipe.core.errors import ExtractError
from feedpipe.extract import extract

# Authors that are not people: places, outlets and agencies seen in the manifest's pages. The
# manifest itself lists a place as an author twice (eltiempo "MEDELLÍN", nzz "London"); those are
# not counted as missing.
NOT_PEOPLE = {
    "hamburg", "germany", "london", "medellín", "medellin", "spiegel online", "der spiegel", "bbc news",
    "new york", "berlin", "paris", "madrid", "bogotá", "buenos aires", "tokyo", "kobe", "washington",
}
# Outlets (and their newsrooms) named as authors on these pages.
OUTLETS = {
    "deutsche welle", "tagesschau de", "cbs news february", "the economist", "cnn", "no author", "anónimo",
    "frankfurter allgemeine zeitung gmbh", "noticias el comercio perú", "redacción el comercio perú", "redacción ec",
    "medellín hora de publicación del artículo",
}
_SUFFIX = re.compile(r"\s[|\-–—]\s*(?:[A-Z][\w .'&]{1,30}|\d{1,2}\.\d{1,2}\.\d{4})\s*$")


def _norm(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).split())


def _fold(s: str) -> str:
    return _norm(s).casefold().strip(" .,'\"‘’“”")


def _expected_authors(value: object) -> list[str]:
    names = value if isinstance(value, list) else re.split(r",|;| und | and ", str(value or ""))
    return [n.strip() for n in names if n.strip() and _fold(n) not in NOT_PEOPLE]


def evaluate(pages: Path, verbose: bool = False) -> dict[str, float]:
    entries = json.loads((pages / "manifest.json").read_text(encoding="utf-8"))
    kept = n_with = dropped = n_without = title_issues = title_other = author_not_people = author_missing = 0
    failed = 0
    print(f"{'page':<22} {'with':>6} {'without':>8}  issues")
    for e in entries:
        body = (pages / e["file"]).read_bytes()
        issues: list[str] = []
        try:
            [article] = extract(body, e["url"], source="eval")[:1] or [None]
        except ExtractError as exc:
            article = None
            issues.append(f"FAILED: {exc}")
            failed += 1
        text = _norm(article.text) if article else ""
        k = sum(_norm(p) in text for p in e["with"])
        d = sum(_norm(p) not in text for p in e["without"])
        kept, n_with = kept + k, n_with + len(e["with"])
        dropped, n_without = dropped + d, n_without + len(e["without"])
        issues += [f"lost {p!r}" for p in e["with"] if _norm(p) not in text]
        issues += [f"kept {p!r}" for p in e["without"] if _norm(p) in text]
        if article is not None:
            title = _norm(article.title)
            first = _norm(article.text.split("\n\n", 1)[0])
            t_issue = []
            if _SUFFIX.search(title) and (not e.get("title") or _fold(title).startswith(_fold(e["title"]))) \
                    and _fold(title) != _fold(e.get("title", "")):
                t_issue.append(f"title keeps a site suffix: {title!r}")
            if title and _fold(first) == _fold(title):
                t_issue.append("headline repeated as the first paragraph")
            if t_issue:
                title_issues += 1
                issues += t_issue
            elif e.get("title") and _fold(title) != _fold(e["title"]):
                title_other += 1  # the page's own other headline (og:title vs <h1>, a kicker): noted, not counted
                issues.append(f"(title {title!r}, manifest {e['title']!r})")
            got = [_fold(a) for a in article.authors]
            not_people = [a for a in article.authors if _fold(a) in NOT_PEOPLE or _fold(a) in OUTLETS]
            missing = [n for n in _expected_authors(e.get("author")) if not any(_fold(n) in g for g in got)]
            if not_people:
                author_not_people += 1
                issues += [f"author {a!r} is not a person" for a in not_people]
            if missing:
                author_missing += 1
                issues.append(f"authors missing {missing} (got {list(article.authors)})")
        shown = issues if verbose else issues[:3]
        print(f"{e['file']:<22} {k}/{len(e['with']):<4} {d}/{len(e['without']):<6}  {'; '.join(shown)[:300]}")
    result = {
        "kept": kept / n_with, "dropped": dropped / n_without, "pages": len(entries), "failed": failed,
        "title_issues": title_issues, "title_other": title_other, "author_not_people": author_not_people,
        "author_missing": author_missing,
    }
    print(f"\noverall: with kept {kept}/{n_with} ({result['kept']:.1%}), without dropped {dropped}/{n_without} "
          f"({result['dropped']:.1%}); pages failed {failed}/{len(entries)}")
    print(f"titles: {title_issues} pages with a site suffix or the headline repeated in the body; {title_other} "
          f"more with another of the page's headlines than the manifest's")
    print(f"authors: {author_not_people} pages with a place or outlet as author; {author_missing} pages missing "
          f"a manifest author")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--verbose", action="store_true", help="show every issue, not the first three per page")
    args = ap.parse_args()
    root = os.environ.get("FEEDPIPE_EVAL_DATA")
    if not root:
        print("FEEDPIPE_EVAL_DATA is not set: point it at the shared evaluation data (e.g. ../shared/data)")
        return 0
    pages = Path(root) / "pages" / "news-outlets"
    if not (pages / "manifest.json").exists():
        print(f"no manifest at {pages / 'manifest.json'}: nothing to evaluate")
        return 0
    evaluate(pages, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
