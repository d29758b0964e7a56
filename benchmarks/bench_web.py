"""Bounded load on the feed endpoint: waitress + Flask serving /feeds/all.atom on 127.0.0.1.

    .venv/bin/python benchmarks/bench_web.py [--seconds 10] [--connections 16] [--threads 8] [--floor]
        [--json FILE]

Uses wrk (Debian: apt-get install -y wrk) when installed, and a Python client (threads, keep-alive
sessions) always; prints requests/s and p50/p99 latency for 200 answers and for 304 answers
(If-None-Match). With --floor, also the library floor: the same bytes and ETag served by waitress
with a bare WSGI callable (no Flask, no feedpipe), under the same load, and the ratio to it.
Never fails on a slow machine: it reports, it does not judge.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from benchjson import Figures  # noqa: E402

from feedpipe.app import App  # noqa: E402
from feedpipe.config import load_settings  # noqa: E402
from feedpipe.web import WebServer, create_app  # noqa: E402

CONFIG = """
[outlet]
name = "Bench"
public_url = "http://127.0.0.1"

[store]
path = "feedpipe.db"

[paths]
public = "public"
"""


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


def bare_wsgi(body: bytes, etag: str):
    """The floor: waitress answering with the same bytes and ETag, nothing else."""
    def app(environ, start_response):
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", [("ETag", etag)])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/atom+xml; charset=utf-8"),
                                  ("Content-Length", str(len(body))), ("ETag", etag)])
        return [body]
    return app


def main() -> None:
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" is the point of a load run
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    ap.add_argument("--entries", type=int, default=50, help="entries in the served all.atom")
    ap.add_argument("--floor", action="store_true", help="also measure waitress + a bare WSGI callable (the floor)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (see benchjson.py)")
    args = ap.parse_args()
    fig = Figures("web", seconds=args.seconds, connections=args.connections, threads=args.threads,
                  entries=args.entries, floor=args.floor, wrk=bool(shutil.which("wrk")))

    with tempfile.TemporaryDirectory() as tmp:
        public = Path(tmp) / "public"
        (public / "feeds").mkdir(parents=True)
        body = atom(args.entries)
        (public / "feeds" / "all.atom").write_bytes(body)
        config = Path(tmp) / "feedpipe.toml"
        config.write_text(CONFIG)
        app = App(load_settings(config, cwd=Path(tmp)))  # the store opens only if a route asks for it
        server = WebServer(create_app(app, secret_key="bench"), host="127.0.0.1", port=0, threads=args.threads)
        server.start()
        url = server.url + "/feeds/all.atom"
        try:
            etag = requests.get(url, timeout=5).headers["ETag"]
            print(f"feed: {len(body) / 1024:.0f} KiB, {args.entries} entries; waitress threads={args.threads}; "
                  f"{args.seconds}s per run, {args.connections} connections")
            fig.add("feed_kib", len(body) / 1024, "KiB")
            for label, tag in (("200 full body", None), ("304 If-None-Match", etag)):
                code = label[:3]
                result = wrk_load(url, args.seconds, args.connections, tag)
                if result:
                    print(f"wrk    {label:<18} {result['rps']:8.0f} req/s   p50 {result['p50_ms']:6.2f} ms   "
                          f"p99 {result['p99_ms']:6.2f} ms{'   (errors!)' if result['errors'] else ''}")
                    record(fig, f"wrk_{code}", f"wrk, {label}", result)
                py = python_load(url, args.seconds, args.connections, {"If-None-Match": tag} if tag else None)
                print(f"python {label:<18} {py['rps']:8.0f} req/s   p50 {py['p50_ms']:6.2f} ms   "
                      f"p99 {py['p99_ms']:6.2f} ms   codes {py['codes']}")
                record(fig, f"python_{code}", f"python client, {label}", py)
            if not shutil.which("wrk"):
                print("(wrk not installed: apt-get install -y wrk for a client that is not itself the bottleneck)")
        finally:
            server.stop()
            app.close()
        if args.floor:
            floor_server = WebServer(bare_wsgi(body, etag), host="127.0.0.1", port=0, threads=args.threads)
            floor_server.start()
            try:
                floor_url = floor_server.url + "/feeds/all.atom"
                for label, tag in (("200 full body", None), ("304 If-None-Match", etag)):
                    code = label[:3]
                    for client in ("wrk", "python"):
                        if client == "wrk":
                            result = wrk_load(floor_url, args.seconds, args.connections, tag)
                        else:
                            result = python_load(floor_url, args.seconds, args.connections,
                                                 {"If-None-Match": tag} if tag else None)
                        if not result:
                            continue
                        print(f"{client:<6} {label:<18} {result['rps']:8.0f} req/s   p50 {result['p50_ms']:6.2f} ms   "
                              f"p99 {result['p99_ms']:6.2f} ms   waitress + bare WSGI (floor); feedpipe / floor "
                              f"{fig.data['figures'][f'{client}_{code}_rps'] / result['rps']:.2f}")
                        record(fig, f"floor_{client}_{code}", f"{client}, {label}, waitress + bare WSGI", result)
                        key = f"{client}_{code}"
                        fig.add(f"{key}_vs_waitress_ratio", fig.data["figures"][f"{key}_rps"] / result["rps"])
                        fig.compare(f"/feeds/all.atom, {label}, {client} client, requests per second", f"{key}_rps",
                                    f"floor_{key}_rps", f"{key}_vs_waitress_ratio", better="higher",
                                    rate=f"{key}_rps", floor_rate=f"floor_{key}_rps")
            finally:
                floor_server.stop()
    fig.write(args.json)


def record(fig: Figures, key: str, label: str, result: dict) -> None:
    fig.add(f"{key}_rps", result["rps"], "req/s", label)
    fig.add(f"{key}_p50_ms", result["p50_ms"], "ms", label + ", p50 latency")
    fig.add(f"{key}_p99_ms", result["p99_ms"], "ms", label + ", p99 latency")
    if "requests" in result:
        fig.add(f"{key}_requests", result["requests"], "requests")


if __name__ == "__main__":
    main()
