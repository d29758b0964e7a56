"""A sender's ledger session: each step claims and settles rows by compare-and-set, on SQLite through the
statements SQLAlchemy compiled once (run on the driver connection), elsewhere through SQLAlchemy; both
leave the same rows."""

from __future__ import annotations

from datetime import timedelta

from tests.digest_support import SEND_AT, WEEK

NOW = SEND_AT


def _queue(store, emails):
    store.editions.ensure(WEEK, window_start=NOW - timedelta(days=7), window_end=NOW, now=NOW)
    for email in emails:
        store.subscribers.add(email, status="active", now=NOW)
    store.ledger.enqueue(WEEK, now=NOW)


def test_a_session_claims_a_pending_row_once_and_records_its_outcome(any_store):
    store = any_store
    _queue(store, ["a@example.com", "b@example.com", "c@example.com"])
    later = NOW + timedelta(minutes=3, microseconds=250)
    with store.ledger.session(WEEK) as step:
        assert step(claim="a@example.com", now=later)
        assert not step(claim="a@example.com", now=later)  # already sending: a second claim fails
        assert not step(claim="nobody@example.com", now=later)
        assert step(finished=[("a@example.com", "sent", None, "<a@x>")], claim="b@example.com", now=later)
        assert not step(finished=[("b@example.com", "failed", "550 no such user " + "x" * 2000, "<b@x>")],
                        now=later)
    a, b, c = (store.ledger.entry(WEEK, e) for e in ("a@example.com", "b@example.com", "c@example.com"))
    assert (a.state, a.attempts, a.message_id, a.last_error, a.updated_at) == ("sent", 1, "<a@x>", None, later)
    assert (b.state, b.attempts, b.message_id) == ("failed", 1, "<b@x>")
    assert b.last_error.startswith("550 no such user") and len(b.last_error) == 1000
    assert (c.state, c.attempts, c.updated_at) == ("pending", 0, NOW)


def test_an_outcome_is_written_only_over_a_row_that_is_sending(any_store):
    store = any_store
    _queue(store, ["a@example.com"])
    with store.ledger.session(WEEK) as step:
        step(finished=[("a@example.com", "sent", None, "<a@x>")], now=NOW)  # never claimed: nothing moves
    assert store.ledger.entry(WEEK, "a@example.com").state == "pending"
    assert store.ledger.counts(WEEK)["pending"] == 1


def test_the_session_leaves_the_database_free_for_other_writers_between_steps(any_store):
    store = any_store
    _queue(store, ["a@example.com", "b@example.com"])
    with store.ledger.session(WEEK) as step:
        step(claim="a@example.com", now=NOW)
        # another connection writes between two steps (a second sender, the CLI): not blocked
        assert store.ledger.transition(WEEK, "b@example.com", expect="pending", to="failed", now=NOW)
        step(finished=[("a@example.com", "sent", None, "<a@x>")], now=NOW)
    counts = store.ledger.counts(WEEK)
    assert (counts["sent"], counts["failed"], counts["sending"], counts["pending"]) == (1, 1, 0, 0)
