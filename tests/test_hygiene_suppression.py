"""An opt-out holds: unsubscribed, bounced, complained, removed and erased addresses stay off the list
whatever an operator adds or imports; only the person comes back, by the web sign-up and its double
opt-in. Real store (SQLite file), the real CLI (CliRunner) and the real Flask app."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedpipe.app import App
from feedpipe.cli import run as run_cli
from feedpipe.cli.context import Context
from feedpipe.cli.subscribers import subscribers
from feedpipe.core.settings import MailSettings, OutletSettings, Settings
from feedpipe.store import Store
from feedpipe.store.suppression import Suppressed
from feedpipe.web import create_app

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Operator:
    store: Store
    app: App
    tmp: Path
    moment: list[datetime]

    def run(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(subscribers, list(args), obj=Context(None, None, quiet=False, app=self.app),
                                    catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    def csv(self, text: str) -> str:
        path = self.tmp / "list.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)


@pytest.fixture
def op(tmp_path: Path):
    store = Store.open(f"sqlite:///{tmp_path / 'list.db'}", now=NOW)
    moment = [NOW]
    settings = Settings(outlet=OutletSettings(public_url="https://news.example.org"),
                        mail=MailSettings(outbox=tmp_path / "outbox"), public_dir=tmp_path / "public")
    app = App(settings, clock=lambda: moment[0], store=store)
    yield Operator(store=store, app=app, tmp=tmp_path, moment=moment)
    store.close()


def web_client(op: Operator):
    flask_app = create_app(op.app, secret_key="test")
    flask_app.config["WTF_CSRF_ENABLED"] = False
    return flask_app.test_client()


def test_a_removed_subscriber_is_not_made_active_again_by_an_import(op):
    op.run("add", "zed@example.org")
    assert "suppressed" in op.run("remove", "zed@example.org")
    assert op.store.subscribers.get("zed@example.org") is None  # the personal data is gone
    output = op.run("import", op.csv("email,name\nZED@Example.org,Zed\nnew@example.org,New\n"))
    assert "1 added, 0 already there, 0 skipped" in output
    assert "1 suppressed, not added (1 removed)" in output
    assert op.store.subscribers.get("zed@example.org") is None
    assert "zed" not in json.dumps(op.store.suppressions.export("someone@else.org"))


def test_an_import_reactivates_none_of_unsubscribed_bounced_complained_or_erased(op):
    for address in ("one@example.org", "bounce@example.org", "angry@example.org", "gone@example.org",
                    "fine@example.org"):
        op.run("add", address)
    client = web_client(op)
    token = op.store.subscribers.get("one@example.org").token
    assert client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    op.store.subscribers.set_status("bounce@example.org", "bounced", now=NOW, reason="hard bounce 5.1.1 (dsn)")
    op.store.subscribers.set_status("angry@example.org", "unsubscribed", now=NOW, reason="complaint: arf abuse")
    op.run("erase", "gone@example.org")

    output = op.run("import", op.csv("email,status\none@example.org,active\nbounce@example.org,active\n"
                                     "angry@example.org,\ngone@example.org,active\nfine@example.org,\n"))
    assert "0 added, 1 already there, 0 skipped" in output
    assert "4 suppressed, not added (1 bounced, 1 complained, 1 erased, 1 unsubscribed)" in output
    statuses = {s.email: s.status for s in op.store.subscribers.all()}
    assert statuses == {"one@example.org": "unsubscribed", "bounce@example.org": "bounced",
                        "angry@example.org": "unsubscribed", "fine@example.org": "active"}


def test_the_operator_cannot_add_a_suppressed_address_and_is_told_why(op, capsys):
    op.run("add", "one@example.org")
    op.store.subscribers.set_status("one@example.org", "unsubscribed", now=NOW, reason="one-click unsubscribe")
    code = run_cli(["--store", op.store.url, "--now", "2026-11-21T10:00:00+00:00",
                    "subscribers", "add", "One@Example.org"])
    err = capsys.readouterr().err
    assert code == 2
    assert "suppressed (unsubscribed on 2026-11-20)" in err and "signing up on the web form" in err
    with pytest.raises(Suppressed):
        op.store.subscribers.set_status("one@example.org", "active", now=NOW)


def test_only_the_person_comes_back_through_the_sign_up_and_its_confirmation(op):
    op.run("add", "zed@example.org")
    op.run("remove", "zed@example.org")
    client = web_client(op)
    assert client.post("/subscribe", data={"email": "zed@example.org"}).status_code == 200
    pending = op.store.subscribers.get("zed@example.org")
    assert pending.status == "pending"
    assert op.store.suppressions.check("zed@example.org") is not None  # until they confirm
    assert client.post(f"/confirm/{pending.token}").status_code == 200
    assert op.store.subscribers.get("zed@example.org").status == "active"
    assert op.store.suppressions.check("zed@example.org") is None


def test_export_prints_everything_stored_and_erase_leaves_only_the_hash(op):
    op.run("add", "anna@example.org", "--name", "Anna", "--country", "UA")
    op.moment[0] = NOW + timedelta(days=1)
    op.store.subscribers.set_status("anna@example.org", "unsubscribed", now=op.moment[0], reason="one-click unsubscribe")
    data = json.loads(op.run("export", "Anna@example.org"))
    assert data["subscriber"]["name"] == "Anna" and data["subscriber"]["countries"] == ["UA"]
    assert [(e["old_status"], e["new_status"], e["reason"]) for e in data["status_history"]] == [
        (None, "active", "added by the operator"), ("active", "unsubscribed", "one-click unsubscribe")]
    assert data["suppression"]["reason"] == "unsubscribed"

    assert "erased anna@example.org" in op.run("erase", "anna@example.org")
    after = op.store.suppressions.export("anna@example.org")
    assert after["subscriber"] is None and after["status_history"] == [] and after["send_ledger"] == []
    assert after["suppression"]["reason"] == "unsubscribed"  # the first reason stays
    for part in op.tmp.glob("list.db*"):  # the database, its write-ahead log and shared memory
        data = part.read_bytes()
        assert b"anna@example.org" not in data.lower() and b"Anna" not in data, part.name


def test_addresses_that_said_stop_before_the_suppression_list_existed_are_suppressed_by_the_migration(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.open(url, now=NOW)
    store.subscribers.add("old@example.org", status="active", now=NOW)
    store.subscribers.add("kept@example.org", status="active", now=NOW)
    with store.db.write() as conn:  # as a store written before migration 350 would hold them
        conn.exec_driver_sql("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'old@example.org'")
        conn.exec_driver_sql("DELETE FROM suppressions")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE version = 350")
    store.close()
    reopened = Store.open(url, now=NOW + timedelta(days=1))
    try:
        assert reopened.suppressions.check("old@example.org").reason == "unsubscribed"
        assert reopened.suppressions.check("kept@example.org") is None
        with pytest.raises(Suppressed):
            reopened.subscribers.add("OLD@example.org", status="active", now=NOW + timedelta(days=1))
    finally:
        reopened.close()


def test_the_suppression_list_and_the_bounce_log_work_on_every_database(any_store):
    store = any_store
    store.subscribers.add("zed@example.org", status="active", now=NOW)
    store.subscribers.add("amy@example.org", status="active", now=NOW)
    store.subscribers.set_status("zed@example.org", "unsubscribed", now=NOW, reason="one-click unsubscribe")
    with pytest.raises(Suppressed):
        store.subscribers.add("Zed@example.org", now=NOW)
    assert store.suppressions.suppressed(["zed@example.org", "amy@example.org", "new@example.org"]).keys() == {
        "zed@example.org"}
    store.ledger.enqueue("2026-W47", now=NOW)
    assert store.bounces.prepare("2026-W47") == 1 and store.bounces.prepare("2026-W47") == 0
    token = store.bounces.token("2026-W47", "amy@example.org")
    assert store.bounces.by_token(token).email == "amy@example.org"
    for ref in ("r1", "r2", "r1"):
        store.bounces.record("amy@example.org", edition="2026-W47", kind="soft", status="4.2.2", source="dsn",
                             ref=ref, now=NOW)
    assert store.bounces.soft_bounces("amy@example.org", since=NOW - timedelta(days=30)) == 2
    assert store.bounces.first_call("mailgun", "t1", now=NOW) and not store.bounces.first_call("mailgun", "t1", now=NOW)
    assert store.suppressions.remove("amy@example.org", now=NOW)
    assert store.suppressions.check("amy@example.org").reason == "removed"
    assert store.suppressions.erase("amy@example.org", now=NOW)
    data = store.suppressions.export("amy@example.org")
    assert data["send_ledger"] == [] and data["bounces_and_complaints"] == [] and data["suppression"] is not None
