"""The mailing list in bulk: a 3,000-row import reports and stores what adding each row alone would, the
batch shortcuts (address normalisation, identity keys, bulk inserts, return path tokens) give exactly
what the one-at-a-time functions give, `subscribers list --json` prints every subscriber as a JSON line,
and an edition's send queue holds exactly the active subscribers. Real SQLite stores (and PostgreSQL
where FEEDPIPE_TEST_PG_URL names a server), the real CLI through CliRunner."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from email_validator import EmailNotValidError, validate_email

from feedpipe.app import App
from feedpipe.cli.context import Context
from feedpipe.cli.subscribers import subscribers
from feedpipe.core.address import identity_key
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import MailSettings, OutletSettings, Settings
from feedpipe.store import Store, bounce_log
from feedpipe.store.bounce_log import return_path_token
from feedpipe.store.bulk import BulkInsert
from feedpipe.store.digest_schema import subscribers as subscribers_table
from feedpipe.store.hygiene_schema import subscriber_events
from feedpipe.store.subscriber_identity import address_key
from feedpipe.store.subscribers import NewSubscriber, normalize_email
from feedpipe.store.suppression import Suppressed, read_secret

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WEEK = "2026-W47"
DOMAINS = ["example.org", "Example.COM", "mail.example.net", "bücher.example", "xn--exmple-cua.org"]
ROWS = 3_000  # three batches of the import and part of a fourth


def cli(store: Store, tmp: Path, *args: str) -> str:
    settings = Settings(outlet=OutletSettings(public_url="https://news.example.org"),
                        mail=MailSettings(outbox=tmp / "outbox"), public_dir=tmp / "public")
    obj = Context(None, None, quiet=False, app=App(settings, clock=lambda: NOW, store=store))
    result = CliRunner().invoke(subscribers, list(args), obj=obj, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def two_stores(tmp_path: Path):
    made = [Store.open(f"sqlite:///{tmp_path / f'{name}.db'}", now=NOW) for name in ("bulk", "one")]
    yield made
    for store in made:
        store.close()


def a_list(rows: int) -> tuple[bytes, dict[int, str], list[dict[str, object]], list[str]]:
    """A CSV of `rows` rows: its bytes, the problem each bad line must be reported with, the good rows
    (in file order, as `subscribers add` takes them) and the addresses to suppress beforehand."""
    lines = [b"email,name,countries,topics,status\n"]
    problems: dict[int, str] = {}
    good: list[dict[str, object]] = []
    suppress: list[str] = []
    for i in range(rows):
        line = i + 2
        email = f"reader.{i:05d}@{DOMAINS[i % len(DOMAINS)]}"
        kind = i % 97
        if kind == 5:
            lines.append(f"not-an-address-{i},Bad,,,\n".encode())
            problems[line] = f"'not-an-address-{i}' is not a valid email address"
        elif kind == 20:
            lines.append(f"{email},Bad,XX,,\n".encode())
            problems[line] = "unknown country 'XX' - did you mean"
        elif kind == 40:
            lines.append(f"{email},Bad,,gardening,\n".encode())
            problems[line] = "unknown topic 'gardening' - e.g. one of"
        elif kind == 60:
            lines.append(f"{email},Smith, Bad,UA,,politics\n".encode())
            problems[line] = "6 fields where the header names 5 (an unquoted comma in a name?)"
        elif kind == 70:
            lines.append(f"{email},Bad,,,vip\n".encode())
            problems[line] = "unknown status 'vip'"
        elif kind == 80:
            lines.append(f"{email},B".encode() + b"\xe4d,,,\n")
            problems[line] = "not UTF-8 text"
        elif kind == 90:  # the person of a row above, in capitals: already there (or suppressed)
            again = str(good[-1]["email"]).upper()
            lines.append(f"{again},Again,,,\n".encode())
            good.append({"email": again, "name": "Again", "countries": (), "topics": (), "status": "active"})
        else:
            countries, topics = [("", ()), ("UA", ("UA",)), ("Ukraine; BY", ("BY", "UA"))][i % 3], \
                [("", ()), ("politics", ("medtop:11000000",)), ("sub-sanctions", ("sub:sanctions",))][i % 7 % 3]
            status = "pending" if i % 11 == 0 else "unsubscribed" if i % 13 == 0 else ""
            name = f'"Reader {i}, Jr."' if i % 10 == 0 else f"Reader {i}"
            if i % 500 == 1:
                email = f"Postmaster.{i}@Example.org" if i % 1000 == 1 else f"POSTMASTER@host{i}.example.org"
            lines.append(f"{email},{name},{countries[0]},{topics[0]},{status}\n".encode())
            good.append({"email": email, "name": name.strip('"'), "countries": countries[1], "topics": topics[1],
                         "status": status or "active"})
            if i % 450 == 3:
                suppress.append(email)
    return b"".join(lines), problems, good, suppress


def listing(store: Store) -> list[tuple[object, ...]]:
    return sorted((s.email, s.name, s.status, s.countries, s.topics, s.created_at, s.confirmed_at, s.updated_at)
                  for s in store.subscribers.all())


def test_a_3000_row_import_reports_and_stores_what_adding_each_row_alone_would(two_stores, tmp_path):
    bulk, one = two_stores
    data, problems, good, suppress = a_list(ROWS)
    for store in (bulk, one):
        for email in suppress:
            store.subscribers.add(email, status="active", now=NOW)
            store.suppressions.remove(email, now=NOW)
    csv_file = tmp_path / "list.csv"
    csv_file.write_bytes(data)

    output = cli(bulk, tmp_path, "import", str(csv_file))

    # the per-row path: each good row through `add`, as `subscribers add` stores one
    added = existing = 0
    held: dict[str, int] = {}
    seen: set[str] = set()
    for row in good:
        key = identity_key(normalize_email(str(row["email"])))
        try:
            one.subscribers.add(str(row["email"]), name=str(row["name"]), status=str(row["status"]),
                                countries=row["countries"], topics=row["topics"], now=NOW)  # type: ignore[arg-type]
        except Suppressed as exc:
            held[exc.reason] = held.get(exc.reason, 0) + 1
            continue
        added, existing = (added, existing + 1) if key in seen else (added + 1, existing)
        seen.add(key)
    assert f"{added} added, {existing} already there, {len(problems)} skipped" in output
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(held.items()))
    assert f"{sum(held.values())} suppressed, not added ({reasons})" in output
    assert set(held) == {"removed", "unsubscribed"}
    reported = [line.strip() for line in output.splitlines() if line.strip().startswith(str(csv_file))]
    assert len(reported) == len(problems)
    for report, (line, problem) in zip(reported, sorted(problems.items()), strict=True):
        assert report.startswith(f"{csv_file}:{line}: {problem}"), (report, problem)
    assert listing(bulk) == listing(one)
    assert bulk.subscribers.count("unsubscribed") > 0 and bulk.subscribers.count("pending") > 0
    assert bulk.suppressions.count() == one.suppressions.count()  # the rows added unsubscribed are suppressed too
    assert events(bulk) == events(one)
    tokens = [s.token for s in bulk.subscribers.all()]
    assert len(set(tokens)) == len(tokens) and all(len(t) == 43 for t in tokens)
    first = good[0]["email"]
    assert bulk.subscribers.by_token(bulk.subscribers.get(str(first)).token).email == first


def events(store: Store) -> list[tuple[object, ...]]:
    with store.db.read() as conn:
        return sorted((tuple(r) for r in conn.execute(  # (each store hashes with its own secret)
            subscriber_events.select().with_only_columns(subscriber_events.c.at, subscriber_events.c.old_status,
                                                         subscriber_events.c.new_status, subscriber_events.c.reason))),
                      key=repr)


ADDRESSES = [
    "a@example.org", "Anna@EXAMPLE.ORG", " x.y+z@Sub.Example.co.uk ", "user@Bücher.example", "user@xn--bcher-kva.example",
    "Postmaster@example.org", "ABUSE@bücher.example", "postmaster.x@example.org", "a@exämple.org",
    "b" * 64 + "@example.org", "b" * 65 + "@example.org", "a..b@example.org", "a@-bad.org", "ünï@example.org",
    # at the 254-octet limit in one form and not another: the IDNA (ASCII) form of the domain is longer
    "c" * 64 + "@" + "ä" * 40 + "." + "d" * 63 + "." + "e" * 45 + ".org",
    "c" * 64 + "@" + "ä" * 40 + "." + "d" * 63 + "." + "e" * 20 + ".org",
    "c" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 57 + ".org",
    "c" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 58 + ".org",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_known_domain_normalises_an_address_exactly_as_email_validator_does(address):
    domain = address.strip().rpartition("@")[2]
    with contextlib.suppress(FeedpipeError):
        normalize_email(f"warm.up@{domain}")  # the domain is known from now on: the shortcut applies
    try:
        expected = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        with pytest.raises(FeedpipeError, match="not a valid email address"):
            normalize_email(address)
    else:
        assert normalize_email(address) == expected
        assert address_key(expected) == identity_key(expected)


@pytest.mark.parametrize("address", ["anna@example.org", "Anna@Bücher.Example", "x@xn--bcher-kva.example", "nolocal",
                                     " Ben@Example.ORG ", '"a@b"@example.org'])
def test_the_cached_identity_key_is_the_identity_key(address):
    assert address_key(address) == identity_key(address)


def test_a_bulk_insert_stores_what_sqlalchemys_insert_stores(any_store):
    row = {"email": "bulk@example.org", "address_key": "bulk@example.org", "name": "Bülk", "status": "active",
           "countries": ("UA", "BY"), "topics": (), "token": "t" * 43, "created_at": NOW, "updated_at": NOW,
           "confirmed_at": None}
    with any_store.db.write() as conn:
        assert BulkInsert(conn, subscribers_table, tuple(row)).run([tuple(row.values())]) == 1
        conn.execute(subscribers_table.insert().values(**{**row, "email": "core@example.org", "token": "u" * 43,
                                                          "address_key": "core@example.org"}))
    bulk, core = any_store.subscribers.get("bulk@example.org"), any_store.subscribers.get("core@example.org")
    assert (bulk.name, bulk.countries, bulk.topics, bulk.created_at, bulk.confirmed_at) == \
        (core.name, core.countries, core.topics, core.created_at, core.confirmed_at) == \
        ("Bülk", ("UA", "BY"), (), NOW, None)
    with pytest.raises(ValueError, match="the statement binds"), any_store.db.write() as conn:
        BulkInsert(conn, subscribers_table, ("email", "address_key", "name", "status", "token", "created_at",
                                             "updated_at", "confirmed_at"))  # a column left out has a default


def test_raw_rows_of_a_bulk_import_match_those_of_one_add(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'raw.db'}", now=NOW)
    store.subscribers.add("one@example.org", status="active", countries=["UA"], topics=["politics"], now=NOW)
    store.subscribers.add_many([NewSubscriber(email="two@example.org", countries=("UA",), topics=("politics",))],
                               now=NOW)
    store.close()
    db = sqlite3.connect(tmp_path / "raw.db")
    one, two = db.execute("SELECT countries, topics, typeof(countries), created_at, confirmed_at, updated_at "
                          "FROM subscribers ORDER BY email").fetchall()
    assert one == two
    assert [r[0] for r in db.execute("SELECT at FROM subscriber_events")] == [one[3], one[3]]
    db.close()


def test_list_json_prints_every_subscriber_once_as_a_json_line(two_stores, tmp_path):
    store = two_stores[0]
    items = [NewSubscriber(email=f"r{i:04d}@example.org", name=f"R{i} \"Q\"", countries=("UA",) if i % 2 else (),
                           status="pending" if i % 5 == 0 else "active") for i in range(2_300)]
    store.subscribers.add_many(items, now=NOW)  # more than two pages of the listing

    out = cli(store, tmp_path, "list", "--json")

    lines = [line for line in out.splitlines() if line.startswith("{")]
    rows = [json.loads(line) for line in lines]
    assert "2300 subscriber(s)" in out
    assert [r["email"] for r in rows] == sorted(f"r{i:04d}@example.org" for i in range(2_300))
    assert rows[1] == {"email": "r0001@example.org", "name": 'R1 "Q"', "status": "active", "countries": ["UA"],
                       "topics": [], "created_at": NOW.isoformat(), "confirmed_at": NOW.isoformat(),
                       "updated_at": NOW.isoformat()}
    assert all("token" not in r for r in rows)
    pending = [json.loads(line) for line in cli(store, tmp_path, "list", "--json", "--status", "pending").splitlines()
               if line.startswith("{")]
    assert len(pending) == 460 and {r["status"] for r in pending} == {"pending"}
    assert [s.email for s in store.subscribers.iter("active")] == [r["email"] for r in rows if r["status"] == "active"]


def test_the_send_queue_holds_exactly_the_active_subscribers_with_their_return_paths(any_store, monkeypatch):
    monkeypatch.setattr(bounce_log, "PREPARE_PAGE", 1000)
    store = any_store
    store.subscribers.add_many([NewSubscriber(email=f"Reader{i:04d}@{DOMAINS[i % len(DOMAINS)]}",
                                              status="pending" if i % 7 == 0 else "active") for i in range(2_100)],
                               now=NOW)
    store.subscribers.set_status("Reader0001@Example.com", "unsubscribed", now=NOW, reason="one-click")
    store.subscribers.set_status("Reader0002@mail.example.net", "bounced", now=NOW, reason="dsn 5.1.1")
    store.suppressions.remove("Reader0003@bücher.example", now=NOW)
    active = sorted(s.email for s in store.subscribers.iter("active"))

    assert store.ledger.enqueue(WEEK, now=NOW) == len(active)
    assert store.bounces.prepare(WEEK) == len(active)  # more than two pages of 1,000

    assert sorted(e.email for e in store.ledger.entries(WEEK)) == active
    assert store.ledger.counts(WEEK)["pending"] == len(active)
    assert store.ledger.enqueue(WEEK, now=NOW) == 0 and store.bounces.prepare(WEEK) == 0  # a resumed send
    with store.db.read() as conn:
        secret = read_secret(conn)
    for email in active[::97]:
        token = store.bounces.token(WEEK, email)
        whole = hmac.new(secret.encode(), f"rp\x1f{WEEK}\x1f{identity_key(email)}".encode(), hashlib.sha256)
        assert token == return_path_token(secret, WEEK, email) == \
            base64.b32encode(whole.digest()).decode("ascii").lower()[:20]
        assert store.bounces.by_token(token).email == email
    export = store.suppressions.export(active[5])
    assert export["return_paths"] == [{"edition": WEEK, "return_path_token": store.bounces.token(WEEK, active[5])}]
