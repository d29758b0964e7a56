"""Throughput of country + topic tagging on ~600-word articles, and the matcher's cold build time.

    .venv/bin/python benchmarks/bench_tagging.py [--n 5000]

The articles are built from sentences written here (no eval data needed), so anyone can run it.
Runs in one process on one core; prints figures and the ratio to the issue's floor (5,000 articles/s,
build < 1 s). A benchmark never fails a test run: it only prints.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

from feedpipe.tagging import Tagger

SENTENCES = [
    "Ukraine said on Saturday that Russian missiles fired from Belarusian territory struck a border region near Kyiv.",
    "The central bank raised interest rates by half a point to curb inflation, its third rise this year.",
    "Shares in the carmaker fell 4 per cent after it cut its profit forecast for the quarter.",
    "The striker scored twice in the second half as the home team won the league match 3-1.",
    "Parliament will vote next week on the bill, which the opposition says the government rushed through.",
    "Researchers at the university said the new chip uses half the power of its predecessor.",
    "The film, which premiered at the festival in Venice, stars two of France's best-known actors.",
    "Police arrested three men in Manchester on suspicion of fraud, a spokesman said.",
    "Heavy rain and flooding forced thousands of people from their homes in northern Italy.",
    "Officials in Washington and Beijing met in Geneva to discuss tariffs on steel and aluminium.",
    "Mr Jordan, the company's chief executive, told analysts that sales in Brazil and Mexico had recovered.",
    "Hospitals in the region reported a sharp rise in patients with the virus over the weekend.",
    "Teachers' unions called a strike over pay, closing schools across the country on Tuesday.",
    "The minister said the talks in Cairo had made progress towards a ceasefire in Gaza.",
    "Tourists returned to the island's beaches and restaurants after two quiet summers.",
    "The singer's new album went straight to the top of the charts in Britain and the United States.",
    "Exports from Japan and South Korea rose sharply in October, customs data showed.",
    "The court in The Hague ruled that the treaty did not cover the disputed waters.",
    "Farmers in Kenya and Tanzania said the drought had halved the maize harvest.",
    "The prime minister reshuffled her cabinet after the election defeat in Scotland.",
]


def articles(n: int, words: int = 600, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body: list[str] = []
        count = 0
        while count < words:
            s = rng.choice(SENTENCES)
            body.append(s)
            count += len(s.split())
        title = rng.choice(SENTENCES)[:80]
        out.append((title, " ".join(body)))
    return out


def cold_build_seconds() -> float:
    """Time Tagger.load() in a fresh interpreter: imports and data files included, nothing cached."""
    code = (
        "import time; t=time.perf_counter(); from feedpipe.tagging import Tagger; Tagger.load(); "
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args(argv)
    cold = cold_build_seconds()
    print(f"cold Tagger.load() in a new process: {cold:.3f} s  (floor < 1 s: {'ok' if cold < 1 else 'SLOW'})")
    t0 = time.perf_counter()
    tagger = Tagger.load()
    print(f"warm Tagger.load(): {time.perf_counter() - t0:.3f} s")
    docs = articles(args.n)
    words = sum(len(b.split()) for _, b in docs) / len(docs)
    tagger.tag(*docs[0])
    t0 = time.perf_counter()
    for title, body in docs:
        tagger.tag(title, body, subtopics=False)
    dt = time.perf_counter() - t0
    rate = len(docs) / dt
    print(f"tag(): {len(docs)} articles of ~{words:.0f} words in {dt:.2f} s = {rate:,.0f} articles/s "
          f"({rate / 5000:.2f}x the 5,000/s floor), {dt / len(docs) * 1e6:.0f} us/article")
    t0 = time.perf_counter()
    for title, body in docs:
        tagger.tag(title, body, subtopics=True)
    dt = time.perf_counter() - t0
    print(f"tag(subtopics=True): {len(docs) / dt:,.0f} articles/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
