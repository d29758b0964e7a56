"""Bounded load on the feed endpoint: waitress + Flask serving /feeds/all.atom on 127.0.0.1.

    .venv/bin/python benchmarks/bench_web.py [--seconds 10] [--connections 16] [--threads 8]

Uses wrk (Debian: apt-get install -y wrk) when installed, and a Python client (threads, keep-alive
sessions) always; prints requests/s and p50/p99 latency for 200 answers and for 304 answers
(If-None-Match). Never fails on a slow machine: it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from feedpipe.web import WebServer, create_app  # noqa: E402


def atom(entries: int) -> bytes:
    items = "".join(
        f"<entry><id>urn:feedpipe:{i}</id><title>Headline number {i} about Kyiv and Minsk</title>"
        f"<link href='https://news.example.org/a/{i}'/><updated>2026-11-27T08:00:00Z</updated>"
        f"<summary>{'A summary sentence of the article. ' * 6}</summary></entry>"
        for i in range(entries)
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>All</title>"
            f"<id>urn:all</id><updated>2026-11-27T08:00:00Z</updated>{items}</feed>").encode()


def python_load(url: str, seconds: float, clients: int, headers: dict | None = None) -> dict:
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        session = requests.Session()
        mine, mycodes = [], {}
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            r = session.get(url, headers=headers, timeout=10)
            mine.append(time.perf_counter() - t0)
            mycodes[r.status_code] = mycodes.get(r.status_code, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in mycodes.items():
                codes[k] = codes.get(k, 0) + v

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies), "rps": len(latencies) / elapsed, "codes": codes,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def wrk_load(url: str, seconds: int, connections: int, etag: str | None = None) -> dict | None:
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    cmd = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if etag:
        cmd[1:1] = ["-H", f"If-None-Match: {etag}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    return {"rps": rps, "p50_ms": float(p50.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)],
            "p99_ms": float(p99.group(1)) * scale, "errors": "Non-2xx" in out or "Socket errors" in out}


def main() -> None:
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" is the point of a load run
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    ap.add_argument("--entries", type=int, default=50, help="entries in the served all.atom")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        public = Path(tmp) / "public"
        (public / "feeds").mkdir(parents=True)
        body = atom(args.entries)
        (public / "feeds" / "all.atom").write_bytes(body)
        app = SimpleNamespace(
            settings=SimpleNamespace(public_dir=public, templates_dir=None, digest=None,
                                     outlet=SimpleNamespace(name="Bench", public_url="http://127.0.0.1",
                                                            language="en")),
            store=None, clock=None,
        )
        server = WebServer(create_app(app, secret_key="bench"), host="127.0.0.1", port=0, threads=args.threads)
        server.start()
        url = server.url + "/feeds/all.atom"
        try:
            etag = requests.get(url, timeout=5).headers["ETag"]
            print(f"feed: {len(body) / 1024:.0f} KiB, {args.entries} entries; waitress threads={args.threads}; "
                  f"{args.seconds}s per run, {args.connections} connections")
            for label, tag in (("200 full body", None), ("304 If-None-Match", etag)):
                result = wrk_load(url, args.seconds, args.connections, tag)
                if result:
                    print(f"wrk    {label:<18} {result['rps']:8.0f} req/s   p50 {result['p50_ms']:6.2f} ms   "
                          f"p99 {result['p99_ms']:6.2f} ms{'   (errors!)' if result['errors'] else ''}")
                py = python_load(url, args.seconds, args.connections, {"If-None-Match": tag} if tag else None)
                print(f"python {label:<18} {py['rps']:8.0f} req/s   p50 {py['p50_ms']:6.2f} ms   "
                      f"p99 {py['p99_ms']:6.2f} ms   codes {py['codes']}")
            if not shutil.which("wrk"):
                print("(wrk not installed: apt-get install -y wrk for a client that is not itself the bottleneck)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
