"""Run every feedpipe benchmark and write one report: Markdown, PNG plots and JSON.

    .venv/bin/python benchmarks/run.py [--quick] [--json FILE] [--out DIR] [--baseline FILE]

Runs bench_ingest.py, bench_tagging.py, bench_feeds.py (1k, 10k and 100k stored articles),
bench_send.py (1k, 10k and, in the full run, 100k subscribers), bench_web.py and bench_subscribers.py
(import, list --json and the send queue of 100k rows, 20k with --quick, on SQLite and PostgreSQL), each in its own
process with this interpreter, the checkout's feedpipe first on PYTHONPATH, and a time limit. Each one
writes its figures as JSON (its --json option, see benchjson.py); a benchmark that fails, times out or
skips itself (bench_ingest without the evaluation data in $FEEDPIPE_EVAL_DATA or ../shared/data) is
reported as such and the others still run.

Output, in --out (default benchmarks/out/):
  report.md           a table per stage (figure, value, library floor, ratio), every ratio at the top,
                      and, with --baseline, each ratio beside the baseline's with regressions marked
  throughput-*.png    feedpipe's throughput beside its library floor, one plot per stage
  scaling.png         cost against input size: feeds at 1k/10k/100k articles, send at 1k/10k(/100k)
                      subscribers
  logs/*.log          each benchmark's own output
and with --json FILE the same figures as JSON. Every ratio sits under a key that contains "ratio";
"ratios" gathers them all, flat, named <stage>[_<size>]_<figure>_ratio.

Ratios, not raw speeds, are what to compare between two runs: each divides feedpipe's figure by its
library floor's (trafilatura, feedparser, feedgen, smtplib, waitress, a regex word scan for tagging)
measured in the same run, so a busier or slower machine moves both sides alike; the tagging ratios
to the issue's fixed targets (*_vs_5000_floor_ratio, cold_load_vs_1s_floor_ratio) do not have that
property. A --quick run is noisy on a shared machine: two quick runs of the same code here differed
by up to 45% on single ingest and feeds ratios (send, web and tagging-vs-word-scan within ~30%), so
read a stage's ratios together, repeat a quick run that flags a regression, or use the full run.

--quick (about 5 minutes on 2 cores) uses fewer rounds and smaller inputs: 1 round with a warm-up
for ingest, 1,000 articles for tagging, 3 rounds for feeds, 1 round at 1k and 10k subscribers for
send (no 100k; peak memory at 1k only) and 3-second web runs; it stops starting benchmarks after
--budget seconds (default 540). The full run takes about 40 minutes.
Exit status: 0 when every benchmark ran or skipped itself, 1 when one failed or timed out, 2 with
--fail-on-regression when a ratio is worse than the baseline's by more than --tolerance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = ("ingest", "tagging", "feeds", "send", "web", "peer", "workers", "subscribers")
FLOORS = {
    "ingest": "trafilatura / feedparser alone",
    "tagging": "the issue's fixed targets (5,000 articles per CPU-second, cold load < 1 s) and, as a machine "
               "reference, a regex word scan of the same articles",
    "feeds": "feedgen alone",
    "send": "raw smtplib sendmail of pre-built messages",
    "web": "waitress serving the same bytes from a bare WSGI callable",
    "workers": "one worker on PostgreSQL (speed-up of 2 and 4), beside one process on SQLite",
    "peer": "rss2email (`r2e run --no-send`) on the same local feeds, from empty",
    "subscribers": "plain csv + sqlite3 doing the bare storage work (executemany of the raw rows, a cursor with "
                   "json.dumps, INSERT ... SELECT); the issue's target of 20,000 rows per second",
}

Json = dict[str, Any]


@dataclass
class Job:
    stage: str
    script: str
    args: list[str]
    label: str = ""  # e.g. "10k articles" for one point of a scaling series
    size: int = 0
    timeout: float = 0.0
    # filled in by run_job
    status: str = "not run"  # ok | skipped | failed
    reason: str = ""
    elapsed_s: float = 0.0
    command: list[str] = field(default_factory=list)
    log: str = ""
    result: Json | None = None

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.label.lower()).strip("_")

    @property
    def name(self) -> str:
        return f"{self.stage} ({self.label})" if self.label else self.stage


def short(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def plan(quick: bool) -> list[Job]:
    """The benchmarks to run, with their arguments for a quick or a full run."""
    timeout = 300.0 if quick else 3600.0
    jobs = [
        Job("ingest", "bench_ingest.py", ["--rounds", "1", "--warmup"] if quick else [], timeout=timeout),
        Job("tagging", "bench_tagging.py", ["--n", "1000", "--repeat", "2"] if quick else [], timeout=timeout),
    ]
    for n in (1_000, 10_000, 100_000):
        jobs.append(Job("feeds", "bench_feeds.py", ["--articles", str(n), *(["--rounds", "3"] if quick else [])],
                        label=f"{short(n)} articles", size=n, timeout=timeout))
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    for n in sizes:
        if quick:
            extra = ["--rounds", "1", "--memory", str(n) if n == 1_000 else ""]
        else:
            extra = ["--rounds", "1", "--memory", ""] if n == 100_000 else ["--memory", str(n)]
        jobs.append(Job("send", "bench_send.py", ["--subscribers", str(n), *extra],
                        label=f"{short(n)} subscribers", size=n, timeout=timeout))
    jobs.append(Job("web", "bench_web.py", ["--floor", *(["--seconds", "3"] if quick else [])], timeout=timeout))
    # scale-out on PostgreSQL (skips itself without FEEDPIPE_TEST_PG_URL)
    jobs.append(Job("workers", "bench_workers.py", ["--subscribers", "1000" if quick else "5000"], timeout=timeout))
    jobs.append(Job("peer", "bench_peer.py", ["--pairs", "1" if quick else "3"], timeout=timeout))
    # the mailing list: import, list --json, send queue (the PostgreSQL run skips itself without FEEDPIPE_TEST_PG_URL)
    rows, memory = ("20000", "5000,20000") if quick else ("100000", "20000,100000")
    jobs.append(Job("subscribers", "bench_subscribers.py", ["--rows", rows, "--memory", memory],
                    label=f"{short(int(rows))} rows, SQLite", size=int(rows), timeout=timeout))
    jobs.append(Job("subscribers", "bench_subscribers.py", ["--rows", rows, "--memory", "", "--pg"],
                    label=f"{short(int(rows))} rows, PostgreSQL", size=int(rows), timeout=timeout))
    return jobs


def bench_env(data: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    if data:
        env["FEEDPIPE_EVAL_DATA"] = data
    return env


def run_job(job: Job, env: dict[str, str], logs: Path, timeout: float) -> None:
    """Run one benchmark in its own process group (killed whole on timeout) and read its JSON."""
    name = f"{job.stage}-{job.slug}" if job.slug else job.stage
    with tempfile.TemporaryDirectory(prefix="feedpipe-bench-") as tmp:
        out_json = Path(tmp) / "figures.json"
        extra = ["--db", str(Path(tmp) / "feeds.db")] if job.stage == "feeds" else []
        job.command = [sys.executable, str(HERE / job.script), *job.args, *extra, "--json", str(out_json)]
        log = logs / f"{name}.log"
        job.log = str(log)
        started = time.perf_counter()
        with log.open("w", encoding="utf-8") as fh:
            fh.write("$ " + " ".join(job.command) + "\n")
            fh.flush()
            proc = subprocess.Popen(job.command, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                code = None
        job.elapsed_s = time.perf_counter() - started
        if code is None:
            job.status, job.reason = "failed", f"timed out after {timeout:.0f} s"
            return
        if code != 0:
            tail = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
            job.status, job.reason = "failed", f"exit status {code}: {tail[-1] if tail else 'no output'}"
            return
        if not out_json.is_file():
            job.status, job.reason = "failed", "it wrote no JSON figures"
            return
        result: Json = json.loads(out_json.read_text(encoding="utf-8"))
    job.result = result
    if result.get("status") == "skipped":
        job.status, job.reason = "skipped", str(result.get("reason", ""))
    else:
        job.status = "ok"


def git_info() -> Json:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "feedpipe"))}


def feedpipe_location(env: dict[str, str]) -> str:
    code = "import feedpipe; print(feedpipe.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    return out.stdout.strip() or f"(import failed: {out.stderr.strip().splitlines()[-1:]})"


def ratio_key(job: Job, key: str) -> str:
    return "_".join(p for p in (job.stage, job.slug, key) if p)


def collect_ratios(jobs: list[Job]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every ratio of every run, flat, and which way each one improves."""
    ratios: dict[str, Any] = {}
    better: dict[str, str] = {}
    for job in jobs:
        if not job.result:
            continue
        for key, value in job.result.get("figures", {}).items():
            if "ratio" in key:
                ratios[ratio_key(job, key)] = value
                if key in job.result.get("better", {}):
                    better[ratio_key(job, key)] = job.result["better"][key]
    return ratios, better


def compare_baseline(ratios: dict[str, Any], better: dict[str, str], baseline: Json,
                     tolerance: float) -> list[Json]:
    """Each ratio that both runs have, as after/before; worse by more than `tolerance` is a regression."""
    old: dict[str, Any] = baseline.get("ratios", {})
    out = []
    for key, new in ratios.items():
        before = old.get(key)
        if not isinstance(new, int | float) or not isinstance(before, int | float) or not before:
            continue
        change = new / before
        way = better.get(key, "")
        worse = (way == "higher" and change < 1 - tolerance) or (way == "lower" and change > 1 + tolerance)
        out.append({"key": key, "before": before, "after": new, "change": round(change, 4), "better": way,
                    "regression": worse})
    return out


# ---------------------------------------------------------------- report


def fmt(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(fmt(x) for x in v)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def with_unit(result: Json, key: str) -> str:
    v = result["figures"].get(key)
    if v is None:
        return "–"
    unit = result.get("units", {}).get(key, "")
    return f"{fmt(v)} {unit}".strip()


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def stage_status(jobs: list[Job]) -> str:
    states = {j.status for j in jobs}
    return states.pop() if len(states) == 1 else "partial: " + ", ".join(f"{j.label}: {j.status}" for j in jobs)


def arrow(way: str) -> str:
    return {"higher": " ↑", "lower": " ↓"}.get(way, "")


def write_report(path: Path, meta: Json, jobs: list[Job], ratios: dict[str, Any], better: dict[str, str],
                 against: list[Json] | None, plots: list[str], plot_note: str) -> None:
    lines = [
        "# feedpipe benchmarks",
        "",
        f"{'Quick' if meta['quick'] else 'Full'} run, {meta['started_at']}, {meta['elapsed_s']:.0f} s in all; "
        f"commit `{meta['git']['commit'][:12] or '?'}`{' (feedpipe/ modified)' if meta['git']['dirty'] else ''}, "
        f"feedpipe from `{meta['feedpipe']}`; Python {meta['python']}, {meta['cpus']} CPUs, "
        f"load average {meta['load_before']} before the run.",
        "",
        "Ratios divide feedpipe's figure by its library floor's measured in the same run (or by a fixed "
        "target), so they compare across runs and machines; ↑ higher is better, ↓ lower is better."
        + (" One quick run is noisy on a busy machine (single ratios moved by up to 45% between two quick "
           "runs of the same code): repeat a run that flags a regression." if meta.get("quick") else ""),
        "",
        "| stage | status | time |",
        "| --- | --- | --- |",
    ]
    for job in jobs:
        note = f": {job.reason}" if job.reason else ""
        lines.append(f"| {cell(job.name)} | {cell(job.status + note)} | {job.elapsed_s:.0f} s |")
    lines += ["", "## Every ratio", ""]
    if not ratios:
        lines.append("None: no benchmark gave figures.")
    if against is not None:
        regress = [a for a in against if a["regression"]]
        lines.append(f"Against the baseline `{meta['baseline']}` (tolerance {meta['tolerance']:.0%}): "
                     + (f"**{len(regress)} regression(s)**." if regress else "no ratio got worse beyond it."))
        lines += ["", "| ratio | value | baseline | after / before | |", "| --- | --- | --- | --- | --- |"]
        by_key = {a["key"]: a for a in against}
        for key, value in ratios.items():
            a = by_key.get(key)
            lines.append(f"| `{key}`{arrow(better.get(key, ''))} | {fmt(value)} | "
                         f"{fmt(a['before']) if a else '–'} | {fmt(a['change']) if a else '–'} | "
                         f"{'**worse**' if a and a['regression'] else ''} |")
    elif ratios:
        lines += ["| ratio | value |", "| --- | --- |"]
        lines += [f"| `{k}`{arrow(better.get(k, ''))} | {fmt(v)} |" for k, v in ratios.items()]
    for stage in STAGES:
        mine = [j for j in jobs if j.stage == stage]
        if not mine:
            continue
        lines += ["", f"## {stage}", "", f"Library floor: {FLOORS[stage]}. Status: {stage_status(mine)}.", ""]
        rows = [(j, r) for j in mine if j.result for r in j.result.get("rows", [])]
        if rows:
            lines += ["| figure | value | library floor | ratio | target |", "| --- | --- | --- | --- | --- |"]
            for job, r in rows:
                res = job.result or {}
                floor_label = res.get("labels", {}).get(r["floor"], "")
                label = f"{job.label}: {r['label']}" if job.label else r["label"]
                floor = with_unit(res, r["floor"]) + (
                    f" ({floor_label})" if floor_label and not floor_label.startswith("floor") else "")
                ratio = res["figures"].get(r["ratio"])
                lines.append(f"| {cell(label)} | {cell(with_unit(res, r['value']))} | {cell(floor)} | "
                             f"{fmt(ratio) if ratio is not None else '–'}{arrow(r.get('better', ''))} | "
                             f"{cell(r.get('target', ''))} |")
        for job in mine:
            title = job.label or stage
            if job.status != "ok" or not job.result:
                lines += ["", f"{title}: {job.status}{': ' + job.reason if job.reason else ''} "
                              f"(log: `{job.log}`)"]
                continue
            res = job.result
            lines += ["", f"<details><summary>{title}: every figure ({fmt(job.elapsed_s)} s; "
                          f"`{' '.join(Path(c).name if i < 2 else c for i, c in enumerate(job.command[:-2]))}`)"
                          "</summary>", "", "| figure | value | what |", "| --- | --- | --- |"]
            for key in res.get("figures", {}):
                lines.append(f"| `{key}` | {cell(with_unit(res, key))} | {cell(res.get('labels', {}).get(key, ''))} |")
            lines += ["", "</details>"]
    lines += ["", "## Plots", ""]
    if plot_note:
        lines += [plot_note, ""]
    lines += [f"![{p}]({p})" for p in plots]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- plots


def make_plots(out: Path, jobs: list[Job]) -> tuple[list[str], str]:
    """throughput-<stage>.png and scaling.png; returns their names, or a note when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "No plots: matplotlib is not installed (`.venv/bin/pip install matplotlib`)."
    names: list[str] = []
    for stage in STAGES:
        bars: list[tuple[str, float, float, str, str]] = []
        for job in jobs:
            if job.stage != stage or not job.result:
                continue
            res = job.result
            for r in res.get("rows", []):
                ours, floor = res["figures"].get(r.get("rate", "")), res["figures"].get(r.get("floor_rate", ""))
                if isinstance(ours, int | float) and isinstance(floor, int | float):
                    label = f"{job.label}: {r['label']}" if job.label else r["label"]
                    ratio = res["figures"].get(r["ratio"])
                    note = f"ratio {fmt(ratio)}{arrow(r.get('better', ''))}" if ratio is not None else ""
                    bars.append((label, float(ours), float(floor), res.get("units", {}).get(r["rate"], ""), note))
        if not bars:
            continue
        fig, ax = plt.subplots(figsize=(12, 1.4 + 0.55 * len(bars)))
        ys = list(range(len(bars)))
        ax.barh([y + 0.2 for y in ys], [b[1] for b in bars], height=0.4, label="feedpipe", color="#1f77b4")
        ax.barh([y - 0.2 for y in ys], [b[2] for b in bars], height=0.4, label="library floor", color="#bbbbbb")
        for y, (_, ours, floor, _, note) in zip(ys, bars, strict=True):
            ax.text(ours, y + 0.2, f" {fmt(ours)}   {note}", va="center", fontsize=7)
            ax.text(floor, y - 0.2, f" {fmt(floor)}", va="center", fontsize=7, color="#555555")
        ax.set_yticks(ys)
        ax.set_yticklabels([textwrap.fill(b[0], 55) for b in bars], fontsize=7)
        ax.invert_yaxis()
        values = [v for b in bars for v in b[1:3] if v > 0]
        if values and max(values) / min(values) > 30:
            ax.set_xscale("log")
        units = sorted({b[3] for b in bars if b[3]})
        ax.set_xlabel("throughput" + (f" ({', '.join(units)})" if units else "") + "; higher is better.  "
                      "ratio: as in report.md (↑ higher is better, ↓ lower is better)")
        ax.set_title(f"{stage}: feedpipe beside {FLOORS[stage]}", fontsize=9)
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(1.0, 0.0))
        ax.margins(x=0.25)
        fig.tight_layout()
        name = f"throughput-{stage}.png"
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append(name)

    def series(stage: str, keys: list[tuple[str, str]]) -> list[tuple[str, list[int], list[float]]]:
        got = []
        for key, label in keys:
            xs, ys = [], []
            for job in sorted((j for j in jobs if j.stage == stage and j.result and j.status == "ok"),
                              key=lambda j: j.size):
                v = (job.result or {}).get("figures", {}).get(key)
                if isinstance(v, int | float):
                    xs.append(job.size)
                    ys.append(float(v))
            if xs:
                got.append((label, xs, ys))
        return got

    panels = [
        ("feeds: full and incremental rebuild", "stored articles", "seconds", series("feeds", [
            ("feedgen_s", "feedgen alone, RSS + Atom (floor)"), ("rss_atom_s", "feedpipe RSS + Atom"),
            ("render_all_s", "feedpipe render_all"), ("publish_all_cold_s", "publish_feeds --all, empty folder"),
            ("publish_all_warm_s", "publish_feeds --all, unchanged"), ("read_entries_s", "read newest entries"),
            ("incremental_s", "publish_feeds --changed, 50 new"), ("store_build_s", "building the store"),
        ])),
        ("send: one edition to every subscriber", "subscribers", "seconds", series("send", [
            ("raw_s", "raw smtplib (floor)"), ("feedpipe_s", "feedpipe send_edition")])),
    ]
    memory: dict[int, float] = {}
    for job in jobs:
        if job.stage == "send" and job.result:
            for key, value in job.result.get("figures", {}).items():
                m = re.fullmatch(r"peak_traced_mib_(\d+)_subscribers", key)
                if m and isinstance(value, int | float):
                    memory[int(m.group(1))] = float(value)
    if memory:
        sizes = sorted(memory)
        panels.append(("send: peak traced memory of the send", "subscribers", "MiB",
                       [("peak traced memory (tracemalloc)", sizes, [memory[n] for n in sizes])]))
    panels = [p for p in panels if p[3]]
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
        for ax, (title, xlabel, ylabel, lines) in zip(axes[0], panels, strict=True):
            for label, xvals, yvals in lines:
                ax.plot(xvals, yvals, marker="o", label=label)
            ax.set_xscale("log")
            if ylabel == "seconds":
                ax.set_yscale("log")
            else:
                ax.set_ylim(bottom=0)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle("cost against input size", fontsize=10)
        fig.tight_layout()
        fig.savefig(out / "scaling.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append("scaling.png")
    return names, ""


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n\n")[0],
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds and smaller inputs (about 5 minutes)")
    ap.add_argument("--json", metavar="FILE", type=Path, help="write every figure and ratio as JSON to FILE")
    ap.add_argument("--out", metavar="DIR", type=Path, default=HERE / "out",
                    help="folder for report.md, the PNG plots and logs/ (default: benchmarks/out)")
    ap.add_argument("--only", metavar="STAGES", help=f"comma-separated subset of {','.join(STAGES)}")
    ap.add_argument("--data", metavar="DIR",
                    help="evaluation data for ingest (default: $FEEDPIPE_EVAL_DATA, else ../shared/data)")
    ap.add_argument("--timeout", metavar="S", type=float,
                    help="time limit of each benchmark in seconds (default 300 with --quick, else 3600)")
    ap.add_argument("--budget", metavar="S", type=float,
                    help="start no benchmark after S seconds and cut the running one there "
                         "(default 540 with --quick, else none)")
    ap.add_argument("--baseline", metavar="FILE", type=Path,
                    help="a JSON file from an earlier run: put its ratios beside these and mark regressions")
    ap.add_argument("--tolerance", metavar="F", type=float,
                    help="a ratio worse than the baseline's by more than this fraction is a regression "
                         "(default 0.25 with --quick, whose single rounds are noisier, else 0.15)")
    ap.add_argument("--fail-on-regression", action="store_true", help="exit 2 when --baseline finds a regression")
    ap.add_argument("--from-json", metavar="FILE", type=Path,
                    help="run nothing: write report.md and the plots again from FILE, the --json of an earlier run")
    args = ap.parse_args(argv)
    if args.tolerance is None:
        args.tolerance = 0.25 if args.quick else 0.15
    if args.only:
        bad = set(args.only.split(",")) - set(STAGES)
        if bad:
            ap.error(f"--only: unknown stage(s) {', '.join(sorted(bad))}; choose from {', '.join(STAGES)}")
    if args.from_json and not args.from_json.is_file():
        ap.error(f"--from-json: no such file {args.from_json}")
    if args.baseline and not args.baseline.is_file():
        ap.error(f"--baseline: no such file {args.baseline}")
    return args


def load_jobs(doc: Json) -> list[Job]:
    """The runs of an earlier --json document, for --from-json."""
    jobs = []
    for stage, info in doc.get("stages", {}).items():
        for r in info.get("runs", []):
            job = Job(stage, "", [], label=r.get("label", ""), size=r.get("size", 0))
            job.status, job.reason, job.elapsed_s = r.get("status", ""), r.get("reason", ""), r.get("elapsed_s", 0.0)
            job.command, job.log, job.result = r.get("command", []), r.get("log", ""), r.get("result")
            jobs.append(job)
    return jobs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out.resolve()
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if out == (HERE / "out").resolve() and not (out / ".gitignore").exists():
        (out / ".gitignore").write_text("*\n", encoding="utf-8")  # generated output stays out of git
    if args.from_json:
        doc: Json = json.loads(args.from_json.read_text(encoding="utf-8"))
        jobs = load_jobs(doc)
        meta: Json = {k: v for k, v in doc.items() if k not in ("stages", "ratios", "better", "against_baseline",
                                                                 "baseline", "tolerance")}
        return finish(args, out, meta, jobs)
    jobs = plan(args.quick)
    if args.only:
        jobs = [j for j in jobs if j.stage in args.only.split(",")]
    budget = args.budget if args.budget is not None else (540.0 if args.quick else math.inf)
    env = bench_env(args.data)
    meta = {
        "quick": args.quick, "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": git_info(), "feedpipe": feedpipe_location(env), "python": platform.python_version(),
        "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in os.getloadavg()],
        "eval_data": env.get("FEEDPIPE_EVAL_DATA", str(ROOT.parent / "shared" / "data")),
    }
    print(f"feedpipe from {meta['feedpipe']}; {len(jobs)} benchmark runs"
          f"{', quick' if args.quick else ''}; output in {out}", flush=True)
    started = time.perf_counter()
    for i, job in enumerate(jobs, 1):
        left = budget - (time.perf_counter() - started)
        if left < 15:
            job.status, job.reason = "skipped", f"out of the {budget:.0f} s time budget"
            print(f"[{i}/{len(jobs)}] {job.name}: skipped, {job.reason}", flush=True)
            continue
        print(f"[{i}/{len(jobs)}] {job.name} ...", end=" ", flush=True)
        limit = min(args.timeout or job.timeout, left)
        run_job(job, env, logs, limit)
        if job.reason.startswith("timed out") and limit < (args.timeout or job.timeout):
            job.reason += " (the end of the run's time budget)"
        print(f"{job.status} in {job.elapsed_s:.0f} s" + (f": {job.reason}" if job.reason else ""), flush=True)
    meta["elapsed_s"] = round(time.perf_counter() - started, 1)
    return finish(args, out, meta, jobs)


def finish(args: argparse.Namespace, out: Path, meta: Json, jobs: list[Job]) -> int:
    """Ratios, the baseline comparison, plots, report.md and the JSON; the exit status."""
    ratios, better = collect_ratios(jobs)
    against = None
    if args.baseline:
        meta["baseline"], meta["tolerance"] = str(args.baseline), args.tolerance
        against = compare_baseline(ratios, better, json.loads(args.baseline.read_text(encoding="utf-8")),
                                   args.tolerance)
    plots, plot_note = make_plots(out, jobs)
    write_report(out / "report.md", meta, jobs, ratios, better, against, plots, plot_note)
    if args.json:
        doc: Json = {
            **meta,
            "stages": {stage: {"status": stage_status([j for j in jobs if j.stage == stage]), "runs": [
                {"label": j.label, "size": j.size, "status": j.status, "reason": j.reason,
                 "elapsed_s": round(j.elapsed_s, 1), "command": j.command, "log": j.log, "result": j.result}
                for j in jobs if j.stage == stage]} for stage in STAGES if any(j.stage == stage for j in jobs)},
            "ratios": ratios,
            "better": better,
        }
        if against is not None:
            doc["against_baseline"] = against
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"report: {out / 'report.md'}" + (f"; JSON: {args.json}" if args.json else "")
          + (f"; plots: {', '.join(plots)}" if plots else f"; {plot_note or 'no plots (no figures)'}")
          + f"; {meta['elapsed_s']:.0f} s")
    for key, value in ratios.items():
        print(f"  {key:<70} {fmt(value)}{arrow(better.get(key, ''))}")
    if any(j.status == "failed" for j in jobs):
        return 1
    if against is not None and args.fail_on_regression and any(a["regression"] for a in against):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
