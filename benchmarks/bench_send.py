"""Personal digest send to N subscribers into a local SMTP sink, beside raw smtplib.

    .venv/bin/python benchmarks/bench_send.py [--subscribers 10000] [--memory 1000,10000] [--rounds 3]
        [--json FILE]

The sink is aiosmtpd in its own process (so it does not share our GIL). Figures:
- feedpipe: `send_edition` end to end — ledger claim/finish per subscriber in SQLite, personal
  selection, slot filling, MIME building, SMTP over one connection — in messages per second;
- raw: smtplib `sendmail` over one connection of messages pre-built (outside the timing) by the same
  builder from the same preference sets, so the same bytes (one per preference set, in turn), the same
  server, one connection each, the same four writes per message (MAIL, RCPT, DATA, body);
- ratio feedpipe/raw (target >= 0.9), from the wall time of alternating rounds (median; which side goes
  first alternates too), with the load average at each round's start: on shared cores, read it beside it;
- the same ratio in CPU time: client CPU (this process) + the sink's CPU (read from /proc) per message,
  raw over feedpipe. The sink does the same work for the same bytes on both sides, so on a machine
  whose cores are shared (and busy) this says how close to the wire's cost a send is, where wall
  time mostly says how busy the neighbours were;
- peak traced memory (tracemalloc) of the send at each size in --memory: flat means streaming.
Prints figures only; never fails because a machine is slow.
"""

from __future__ import annotations

import argparse
import os
import random
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchjson import Figures  # noqa: E402

from feedpipe.core.model import Subscriber  # noqa: E402
from feedpipe.digest import send_edition  # noqa: E402
from feedpipe.digest.build import load_edition as prepare  # noqa: E402
from feedpipe.mailer import SmtpTransport  # noqa: E402
from feedpipe.store import Store  # noqa: E402
from tests.digest_support import SEND_AT, WEEK, digest_settings, week_of_articles  # noqa: E402

PREFERENCES = [((), ())] * 4 + [
    (("UA",), ()), (("RU",), ()), (("BY",), ()), (("KZ",), ()), (("GE",), ()), (("UA", "BY"), ()),
    ((), ("politics",)), ((), ("medtop:04000000",)), (("RU",), ("human-rights",)), (("PL",), ("politics",)),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink() -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the aiosmtpd sink did not start")


def make_store(folder: Path, count: int) -> Store:
    store = Store.open(f"sqlite:///{folder / f'bench-{count}.db'}", now=SEND_AT)
    store.articles.upsert(week_of_articles(), now=SEND_AT)
    rng = random.Random(48)
    for i in range(count):
        countries, topics = rng.choice(PREFERENCES)
        store.subscribers.add(f"reader{i:06d}@example.com", name=f"Reader {i}", status="active",
                             countries=countries, topics=topics, now=SEND_AT)
    return store


def reset_edition(store: Store) -> None:
    """Forget the edition's send, so the next round sends it again to everyone."""
    with store.db.write() as conn:
        conn.exec_driver_sql("DELETE FROM send_ledger")
        conn.exec_driver_sql("DELETE FROM editions")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cpu:
    """Client (this process) and sink CPU seconds spent inside a `with` block."""

    def __init__(self, sink_pid: int) -> None:
        self.sink_pid, self.client, self.sink = sink_pid, 0.0, 0.0

    def __enter__(self) -> Cpu:
        self._c, self._s = time.process_time(), cpu_seconds(self.sink_pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client, self.sink = time.process_time() - self._c, cpu_seconds(self.sink_pid) - self._s


def feedpipe_send(store: Store, port: int) -> tuple[float, int]:
    reset_edition(store)
    transport = SmtpTransport("127.0.0.1", port, security="none", rate_per_second=0)
    started = time.perf_counter()
    report = send_edition(store, digest_settings(), transport, WEEK, SEND_AT + timedelta(minutes=1))
    return time.perf_counter() - started, report.sent


def raw_send(store: Store, port: int, count: int) -> tuple[float, int]:
    """The same kind of messages, built beforehand (outside the timing), sent with sendmail on one connection."""
    prepared = prepare(store, digest_settings(), WEEK, SEND_AT)
    samples = []
    for i, (countries, topics) in enumerate(PREFERENCES):
        sub = Subscriber(email=f"raw{i}@example.com", name=f"Reader {i}", status="active", countries=countries,
                         topics=topics, token="t" * 43)
        samples.append(prepared.message_bytes(sub, SEND_AT)[0])  # the bytes feedpipe's send builds
    conn = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(count):
        conn.sendmail("weekly@news.example.org", [f"reader{i:06d}@example.com"], samples[i % len(samples)])
    elapsed = time.perf_counter() - started
    conn.quit()
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--memory", default="1000,10000", help="sizes for the tracemalloc runs ('' to skip)")
    parser.add_argument("--rounds", type=int, default=3, help="raw and feedpipe alternate; medians are compared")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON (see benchjson.py)")
    args = parser.parse_args()
    fig = Figures("send", subscribers=args.subscribers, rounds=args.rounds, memory=args.memory)
    sink, port = start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            n = args.subscribers
            store = make_store(folder, n)
            print(f"subscribers: {n}  (personal: {len(set(PREFERENCES))} preference sets), "
                  f"{args.rounds} alternating rounds")
            raw_rates, our_rates = [], []
            raw_cpu, our_cpu = [], []  # (client, sink) CPU ms per message
            for round_no in range(1, args.rounds + 1):
                load = os.getloadavg()[0]
                if round_no % 2:  # alternate which goes first, so neither always meets the same neighbours
                    with Cpu(sink.pid) as raw_used:
                        raw_s, raw_n = raw_send(store, port, n)
                    with Cpu(sink.pid) as our_used:
                        ours_s, ours_n = feedpipe_send(store, port)
                else:
                    with Cpu(sink.pid) as our_used:
                        ours_s, ours_n = feedpipe_send(store, port)
                    with Cpu(sink.pid) as raw_used:
                        raw_s, raw_n = raw_send(store, port, n)
                raw_rates.append(raw_n / raw_s)
                our_rates.append(ours_n / ours_s)
                raw_cpu.append((raw_used.client * 1000 / raw_n, raw_used.sink * 1000 / raw_n))
                our_cpu.append((our_used.client * 1000 / ours_n, our_used.sink * 1000 / ours_n))
                print(f"  round {round_no}: raw {raw_rates[-1]:6.0f} msg/s, feedpipe {our_rates[-1]:6.0f} msg/s "
                      f"({ours_n} sent), ratio {our_rates[-1] / raw_rates[-1]:.2f}; CPU ms/msg client+sink: "
                      f"raw {raw_cpu[-1][0]:.2f}+{raw_cpu[-1][1]:.2f}, feedpipe {our_cpu[-1][0]:.2f}+{our_cpu[-1][1]:.2f}; "
                      f"load average {load:.1f} on {os.cpu_count()} cores")
            store.close()
            raw_med, our_med = statistics.median(raw_rates), statistics.median(our_rates)
            print(f"raw smtplib, pre-built bytes : {raw_med:8.0f} msg/s (median)")
            print(f"feedpipe send_edition        : {our_med:8.0f} msg/s (median)")
            print(f"ratio feedpipe / raw         : {our_med / raw_med:8.2f}  (target >= 0.9)")
            raw_client, raw_sink = (statistics.median(c[i] for c in raw_cpu) for i in (0, 1))
            our_client, our_sink = (statistics.median(c[i] for c in our_cpu) for i in (0, 1))
            cpu_ratio = (raw_client + raw_sink) / (our_client + our_sink)
            print(f"CPU ms per message (median)  : raw client {raw_client:.3f} + sink {raw_sink:.3f}; "
                  f"feedpipe client {our_client:.3f} + sink {our_sink:.3f}")
            print(f"ratio in CPU time, raw/feedpipe (client + sink): {cpu_ratio:.2f};  client alone: "
                  f"{raw_client / our_client:.2f}")
            fig.add("raw_client_cpu_ms_per_msg", raw_client, "ms", "raw smtplib, client CPU per message (median)")
            fig.add("feedpipe_client_cpu_ms_per_msg", our_client, "ms", "feedpipe, client CPU per message (median)")
            fig.add("raw_sink_cpu_ms_per_msg", raw_sink, "ms", "sink CPU per message during raw (median)")
            fig.add("feedpipe_sink_cpu_ms_per_msg", our_sink, "ms", "sink CPU per message during feedpipe (median)")
            fig.add("feedpipe_vs_raw_cpu_ratio", cpu_ratio, better="higher")
            fig.add("subscribers", n, "subscribers")
            fig.add("raw_msgs_per_s", raw_med, "msg/s", "raw smtplib, pre-built bytes (median)")
            fig.add("feedpipe_msgs_per_s", our_med, "msg/s", "feedpipe send_edition (median)")
            fig.add("raw_s", n / raw_med, "s", f"raw smtplib, {n} messages")
            fig.add("feedpipe_s", n / our_med, "s", f"feedpipe send_edition, {n} messages")
            fig.add("feedpipe_vs_raw_ratio", our_med / raw_med)
            fig.add("feedpipe_vs_raw_round_ratios", [round(o / r, 6) for o, r in zip(our_rates, raw_rates, strict=True)],
                    better="higher")
            fig.compare("send_edition, messages per second", "feedpipe_msgs_per_s",
                        "raw_msgs_per_s", "feedpipe_vs_raw_ratio", better="higher", target=">= 0.9",
                        rate="feedpipe_msgs_per_s", floor_rate="raw_msgs_per_s")
            for size in [int(x) for x in args.memory.split(",") if x.strip()]:
                mstore = make_store(folder, size)
                tracemalloc.start()
                _, sent = feedpipe_send(mstore, port)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                mstore.close()
                print(f"peak traced memory of the send, {size:>6} subscribers: {peak / 2**20:6.1f} MiB "
                      f"({sent} sent)")
                fig.add(f"peak_traced_mib_{size}_subscribers", peak / 2**20, "MiB",
                        f"peak traced memory of the send, {size} subscribers")
        fig.write(args.json)
    finally:
        sink.kill()
        sink.wait()


if __name__ == "__main__":
    main()
