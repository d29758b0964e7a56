"""The digest side of the store: subscribers, picks, editions and the send ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from feedpipe.core.errors import FeedpipeError
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
