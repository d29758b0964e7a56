"""Peer benchmark: rss2email (`r2e run --no-send`) vs `feedpipe ingest`, the same local feeds, from empty.

The real feeds under $FEEDPIPE_EVAL_DATA/feeds/real are served from 127.0.0.1; each round runs both
tools as fresh processes with empty state, alternating which goes first; the median of --pairs pairs
(wall and CPU seconds of the child process) is reported, with feedpipe / rss2email under `ratio` keys
(targets: wall <= 0.4, CPU <= 0.5). rss2email is the Debian package (`apt-get install rss2email`);
the run is skipped, with the reason, when `r2e` is missing.

    PYTHONPATH=. python benchmarks/bench_peer.py [--pairs 3] [--json FILE] [--compiled]

--compiled runs feedpipe from a bytecode-compiled copy of its package: rss2email runs from the bytecode
its Debian package installs, while a checkout under PYTHONDONTWRITEBYTECODE=1 compiles feedpipe's source
on every run (about 0.1 CPU-s of a first ingest of the real feeds).
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_ingest import FEED_SUFFIXES, TYPES, serve
from benchjson import Figures


def timed_child(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("FEEDPIPE_EVAL_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--data", default=default)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (see benchjson.py)")
    ap.add_argument("--compiled", action="store_true",
                    help="run feedpipe from a bytecode-compiled copy of its package, as an installed feedpipe runs "
                    "(rss2email's Debian package ships compiled): for a checkout that has no __pycache__, e.g. "
                    "under PYTHONDONTWRITEBYTECODE=1, where each run compiles feedpipe's source first")
    args = ap.parse_args()
    fig = Figures("peer", pairs=args.pairs)
    data = Path(args.data)
    feeds = [p for p in sorted((data / "feeds" / "real").rglob("*")) if p.suffix.lower() in FEED_SUFFIXES]
    r2e = shutil.which("r2e")
    if not feeds or not r2e:
        reason = "no evaluation feeds (set FEEDPIPE_EVAL_DATA)" if not feeds else "r2e missing: apt-get install rss2email"
        print(f"skipped: {reason}")
        fig.skip(reason)
        fig.write(args.json)
        return 0
    files = {f"/{p.relative_to(data).as_posix()}": (p.read_bytes(), TYPES.get(p.suffix.lower(), "")) for p in feeds}
    srv, port = serve(files)
    urls = [f"http://127.0.0.1:{port}{path}" for path in files]
    env = dict(os.environ)
    feedpipe = [sys.executable, "-m", "feedpipe"]
    if args.compiled:  # the package the runs would import, copied and compiled once, before any timing
        where = subprocess.run([sys.executable, "-c", "import feedpipe; print(feedpipe.__file__)"], env=env,
                               capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()).stdout.strip()
        copy = Path(tempfile.mkdtemp(prefix="bench-peer-pkg-"))
        shutil.copytree(Path(where).parent, copy / "feedpipe", ignore=shutil.ignore_patterns("__pycache__"))
        compileall.compile_dir(copy / "feedpipe", quiet=1)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(copy), env.get("PYTHONPATH", "")) if p)
        print(f"feedpipe runs from {copy / 'feedpipe'}, compiled (its source: {Path(where).parent})")

    def run_r2e() -> tuple[float, float]:
        tmp = Path(tempfile.mkdtemp(prefix="bench-r2e-"))
        (tmp / "config").write_text("[DEFAULT]\nto = bench@example.org\nfrom = bench@example.org\n"
                                    + "".join(f"[feed.f{i}]\nurl = {u}\n" for i, u in enumerate(urls)))
        cmd = [r2e, "-c", str(tmp / "config"), "-d", str(tmp / "data.json"), "run", "--no-send"]
        try:
            return timed_child(cmd, tmp, env)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def run_feedpipe() -> tuple[float, float]:
        tmp = Path(tempfile.mkdtemp(prefix="bench-feedpipe-"))
        (tmp / "feedpipe.toml").write_text(
            '[store]\npath = "x.db"\n[fetch]\nallow_private_addresses = true\n'
            + "".join(f'[[sources]]\nname = "s{i}"\ntype = "feed"\nurl = "{u}"\n' for i, u in enumerate(urls)))
        try:
            return timed_child([*feedpipe, "--config", str(tmp / "feedpipe.toml"), "ingest"], tmp, env)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    peer: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for i in range(args.pairs):  # alternate who goes first: a busy machine slows both alike
        for name in (("r2e", "feedpipe") if i % 2 == 0 else ("feedpipe", "r2e")):
            (peer if name == "r2e" else ours).append(run_r2e() if name == "r2e" else run_feedpipe())
    srv.shutdown()
    if args.compiled:
        shutil.rmtree(copy, ignore_errors=True)
    p_wall, p_cpu = statistics.median(w for w, _ in peer), statistics.median(c for _, c in peer)
    o_wall, o_cpu = statistics.median(w for w, _ in ours), statistics.median(c for _, c in ours)
    print(f"{len(feeds)} feeds from 127.0.0.1, median of {args.pairs} alternating pairs, empty state each run"
          + (", feedpipe compiled" if args.compiled else ""))
    print(f"  rss2email r2e run --no-send: wall {p_wall:.2f} s  cpu {p_cpu:.2f} s")
    print(f"  feedpipe ingest:             wall {o_wall:.2f} s  cpu {o_cpu:.2f} s")
    print(f"  ratio feedpipe / rss2email:  wall {o_wall / p_wall:.2f} (target <= 0.4)  "
          f"cpu {o_cpu / p_cpu:.2f} (target <= 0.5)")
    fig.add("feeds", len(feeds), "files")
    fig.add("rss2email_wall_s", p_wall, "s", "r2e run --no-send, from empty")
    fig.add("rss2email_cpu_s", p_cpu, "s", "r2e run --no-send, from empty")
    fig.add("feedpipe_wall_s", o_wall, "s", "feedpipe ingest, from empty")
    fig.add("feedpipe_cpu_s", o_cpu, "s", "feedpipe ingest, from empty")
    fig.add("ingest_vs_rss2email_wall_ratio", o_wall / p_wall, better="lower")
    fig.add("ingest_vs_rss2email_cpu_ratio", o_cpu / p_cpu, better="lower")
    fig.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
