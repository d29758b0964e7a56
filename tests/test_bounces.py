# ruff: noqa: F811  (pytest fixtures imported from tests.bounce_support are used as arguments)
"""Bounces as an operator meets them: an edition really sent over SMTP with VERP return paths, the
bounce reports of several MTAs coming back into a Maildir, `feedpipe bounces fetch` reading them, and
the next send skipping whoever hard-bounced."""

from __future__ import annotations

import mailbox
import re
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner

from feedpipe.app import App
from feedpipe.bounces import classify
from feedpipe.cli.bounces import bounces, complaint_flag
from feedpipe.cli.context import Context
from feedpipe.cli.digest import digest
from feedpipe.core.settings import ScheduleSettings
from feedpipe.digest.message import verp_address
from feedpipe.scheduler.service import Service
from feedpipe.store.bounce_log import EditionHealth
from tests.bounce_support import READERS, maildir_with, sent  # noqa: F401
from tests.digest_support import WEEK, article

VERP = re.compile(r"^news\+([a-z2-7]{20})@news\.example\.org$")


def fetch(world, maildir) -> str:
    result = CliRunner().invoke(bounces, ["fetch", "--maildir", str(maildir)],
                                obj=Context(None, None, quiet=False, app=world.app), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_message_carries_its_own_unguessable_return_path(sent):
    tokens = {reader: VERP.match(sent.senders[reader]) for reader in READERS}
    assert all(tokens.values()), sent.senders
    assert len({m.group(1) for m in tokens.values()}) == len(READERS)  # one per subscriber
    found = sent.store.bounces.by_token(tokens["anna@example.com"].group(1))
    assert (found.edition, found.email) == (WEEK, "anna@example.com")
    assert sent.store.bounces.by_token("a" * 20) is None
    assert verp_address("Bounces <bounces+old@example.org>", "abc") == "bounces+abc@example.org"


@pytest.mark.parametrize(("fixture", "status", "hard", "detector"), [
    ("postfix_hard.eml", "5.1.1", True, "dsn"),
    ("postfix_delayed.eml", "4.2.2", False, "dsn"),
    ("exim_hard.eml", "5.1.1", True, "flufl"),
    ("gmail_hard.eml", "5.1.1", True, "dsn"),
    ("outlook_hard.eml", "5.5.0", True, "dsn"),
])
def test_each_mtas_report_names_the_failed_address_its_status_and_our_token(sent, fixture, status, hard, detector):
    report = classify(sent.report(fixture, "anna@example.com"))
    assert report.kind == "bounce" and report.detector == detector
    assert [(f.address, f.status, f.hard) for f in report.failures] == [("anna@example.com", status, hard)]
    assert report.tokens == (VERP.match(sent.senders["anna@example.com"]).group(1),)


@pytest.mark.parametrize("fixture", ["auto_reply.eml", "human_reply.eml"])
def test_an_auto_reply_or_a_persons_answer_is_not_a_bounce(sent, fixture):
    assert not classify(sent.report(fixture, "anna@example.com")).counted


def test_reading_the_maildir_bounces_counts_and_leaves_replies_alone(sent):
    box = maildir_with(sent.tmp / "Maildir", [
        sent.report("postfix_hard.eml", "anna@example.com"),
        sent.report("exim_hard.eml", "ben@example.com"),
        sent.report("postfix_delayed.eml", "cara@example.com", serial="1"),
        sent.report("auto_reply.eml", "dan@example.com"),
        sent.report("human_reply.eml", "eve@example.com"),
        sent.report("arf_abuse.eml", "fay@example.com"),
    ])
    output = fetch(sent, box)
    assert "6 read, 2 hard, 1 soft, 1 complaint, 1 auto-reply, 1 other" in output
    status = {s.email: s.status for s in sent.store.subscribers.all()}
    assert status == {"anna@example.com": "bounced", "ben@example.com": "bounced", "cara@example.com": "active",
                      "dan@example.com": "active", "eve@example.com": "active", "fay@example.com": "unsubscribed"}
    left = [m["Subject"] for m in mailbox.Maildir(box, create=False)]
    assert sorted(left) == ["Out of Office: The Weekly, 27 November", "Re: The Weekly, 27 November"]
    assert "2 read, 1 auto-reply, 1 other" in fetch(sent, box)  # the replies stay; nothing new is counted
    assert {s.email: s.status for s in sent.store.subscribers.all()} == status
    history = sent.store.suppressions.export("anna@example.com")["status_history"]
    assert history[-1]["new_status"] == "bounced" and history[-1]["reason"] == "hard bounce 5.1.1 (dsn)"


def test_three_soft_bounces_in_thirty_days_count_as_hard_but_old_ones_do_not(sent):
    start = sent.moment[0]
    for day, serial in ((0, "a"), (40, "b"), (45, "c")):  # the first is more than 30 days before the last
        sent.moment[0] = start + timedelta(days=day)
        fetch(sent, maildir_with(sent.tmp / f"Maildir-{serial}",
                                 [sent.report("postfix_delayed.eml", "cara@example.com", serial=serial)]))
    assert sent.store.subscribers.get("cara@example.com").status == "active"  # 1 + 2 within 30 days
    fetch(sent, maildir_with(sent.tmp / "Maildir-d", [sent.report("postfix_delayed.eml", "cara@example.com",
                                                                    serial="d")]))
    assert sent.store.subscribers.get("cara@example.com").status == "bounced"
    assert "3 soft bounces in 30 days" in sent.store.suppressions.export("cara@example.com")["status_history"][-1][
        "reason"]


def test_the_same_report_read_twice_counts_once(sent):
    data = sent.report("postfix_delayed.eml", "cara@example.com", serial="same")
    first = fetch(sent, maildir_with(sent.tmp / "M1", [data]))
    second = fetch(sent, maildir_with(sent.tmp / "M2", [data]))
    assert "1 soft" in first and "1 duplicate" in second
    assert sent.store.bounces.soft_bounces("cara@example.com", since=sent.moment[0] - timedelta(days=1)) == 1


def test_a_complaint_without_our_return_path_is_matched_by_the_unsubscribe_token(sent):
    output = fetch(sent, maildir_with(sent.tmp / "Maildir", [sent.report("arf_redacted.eml", "eve@example.com")]))
    assert "1 complaint" in output
    assert sent.store.subscribers.get("eve@example.com").status == "unsubscribed"
    assert sent.store.suppressions.check("eve@example.com").reason == "complained"


def test_the_next_send_skips_the_address_that_hard_bounced(sent):
    fetch(sent, maildir_with(sent.tmp / "Maildir", [sent.report("gmail_hard.eml", "anna@example.com")]))
    sent.senders.clear()
    sent.store.articles.upsert([article("next-week", "Next Week's Story", hours_before=-24 * 5)], now=sent.moment[0])
    sent.moment[0] += timedelta(days=7)
    report = sent.send("2026-W49")
    assert "anna@example.com" not in sent.senders and report.sent == len(READERS) - 1
    entries = {e.email for e in sent.store.ledger.entries("2026-W49")}
    assert "anna@example.com" not in entries


def test_digest_status_shows_each_editions_delivery_and_warns_about_complaints(sent):
    fetch(sent, maildir_with(sent.tmp / "Maildir", [
        sent.report("postfix_hard.eml", "anna@example.com"),
        sent.report("postfix_delayed.eml", "cara@example.com"),
        sent.report("arf_abuse.eml", "fay@example.com"),
    ]))
    sent.store.editions.finish(WEEK, "sent", now=sent.moment[0])
    result = CliRunner().invoke(digest, ["status"], obj=Context(None, None, quiet=False, app=sent.app),
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith(WEEK))
    assert row.split()[:7] == [WEEK, "6", "5", "1", "1", "1", "1"]  # sent, delivered, hard, soft, complaints, unsubs
    assert "16.67%  ABOVE THE CEILING" in row
    assert f"warning: {WEEK}: complaint rate 16.67% is above 0.1%" in result.output


@pytest.mark.parametrize(("complaints", "sent_count", "flag"), [
    (0, 1000, ""), (1, 1000, ""), (2, 1000, "  warning"), (3, 1000, "  warning"), (4, 1000, "  ABOVE THE CEILING")])
def test_the_complaint_rate_warns_above_a_tenth_of_a_percent(complaints, sent_count, flag):
    health = EditionHealth(edition=WEEK, sent=sent_count, failed=0, hard_bounces=0, soft_bounces=0,
                           complaints=complaints, unsubscribes=0)
    assert complaint_flag(health.complaint_rate) == flag


def test_a_send_that_resumes_after_a_hard_bounce_skips_that_address_and_says_why(sent):
    sent.store.articles.upsert([article("next-week", "Next Week's Story", hours_before=-24 * 5)], now=sent.moment[0])
    sent.moment[0] += timedelta(days=7)
    sent.store.ledger.enqueue("2026-W49", now=sent.moment[0])  # a send that stopped after queueing everyone
    fetch(sent, maildir_with(sent.tmp / "Maildir", [sent.report("outlook_hard.eml", "dan@example.com")]))
    sent.senders.clear()
    report = sent.send("2026-W49")
    assert "dan@example.com" not in sent.senders
    assert report.sent == len(READERS) - 1 and report.failed == 1
    assert report.errors == ("dan@example.com: not sent: bounced, no longer an active subscriber",)


def test_serve_reads_the_bounce_mailbox_on_its_own_schedule(sent):
    box = maildir_with(sent.tmp / "Maildir", [sent.report("postfix_hard.eml", "anna@example.com")])
    settings = replace(sent.app.settings, bounces=replace(sent.app.settings.bounces, maildir=box, fetch_minutes=10),
                       schedule=ScheduleSettings(digest=False))
    service = Service(App(settings, clock=sent.app.clock, store=sent.store), holder="bounces-test")
    service.start(ingest_now=False)
    try:
        assert "bounces" in [job for job, _ in service.next_runs()]
        service.fire("bounces")
        deadline = time.monotonic() + 10
        while sent.store.subscribers.get("anna@example.com").status != "bounced" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sent.store.subscribers.get("anna@example.com").status == "bounced"
    finally:
        service.stop()
