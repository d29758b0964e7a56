"""The mailing list at the store's speed: `subscribers import`, `subscribers list --json` and building an
edition's send queue, beside plain sqlite3 doing the bare storage work.

    .venv/bin/python benchmarks/bench_subscribers.py [--rows 100000] [--memory 20000,100000] [--pg]
        [--stages import,list,queue] [--json FILE]

It writes its own CSV of --rows rows (about 1% bad rows of every kind the import reports: not an
address, unknown country, topic or status, too many fields, not UTF-8; about 0.5% repeats of an
earlier address in another case; 0.1% addresses suppressed beforehand, counted again when repeated), then, on a fresh store:

- import: `feedpipe subscribers import FILE`, run in this process through the real CLI, its report
  checked (added + already there + suppressed + skipped = rows);
- list: `feedpipe subscribers list --json` into a file, every line checked to be a JSON object;
- queue: what a send does before its first message: the edition's ledger rows for every active
  subscriber (`SendLedger.enqueue`) and their return paths (`BounceLog.prepare`).

Each in rows per second of wall time and of CPU time (process time: on a shared machine the CPU
figure is the steadier one). Library floors, run in the same process on the same data: the csv module
reading the file and sqlite3 `executemany` inserting the raw rows (no validation); a sqlite3 cursor over
the subscribers with `json.dumps` per row; one sqlite3 `INSERT ... SELECT` of the active subscribers.
Peak traced memory (tracemalloc, a second run) of each stage at each size in --memory: flat in the size
means streaming. --pg runs the feedpipe side on a fresh PostgreSQL database of FEEDPIPE_TEST_PG_URL
(the floors stay on SQLite). Prints figures only; never fails because a machine is slow.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchjson import Figures  # noqa: E402

from feedpipe.cli import run as cli_run  # noqa: E402
from feedpipe.store import Store  # noqa: E402
from tests.digest_support import SEND_AT, WEEK  # noqa: E402

NOW = SEND_AT.isoformat()
DOMAINS = ["example.com", "example.org", "Example.NET", "mail.example.com", "news.example.org", "post.example",
           "exämple.org", "inbox.example", "lists.example.net", "uni.example.edu"]
COUNTRIES = ["", "", "", "UA", "RU", "BY", "KZ GE", "UA BY", "Ukraine", "PL; RU"]
TOPICS = ["", "", "", "politics", "medtop:04000000", "human-rights", "politics sub-sanctions"]
BAD = [  # (what is wrong, the row's bytes given an index)
    ("address", lambda i: f"not-an-address-{i},Bad,,\n".encode()),
    ("country", lambda i: f"bad{i}@example.com,Bad,XX,\n".encode()),
    ("topic", lambda i: f"bad{i}@example.com,Bad,,gardening\n".encode()),
    ("fields", lambda i: f"bad{i}@example.com,Smith, Bad,UA,\n".encode()),
    ("status", lambda i: f"bad{i}@example.com,Bad,,,vip\n".encode()),
    ("utf8", lambda i: f"bad{i}@example.com,B".encode() + b"\xe4d,,\n"),
]


def address(i: int) -> str:
    return f"reader.{i:07d}@{DOMAINS[i % len(DOMAINS)]}"


def write_csv(path: Path, rows: int) -> tuple[int, list[str]]:
    """The CSV (header + `rows` rows); returns (bad rows, addresses to suppress beforehand)."""
    rng = random.Random(14)
    bad = 0
    suppress = []
    with path.open("wb") as fh:
        fh.write(b"email,name,countries,topics,status\n")
        for i in range(rows):
            roll = rng.random()
            if roll < 0.01:
                fh.write(BAD[i % len(BAD)][1](i))
                bad += 1
                continue
            email = address(i)
            if roll < 0.015 and i > 10:
                email = address(i - 7).upper()  # the same person again, another case
            elif roll < 0.016:
                suppress.append(email)
            status = "pending" if roll > 0.97 else ""
            name = f'"Reader {i}, Jr."' if i % 50 == 0 else f"Reader {i}"
            fh.write(f"{email},{name},{rng.choice(COUNTRIES)},{rng.choice(TOPICS)},{status}\n".encode())
    return bad, suppress


def cli(args: list[str], out: Path, err: Path) -> int:
    """One `feedpipe ...` run in this process, stdout and stderr to files."""
    with out.open("w", encoding="utf-8") as o, err.open("w", encoding="utf-8") as e, \
            contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        return cli_run(args)


@contextlib.contextmanager
def fresh_store(folder: Path, pg: bool) -> Iterator[str]:
    if not pg:
        yield f"sqlite:///{folder / f'list-{uuid.uuid4().hex[:8]}.db'}"
        return
    import sqlalchemy as sa

    base = os.environ["FEEDPIPE_TEST_PG_URL"]
    name = f"feedpipe_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(fn: Callable[[], object], memory: bool) -> tuple[float, float, float]:
    """(wall s, CPU s, peak traced MiB or 0) of one call."""
    if memory:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = 0.0
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return wall, cpu, peak


def feedpipe_run(folder: Path, csv_file: Path, rows: int, suppress: list[str], bad: int, stages: list[str],
                 pg: bool, memory: bool) -> dict[str, tuple[float, float, float, int]]:
    """{stage: (wall, cpu, peak MiB, rows handled)} of feedpipe's side on a fresh store."""
    out: dict[str, tuple[float, float, float, int]] = {}
    with fresh_store(folder, pg) as url:
        store = Store.open(url, now=SEND_AT)
        for email in suppress:  # said stop before the import
            store.subscribers.add(email, status="active", now=SEND_AT)
            store.suppressions.remove(email, now=SEND_AT)
        store.close()
        base = ["--store", url, "-q", "--now", NOW, "subscribers"]
        stdout, stderr = folder / "out.txt", folder / "err.txt"
        codes: list[int] = []
        wall, cpu, peak = measure(lambda: codes.append(cli([*base, "import", str(csv_file)], stdout, stderr)),
                                  memory)
        report = stdout.read_text(encoding="utf-8")
        if codes != [0]:
            raise SystemExit(f"import failed ({codes}): {stderr.read_text(encoding='utf-8')[-2000:]}")
        added, existing, skipped = (int(report.split(" ")[0]), int(report.split(", ")[1].split(" ")[0]),
                                    int(report.split(", ")[2].split(" ")[0]))
        held = int(report.splitlines()[1].split(" ")[0]) if "suppressed" in report else 0
        if added + existing + skipped + held != rows or skipped != bad or held < len(suppress):
            raise SystemExit(f"unexpected import report for {rows} rows ({bad} bad, {len(suppress)} suppressed): "
                             f"{report}")
        out["import"] = (wall, cpu, peak, rows)
        if "list" in stages:
            lines: list[int] = []
            wall, cpu, peak = measure(lambda: lines.append(cli([*base, "list", "--json"], stdout, stderr)), memory)
            count = 0
            with stdout.open(encoding="utf-8") as fh:
                for line in fh:
                    assert isinstance(json.loads(line), dict)
                    count += 1
            if lines != [0] or count != added:
                raise SystemExit(f"list --json: exit {lines}, {count} lines for {added} subscribers")
            out["list"] = (wall, cpu, peak, count)
        if "queue" in stages:
            store = Store.open(url, now=SEND_AT)
            queued: list[int] = []

            def queue() -> None:
                queued.append(store.ledger.enqueue(WEEK, now=SEND_AT))
                store.bounces.prepare(WEEK)

            wall, cpu, peak = measure(queue, memory)
            active = store.subscribers.count("active")
            store.close()
            if queued != [active]:
                raise SystemExit(f"queue: {queued} rows for {active} active subscribers")
            out["queue"] = (wall, cpu, peak, active)
    return out


def floor_run(folder: Path, csv_file: Path) -> dict[str, tuple[float, float, int]]:
    """{stage: (wall, cpu, rows)} of plain csv + sqlite3 doing the bare storage work of each stage."""
    db = sqlite3.connect(folder / f"floor-{uuid.uuid4().hex[:8]}.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE subscribers (email TEXT PRIMARY KEY, name TEXT, countries TEXT, topics TEXT, "
               "status TEXT)")
    db.execute("CREATE TABLE ledger (edition TEXT, email TEXT, state TEXT, PRIMARY KEY (edition, email))")
    out: dict[str, tuple[float, float, int]] = {}

    def load() -> None:
        with csv_file.open(newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            next(reader)
            batch = []
            for fields in reader:
                batch.append((fields + ["", "", "", "", ""])[:5])
                if len(batch) >= 1000:
                    db.executemany("INSERT OR IGNORE INTO subscribers VALUES (?, ?, ?, ?, ?)", batch)
                    db.commit()
                    batch.clear()
            db.executemany("INSERT OR IGNORE INTO subscribers VALUES (?, ?, ?, ?, ?)", batch)
            db.commit()

    wall, cpu, _ = measure(load, False)
    rows = db.execute("SELECT count(*) FROM subscribers").fetchone()[0]
    out["import"] = (wall, cpu, rows)

    def listing() -> None:
        with open(os.devnull, "w", encoding="utf-8") as sink:
            for email, name, countries, topics, status in db.execute("SELECT * FROM subscribers ORDER BY email"):
                sink.write(json.dumps({"email": email, "name": name, "countries": countries.split(),
                                       "topics": topics.split(), "status": status}, ensure_ascii=False) + "\n")

    wall, cpu, _ = measure(listing, False)
    out["list"] = (wall, cpu, rows)

    def queue() -> None:
        db.execute("INSERT INTO ledger SELECT ?, email, 'pending' FROM subscribers WHERE status != 'pending'",
                   (WEEK,))
        db.commit()

    wall, cpu, _ = measure(queue, False)
    out["queue"] = (wall, cpu, db.execute("SELECT count(*) FROM ledger").fetchone()[0])
    db.close()
    return out


LABELS = {"import": "subscribers import", "list": "subscribers list --json",
          "queue": "send queue of an edition (ledger + return paths)"}
FLOOR_LABELS = {"import": "csv + sqlite3 executemany, no validation", "list": "sqlite3 cursor + json.dumps",
                "queue": "sqlite3 INSERT ... SELECT"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memory", default="20000,100000", help="sizes for the tracemalloc runs ('' to skip)")
    parser.add_argument("--stages", default="import,list,queue", help="import is always run: the others need it")
    parser.add_argument("--pg", action="store_true", help="feedpipe's side on PostgreSQL (FEEDPIPE_TEST_PG_URL)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON (see benchjson.py)")
    args = parser.parse_args()
    stages = ["import", *[s for s in args.stages.split(",") if s in ("list", "queue")]]
    sizes = [int(s) for s in args.memory.split(",") if s.strip()]
    fig = Figures("subscribers", rows=args.rows, memory=sizes, stages=stages, pg=args.pg)
    if args.pg and not os.environ.get("FEEDPIPE_TEST_PG_URL"):
        fig.skip("--pg needs FEEDPIPE_TEST_PG_URL (.ci/start-postgres.sh)")
        fig.write(args.json)
        print(fig.data["reason"])
        return
    print(f"{args.rows:,} rows on {'PostgreSQL' if args.pg else 'SQLite'}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores shared: read the CPU figures)", flush=True)
    with tempfile.TemporaryDirectory(prefix="feedpipe-bench-subs-") as tmp:
        folder = Path(tmp)
        csv_file = folder / "list.csv"
        bad, suppress = write_csv(csv_file, args.rows)
        floor = floor_run(folder, csv_file)
        ours = feedpipe_run(folder, csv_file, args.rows, suppress, bad, stages, args.pg, memory=False)
        for stage in stages:
            wall, cpu, _, n = ours[stage]
            f_wall, f_cpu, f_n = floor[stage]
            fig.add(f"{stage}_rows", n, "rows")
            fig.add(f"{stage}_wall_s", wall, "s", f"feedpipe {LABELS[stage]}, wall")
            fig.add(f"{stage}_cpu_s", cpu, "s", f"feedpipe {LABELS[stage]}, CPU")
            rate = fig.add(f"{stage}_rows_per_s", n / wall, "rows/s", f"feedpipe {LABELS[stage]}")
            cpu_rate = fig.add(f"{stage}_rows_per_cpu_s", n / cpu, "rows/CPU-s")
            f_rate = fig.add(f"{stage}_floor_rows_per_s", f_n / f_wall, "rows/s", FLOOR_LABELS[stage])
            f_cpu_rate = fig.add(f"{stage}_floor_rows_per_cpu_s", f_n / f_cpu, "rows/CPU-s")
            fig.add(f"{stage}_vs_floor_ratio", rate / f_rate)
            fig.add(f"{stage}_cpu_vs_floor_ratio", cpu_rate / f_cpu_rate, better="higher")
            fig.add(f"{stage}_vs_20000_target_ratio", min(rate, cpu_rate) / 20_000, better="higher")
            fig.compare(f"{LABELS[stage]}, rows per second (wall)", f"{stage}_rows_per_s",
                        f"{stage}_floor_rows_per_s", f"{stage}_vs_floor_ratio", better="higher",
                        target=">= 20,000 rows/s", rate=f"{stage}_rows_per_s", floor_rate=f"{stage}_floor_rows_per_s")
            print(f"{stage:>6}: {n:,} rows in {wall:.2f} s wall ({rate:,.0f}/s), {cpu:.2f} CPU-s "
                  f"({cpu_rate:,.0f}/CPU-s); floor {f_rate:,.0f}/s, {f_cpu_rate:,.0f}/CPU-s "
                  f"({FLOOR_LABELS[stage]}); ratio {rate / f_rate:.2f} wall, {cpu_rate / f_cpu_rate:.2f} CPU",
                  flush=True)
        for size in sizes:
            small = folder / f"list-{size}.csv"
            s_bad, s_suppress = write_csv(small, size)
            peaks = feedpipe_run(folder, small, size, s_suppress, s_bad, stages, args.pg, memory=True)
            for stage in stages:
                peak = fig.add(f"{stage}_peak_traced_mib_{size}_rows", peaks[stage][2], "MiB",
                               f"peak traced memory, {LABELS[stage]}, {size:,} rows")
                print(f"{stage:>6}: peak traced memory at {size:,} rows: {peak:.1f} MiB", flush=True)
        if len(sizes) >= 2:
            lo, hi = min(sizes), max(sizes)
            for stage in stages:
                growth = fig.data["figures"][f"{stage}_peak_traced_mib_{hi}_rows"] / max(
                    fig.data["figures"][f"{stage}_peak_traced_mib_{lo}_rows"], 1e-6)
                fig.add(f"{stage}_memory_growth_{lo}_to_{hi}_ratio", growth, better="lower",
                        label=f"peak memory at {hi:,} rows / at {lo:,} (flat: about 1)")
                print(f"{stage:>6}: memory {hi:,} rows / {lo:,} rows: {growth:.2f}x", flush=True)
    fig.write(args.json)


if __name__ == "__main__":
    main()
