"""The digest side of the store: subscribers, picks, editions and the send ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from feedpipe.core.errors import FeedpipeError
from feedpipe.store.leases import make_holder
from tests.digest_support import SEND_AT, WEEK, week_of_articles

NOW = SEND_AT


def test_a_subscriber_is_validated_normalised_and_gets_a_secret_token(any_store):
    sub = any_store.subscribers.add(" Anna@Example.ORG ", name="Anna", countries=["ua", "BY"], topics=["politics"],
                                   now=NOW)
    assert sub.email == "Anna@example.org" and sub.status == "pending"
    assert sub.countries == ("BY", "UA") and sub.topics == ("politics",)
    assert len(sub.token) >= 40
    assert any_store.subscribers.get("anna@example.org".replace("anna", "Anna")) == sub
    assert any_store.subscribers.by_token(sub.token) == sub
    assert any_store.subscribers.by_token(sub.token[:-1] + ("A" if sub.token[-1] != "A" else "B")) is None
    assert any_store.subscribers.by_token("") is None


def test_a_bad_address_is_refused_with_a_hint(any_store):
    with pytest.raises(FeedpipeError) as caught:
        any_store.subscribers.add("not-an-address", now=NOW)
    assert "not a valid email address" in caught.value.message and "reader@example.org" in caught.value.hint
    with pytest.raises(FeedpipeError):
        any_store.subscribers.add("x@example.com\r\nBcc: y@evil.example", now=NOW)


def test_adding_an_existing_address_changes_nothing_but_an_unsubscribed_one_comes_back_pending(any_store):
    first = any_store.subscribers.add("reader@example.com", name="R", status="active", countries=["UA"], now=NOW)
    again = any_store.subscribers.add("reader@example.com", name="Other", countries=["RU"], now=NOW + timedelta(1))
    assert again == first
    any_store.subscribers.set_status("reader@example.com", "unsubscribed", now=NOW)
    back = any_store.subscribers.add("reader@example.com", countries=["RU"], now=NOW + timedelta(2))
    assert back.status == "pending" and back.countries == ("RU",) and back.token == first.token


def test_status_preferences_listing_and_removal(any_store):
    any_store.subscribers.add("b@example.com", now=NOW)
    any_store.subscribers.add("a@example.com", now=NOW)
    active = any_store.subscribers.set_status("a@example.com", "active", now=NOW + timedelta(hours=1))
    assert active.confirmed_at == NOW + timedelta(hours=1)
    prefs = any_store.subscribers.set_preferences("a@example.com", countries=["kz"], topics=[], now=NOW)
    assert prefs.countries == ("KZ",)
    assert [s.email for s in any_store.subscribers.all()] == ["a@example.com", "b@example.com"]
    assert [s.email for s in any_store.subscribers.all("active")] == ["a@example.com"]
    assert [s.email for s in any_store.subscribers.iter("active", batch_size=1)] == ["a@example.com"]
    with pytest.raises(FeedpipeError):
        any_store.subscribers.set_status("a@example.com", "deleted", now=NOW)
    assert any_store.subscribers.remove("b@example.com") and not any_store.subscribers.remove("b@example.com")
    assert any_store.subscribers.count() == 1


def test_picks_keep_the_editors_order(any_store):
    a, b, c = (x.id for x in week_of_articles()[:3])
    any_store.editions.pick(WEEK, a)
    any_store.editions.pick(WEEK, b, "Why it matters")
    any_store.editions.pick(WEEK, c)
    any_store.editions.pick(WEEK, a, "Now with a pitch")  # picking again only updates the pitch
    assert [(p.article_id, p.pitch) for p in any_store.editions.picks(WEEK)] == [
        (a, "Now with a pitch"), (b, "Why it matters"), (c, None)]
    any_store.editions.order(WEEK, [c, b])
    assert [p.article_id for p in any_store.editions.picks(WEEK)] == [c, b, a]
    assert any_store.editions.unpick(WEEK, b) and not any_store.editions.unpick(WEEK, b)
    with pytest.raises(FeedpipeError):
        any_store.editions.order(WEEK, [b])


def test_only_one_caller_claims_an_edition_until_its_lease_expires(any_store):
    results = []
    barrier = threading.Barrier(6)

    def claim():
        barrier.wait()
        results.append(any_store.editions.claim(WEEK, NOW))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert not any_store.editions.claim(WEEK, NOW + timedelta(minutes=9))
    assert any_store.editions.claim(WEEK, NOW + timedelta(minutes=11))  # the sender died: take over
    any_store.editions.finish(WEEK, "sent", now=NOW)
    assert not any_store.editions.claim(WEEK, NOW + timedelta(days=1))
    assert any_store.editions.get(WEEK).status == "sent"


def test_ledger_rows_move_only_from_the_expected_state(any_store):
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        any_store.subscribers.add(email, status="active", now=NOW)
    any_store.subscribers.add("p@example.com", now=NOW)  # pending: not mailed
    assert any_store.ledger.enqueue(WEEK, now=NOW) == 3
    assert any_store.ledger.enqueue(WEEK, now=NOW) == 0
    assert any_store.ledger.pending(WEEK, limit=2) == ["a@example.com", "b@example.com"]
    assert any_store.ledger.pending(WEEK, after="b@example.com") == ["c@example.com"]
    assert any_store.ledger.claim(WEEK, "a@example.com", now=NOW)
    assert not any_store.ledger.claim(WEEK, "a@example.com", now=NOW)  # already claimed
    assert any_store.ledger.transition(WEEK, "a@example.com", expect="sending", to="sent", now=NOW, message_id="<m>")
    assert not any_store.ledger.transition(WEEK, "a@example.com", expect="sending", to="failed", now=NOW)
    any_store.ledger.claim(WEEK, "b@example.com", now=NOW)
    assert any_store.ledger.recover(WEEK, now=NOW) == 1  # a sender died while b was in flight
    assert [e.email for e in any_store.ledger.uncertain(WEEK)] == ["b@example.com"]
    assert any_store.ledger.resolve(WEEK, "b@example.com", "failed", now=NOW)
    assert any_store.ledger.counts(WEEK) == {"pending": 1, "sending": 0, "sent": 1, "failed": 1, "uncertain": 0}
    entry = any_store.ledger.entry(WEEK, "a@example.com")
    assert (entry.state, entry.attempts, entry.message_id) == ("sent", 1, "<m>")


def test_one_person_is_one_subscriber_whatever_the_case_or_the_form_of_the_domain(any_store):
    subs = any_store.subscribers
    first = subs.add("Anna@Example.ORG", name="Anna", status="active", now=NOW)
    assert subs.add("ANNA@example.org", now=NOW + timedelta(1)) == first  # already subscribed: unchanged
    assert subs.add("anna@example.org", status="active", now=NOW + timedelta(2)) == first
    assert subs.count() == 1 and subs.get("aNNa@EXAMPLE.org") == first and first.email == "Anna@example.org"
    assert subs.set_preferences("ANNA@EXAMPLE.ORG", countries=["UA"], topics=[], now=NOW).countries == ("UA",)
    assert subs.set_status("anna@example.org", "unsubscribed", now=NOW).email == "Anna@example.org"
    henry = subs.add("henry@EXÄMPLE.org", status="active", now=NOW)
    assert subs.get("henry@xn--exmple-cua.org") == henry and subs.add("Henry@exämple.org", now=NOW) == henry
    assert subs.remove("ANNA@example.ORG") and subs.count() == 1


def test_the_migration_merges_existing_duplicates_keeping_the_first_confirmation_and_the_latest_choice(any_store):
    from feedpipe.store.digest_schema import subscribers
    from feedpipe.store.migrate import migrate
    from feedpipe.store.schema import schema_migrations

    def row(email, status, *, day, confirmed=None, countries=(), name=None):
        return dict(email=email, name=name, status=status, countries=list(countries), topics=[], token=f"t-{email}",
                    created_at=NOW + timedelta(day), updated_at=NOW + timedelta(day),
                    confirmed_at=None if confirmed is None else NOW + timedelta(confirmed))

    with any_store.db.write() as conn:  # the list as an older feedpipe left it: no identity key, duplicates
        conn.execute(subscribers.insert(), [
            row("Anna@Example.org", "active", day=1, confirmed=1, name="Anna"),
            row("ANNA@example.org", "pending", day=5, countries=["RU"]),
            row("anna@example.org", "active", day=3, confirmed=3, countries=["UA"]),
            row("ben@example.org", "active", day=2, confirmed=2),
            row("Ben@example.org", "unsubscribed", day=4, confirmed=2),
            row("cleo@example.org", "active", day=1, confirmed=1),
        ])
        conn.execute(schema_migrations.delete().where(schema_migrations.c.version == 120))
        conn.execute(subscribers.update().values(address_key=None))
        assert [m.version for m in migrate(conn, NOW)] == [120]
    subs = {s.email: s for s in any_store.subscribers.all()}
    assert sorted(subs) == ["Anna@Example.org", "ben@example.org", "cleo@example.org"]
    anna = subs["Anna@Example.org"]
    assert anna.token == "t-Anna@Example.org" and anna.confirmed_at == NOW + timedelta(1)  # the first confirmation
    assert anna.status == "active" and anna.name == "Anna"  # a later pending sign-up never switches it off
    assert anna.countries == ("RU",)  # the most recent preferences
    assert subs["ben@example.org"].status == "unsubscribed"  # an unsubscribe after the confirmation is honoured
    assert any_store.subscribers.get("ANNA@EXAMPLE.ORG") == anna
    # an unsubscribe link in a copy already sent to a merged duplicate still finds the person
    assert any_store.subscribers.by_token("t-ANNA@example.org") == anna == any_store.subscribers.by_token(anna.token)
    assert any_store.subscribers.by_token("t-Ben@example.org") == subs["ben@example.org"]
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError), any_store.db.write() as conn:  # and the key is unique from now on
        conn.execute(subscribers.insert(), [{**row("ANNA@EXAMPLE.ORG", "active", day=9),
                                             "address_key": "anna@example.org"}])


def test_an_edition_whose_sender_died_on_this_host_is_taken_over_at_once(any_store):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{socket.gethostname()}:{proc.pid}:0badc0de"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        live = f"{socket.gethostname()}:{sleeper.pid}:0000beef"
        remote = f"other-host.example:{proc.pid}:0000f00d"
        for i, holder in enumerate((dead, live, remote)):
            assert any_store.editions.claim(f"2026-W4{i}", NOW, holder=holder)
        me = make_holder()
        soon = NOW + timedelta(minutes=1)
        assert any_store.editions.claim("2026-W40", soon, holder=me), "its sender is gone: at once"
        assert not any_store.editions.claim("2026-W41", soon, holder=me), "alive: wait"
        assert not any_store.editions.claim("2026-W42", soon, holder=me), "another host: until the lease expires"
        assert any_store.editions.claim("2026-W42", NOW + timedelta(minutes=11), holder=me)
        # the dead sender's lease is no longer its own to renew or release
        assert not any_store.editions.renew("2026-W40", soon, holder=dead)
        any_store.editions.release("2026-W40", dead)
        assert any_store.editions.get("2026-W40").lease_until is not None
        assert any_store.editions.renew("2026-W40", soon, holder=me)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_batch_import_adds_each_address_once_and_reports_each_refusal(any_store):
    from feedpipe.store.subscribers import NewSubscriber

    any_store.subscribers.add("kept@example.org", name="Kept", status="active", now=NOW)
    any_store.subscribers.add("left@example.org", status="active", now=NOW)
    any_store.subscribers.set_status("left@example.org", "unsubscribed", now=NOW)
    batch = [
        NewSubscriber(email="New@Example.org", name="New", countries=("ua", "BY"), topics=("politics",)),
        NewSubscriber(email="new@example.org"),  # the same address again
        NewSubscriber(email="not an address"),
        NewSubscriber(email="kept@example.org", name="Changed"),
        NewSubscriber(email="left@example.org", topics=("sport",)),
        NewSubscriber(email="odd@example.org", status="maybe"),
    ]

    outcome = any_store.subscribers.add_many(batch, now=NOW)

    assert outcome[:2] == [True, False] and outcome[3:5] == [False, False]
    assert isinstance(outcome[2], FeedpipeError) and "not a valid email address" in outcome[2].message
    assert isinstance(outcome[5], FeedpipeError)
    new = any_store.subscribers.get("new@example.org")
    assert new is not None and new.name == "New" and new.countries == ("BY", "UA") and new.status == "active"
    assert any_store.subscribers.get("kept@example.org").name == "Kept"
    left = any_store.subscribers.get("left@example.org")
    assert left.status == "pending" and left.topics == ("sport",)
    assert any_store.subscribers.count() == 3


@pytest.mark.parametrize("address", [
    "a@example.org", "Anna@EXAMPLE.ORG", " x.y+z@Sub.Example.co.uk ", "a..b@example.org", ".a@example.org",
    "a@localhost", "a@-bad.org", "a@ex_ample.org", "user@xn--bcher-kva.example", "user@Bücher.example",
    "ünï@example.org", "a@[127.0.0.1]", "a@example.org.", '"q a"@example.org', "a" * 65 + "@example.org",
    "a@" + "b" * 250 + ".org", "a@1.2.3.4", "a@example.123", "x@EXAMPLE.org",
])
def test_an_address_is_normalised_exactly_as_email_validator_does(address):
    from email_validator import EmailNotValidError, validate_email

    from feedpipe.store.subscribers import normalize_email

    try:
        expected = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        with pytest.raises(FeedpipeError, match="not a valid email address"):
            normalize_email(address)
    else:
        assert normalize_email(address) == expected
