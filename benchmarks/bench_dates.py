"""Date reading benchmark: what dateparser costs when the fast parsers fail, per item.

    .venv/bin/python benchmarks/bench_dates.py [--n 300] [--json FILE]

feedpipe.extract.dates.parse_date tries ISO 8601, RFC 822 and feedparser's handlers first and asks
dateparser only when they all fail (a "Seg, 24 Set 2018" date). Figures, items per second:
- fast path (RFC 822) beside its floor, email.utils.parsedate_to_datetime alone;
- dateparser path with the document's language ("pt"), beside dateparser.parse(languages=["pt"]);
- dateparser path with no language known (the common languages, then dateparser's detection), beside
  dateparser.parse(languages=None), its detection over every locale;
- with the evaluation data ($FEEDPIPE_EVAL_DATA or ../shared/data): whole feeds through parse_feed, UOL's
  (every date Portuguese, no <language>) beside NYT World's (every date RFC 822), per item.
Every string is distinct, and the cache of parse_date's slow path is cleared between rounds, so the figures
are the uncached cost. Prints figures and ratios; never fails because a machine is slow.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import dateparser
from benchjson import Figures

from feedpipe.extract import dates
from feedpipe.extract.feed import parse_feed

PT_DAYS = ("Seg", "Ter", "Qua", "Qui", "Sex", "Sáb", "Dom")
PT_MONTHS = ("Jan", "Fev", "Mar", "Abr", "Mai", "Jun", "Jul", "Ago", "Set", "Out", "Nov", "Dez")
DATA = Path(os.environ.get("FEEDPIPE_EVAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def moments(n: int) -> list[datetime]:
    start = datetime(2018, 9, 24, 19, 42, 40, tzinfo=UTC)
    return [start + timedelta(minutes=37 * k, seconds=k) for k in range(n)]


def rfc822(m: datetime) -> str:
    return m.strftime("%a, %d %b %Y %H:%M:%S +0000")


def portuguese(m: datetime) -> str:
    return f"{PT_DAYS[m.weekday()]}, {m.day:02d} {PT_MONTHS[m.month - 1]} {m.year} {m:%H:%M:%S} -0300"


def rate(fn: Callable[[str], object], values: list[str], rounds: int = 3) -> float:
    """Best items per second over `rounds`, the slow path's cache cleared before each."""
    best = 0.0
    for _ in range(rounds):
        dates._slow.cache_clear()
        t = time.perf_counter()
        for v in values:
            fn(v)
        best = max(best, len(values) / (time.perf_counter() - t))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="dates per measurement")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (see benchjson.py)")
    args = ap.parse_args(argv)
    fig = Figures("dates", n=args.n)
    ms = moments(args.n)
    english, pt = [rfc822(m) for m in ms], [portuguese(m) for m in ms]
    t = time.perf_counter()
    dates.parse_date(pt[0], language="pt")  # dateparser loads its locale data on first use
    print(f"dateparser's first call (loads its data): {time.perf_counter() - t:.2f} s")
    assert dates.parse_date(pt[0]) == ms[0] + timedelta(hours=3), "the Portuguese date is read"

    rows = [
        ("fast", "fast path, RFC 822", lambda v: dates.parse_date(v), english,
         "email.utils.parsedate_to_datetime", parsedate_to_datetime),
        ("lang", "dateparser path, language known (pt)", lambda v: dates.parse_date(v, language="pt"), pt,
         "dateparser.parse(languages=['pt'])", lambda v: dateparser.parse(v, languages=["pt"])),
        ("detect", "dateparser path, no language (common list, then detection)", lambda v: dates.parse_date(v), pt,
         "dateparser.parse(languages=None)", lambda v: dateparser.parse(v)),
    ]
    detect_n = max(20, args.n // 10)  # dateparser's own detection is slow: fewer items
    for key, label, ours, values, floor_label, floor in rows:
        values = values if key != "detect" else values[:detect_n]
        mine, base = rate(ours, values), rate(floor, values)
        print(f"{label}: {mine:,.0f} items/s; {floor_label}: {base:,.0f} items/s; ratio (floor/ours) "
              f"{base / mine:.2f}")
        fig.add(f"{key}_items_per_s", mine, "items/s", label)
        fig.add(f"{key}_floor_items_per_s", base, "items/s", floor_label)
        fig.add(f"{key}_vs_floor_ratio", base / mine)
        fig.compare(label, f"{key}_items_per_s", f"{key}_floor_items_per_s", f"{key}_vs_floor_ratio",
                    better="lower")
    fast, slow_lang = fig.data["figures"]["fast_items_per_s"], fig.data["figures"]["lang_items_per_s"]
    slow_detect = fig.data["figures"]["detect_items_per_s"]
    print(f"the dateparser path costs {fast / slow_lang:.0f}x the fast path with the language known, "
          f"{fast / slow_detect:.0f}x without it")
    fig.add("lang_vs_fast_ratio", fast / slow_lang, better="lower")
    fig.add("detect_vs_fast_ratio", fast / slow_detect, better="lower")

    uol = DATA / "feeds" / "real" / "rss-parser" / "uolNoticias.rss"
    nyt = DATA / "feeds" / "real" / "news-outlets" / "nyt_world_2024-08.rss"
    if uol.is_file() and nyt.is_file():
        for key, path in (("uol", uol), ("nyt", nyt)):
            body = path.read_bytes()
            best = 0.0
            for _ in range(3):
                dates._slow.cache_clear()
                t = time.perf_counter()
                items = parse_feed(body, "https://example.org/feed", source=key)
                best = max(best, len(items) / (time.perf_counter() - t))
            print(f"parse_feed {path.name}: {best:,.0f} items/s ({len(items)} items, "
                  f"{sum(a.published_at is not None for a in items)} dated)")
            fig.add(f"feed_{key}_items_per_s", best, "items/s", f"parse_feed {path.name}")
        fig.add("feed_uol_vs_nyt_ratio", fig.data["figures"]["feed_nyt_items_per_s"]
                / fig.data["figures"]["feed_uol_items_per_s"], better="lower")
    else:
        print(f"(no evaluation feeds at {DATA}: whole-feed figures skipped)")
    fig.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
