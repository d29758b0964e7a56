"""Real parts for the scale-out tests and benchmark: feeds on many local hosts (127.0.0.x, each its own
server, with a latency per response and a record of every request's start and end), an SMTP sink
(aiosmtpd) that counts what each recipient got, a configuration for a PostgreSQL store, and worker
processes (`python -m feedpipe worker`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Visit:
    host: str
    path: str
    start: float
    end: float = 0.0


@dataclass
class FeedHosts:
    """`hosts` servers on 127.0.0.1..127.0.0.N; source i lives on host i % N. Each response waits
    `latency` seconds (a real server's think time)."""

    hosts: int
    items: int = 3
    latency: float = 0.02
    pub_date: str = "Wed, 25 Nov 2026 10:00:00 +0000"
    visits: list[Visit] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, i: int) -> str:
        h = i % self.hosts
        return f"http://127.0.0.{h + 1}:{self.ports[h]}/feed/{i}.xml"

    def feed(self, i: int) -> bytes:
        items = "".join(
            f"<item><title>Story {j} of source {i}</title><link>https://news{i}.example.org/{i}/{j}</link>"
            f"<guid>https://news{i}.example.org/{i}/{j}</guid><pubDate>{self.pub_date}</pubDate>"
            f"<description>Kyiv and Tbilisi news, item {j} of source {i}.</description></item>"
            for j in range(self.items))
        return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Source {i}</title>"
                f"<link>https://news{i}.example.org/</link>{items}</channel></rss>").encode()

    def start(self) -> FeedHosts:
        hosts = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                visit = Visit(host=self.server.server_address[0], path=self.path, start=time.monotonic())
                with hosts._lock:
                    hosts.visits.append(visit)
                try:
                    time.sleep(hosts.latency)
                    i = int(self.path.rsplit("/", 1)[-1].split(".")[0])
                    body = hosts.feed(i)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (OSError, ValueError):
                    self.close_connection = True
                finally:
                    visit.end = time.monotonic()

            def log_message(self, *args: object) -> None:
                pass

        for h in range(self.hosts):
            server = ThreadingHTTPServer((f"127.0.0.{h + 1}", 0), Handler)
            server.daemon_threads = True
            self.ports.append(server.server_address[1])
            self._servers.append(server)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def overlaps(self, ignore: set[int] = frozenset()) -> list[tuple[Visit, Visit]]:
        """Pairs of requests to one host that were in flight at the same time (by index, `ignore`d ones
        left out: a killed worker's orphaned request)."""
        found = []
        by_host: dict[str, list[tuple[int, Visit]]] = {}
        for n, v in enumerate(self.visits):
            if n not in ignore:
                by_host.setdefault(v.host, []).append((n, v))
        for visits in by_host.values():
            visits.sort(key=lambda nv: nv[1].start)
            for (_, a), (_, b) in zip(visits, visits[1:], strict=False):
                if b.start < (a.end or float("inf")):
                    found.append((a, b))
        return found

    def in_flight(self) -> set[int]:
        with self._lock:
            return {n for n, v in enumerate(self.visits) if not v.end}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """aiosmtpd on 127.0.0.1 that counts the messages each recipient got (and may add latency)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.got: Counter[str] = Counter()
        self.senders: dict[str, str] = {}  # recipient -> envelope sender (the VERP return path)
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        with self._lock:
            for rcpt in envelope.rcpt_tos:  # type: ignore[attr-defined]
                self.got[rcpt] += 1
                self.senders[rcpt] = envelope.mail_from  # type: ignore[attr-defined]
        return "250 OK"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def stop(self) -> None:
        self.controller.stop()

    def total(self) -> int:
        with self._lock:
            return sum(self.got.values())


def write_config(folder: Path, *, store_url: str, feeds: FeedHosts, sources: int, smtp_port: int,
                 rate: float = 0.0) -> Path:
    """A feedpipe.toml for a PostgreSQL store, `sources` feeds, [schedule] workers, mail to the sink."""
    entries = "".join(f'[[sources]]\nname = "s{i:04d}"\ntype = "feed"\nurl = "{feeds.url(i)}"\n\n'
                      for i in range(sources))
    path = folder / "feedpipe.toml"
    path.write_text(f"""
[outlet]
name = "Scale Times"
public_url = "https://news.example.org"
timezone = "UTC"

[store]
url = "{store_url}"

[fetch]
allow_private_addresses = true

[paths]
public = "public"

[digest]
title = "Scale Weekly"
from = "Scale Weekly <weekly@example.org>"
day = "friday"
time = "08:00"
timezone = "UTC"
skip_if_empty = false

[mail]
transport = "smtp"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
rate_per_second = {rate}

[schedule]
workers = true
ingest_minutes = 1440

{entries}""")
    return path


def start_worker(config: Path, *, now: str, extra: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """`feedpipe worker` in its own process, on the test's clock."""
    env = {**os.environ, "FEEDPIPE_NOW": now, "FEEDPIPE_ALLOW_PRIVATE_ADDRESSES": "1",
           "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-m", "feedpipe", "-q", "--config", str(config), "worker", "--poll", "0.1",
                             *extra], cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(condition: object, *, timeout: float, every: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def serve_in_this_process(hosts: int, latency: float, smtp_delay: float) -> None:
    """Run the feed hosts and the SMTP sink until killed, printing their ports as one JSON line: a
    benchmark runs them in a process of their own, so that its own work never delays a response."""
    import json

    feeds = FeedHosts(hosts=hosts, latency=latency).start()
    sink = SmtpSink(delay=smtp_delay).start()
    print(json.dumps({"ports": feeds.ports, "smtp": sink.port}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    serve_in_this_process(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]))
