"""Evaluate page extraction on the shared news-outlet pages (never shipped, never fitted to).

    FEEDPIPE_EVAL_DATA=../shared/data .venv/bin/python benchmarks/eval_extraction.py [--verbose]

Each page goes through `feedpipe.extract.extract` (the path ingestion and `feedpipe tag` use: sniffing,
then the page extractor) with the manifest's URL. Prints, per page and overall, the share of the
manifest's `with` phrases kept and `without` phrases dropped, plus title and author issues:

- title: differs from the manifest's title (when it gives one), or still carries a site suffix
  ("| DW | 23.05.2011", "- BBC News"), or is repeated as the first paragraph of the text;
- author: a manifest author name missing from the authors, or an author that is a place or the
  outlet's name (`SPIEGEL ONLINE`, `Hamburg`).

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
    kept = n_with = dropped = n_without = title_issues = author_issues = failed = 0
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
            t_issue = []
            title = _norm(article.title)
            if e.get("title") and _fold(title) != _fold(e["title"]):
                t_issue.append(f"title {title!r} (expected {e['title']!r})")
            elif _SUFFIX.search(title) and not e.get("title"):
                t_issue.append(f"title suffix? {title!r}")
            first = _norm(article.text.split("\n\n", 1)[0])
            if title and _fold(first) == _fold(title):
                t_issue.append("headline repeated as the first paragraph")
            if t_issue:
                title_issues += 1
                issues += t_issue
            got = [_fold(a) for a in article.authors]
            a_issue = [f"author {a!r} is not a person" for a in article.authors if _fold(a) in NOT_PEOPLE]
            a_issue += [f"author {n!r} missing (got {list(article.authors)})"
                        for n in _expected_authors(e.get("author")) if not any(_fold(n) in g for g in got)]
            if a_issue:
                author_issues += 1
                issues += a_issue
        shown = issues if verbose else issues[:3]
        print(f"{e['file']:<22} {k}/{len(e['with']):<4} {d}/{len(e['without']):<6}  {'; '.join(shown)[:300]}")
    result = {
        "kept": kept / n_with, "dropped": dropped / n_without, "pages": len(entries),
        "failed": failed, "title_issues": title_issues, "author_issues": author_issues,
    }
    print(f"\noverall: with kept {kept}/{n_with} ({result['kept']:.1%}), without dropped {dropped}/{n_without} "
          f"({result['dropped']:.1%}); pages failed {failed}/{len(entries)}; pages with title issues "
          f"{title_issues}, with author issues {author_issues}")
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
