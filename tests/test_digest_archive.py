# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""The archive is the edition that was sent: `public/digest/<week>.html` (what the web app serves at
/digest/<week>) is rebuilt when an editor picks, unpicks or orders, and when the edition is sent."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from click.testing import CliRunner

from feedpipe.app import App
from feedpipe.cli.context import Context, InputError
from feedpipe.cli.digest import digest
from feedpipe.cli.subscribers import subscribers
from feedpipe.core.settings import MailSettings, OutletSettings, Settings
from feedpipe.web.factory import create_app
from tests.digest_support import SEND_AT, UA, WAR, WEEK, article, digest_settings, week_store  # noqa: F401

BEFORE = SEND_AT.replace(day=25)
THEATRE = "https://news.example.org/2026/11/siberia-theatre"
ARTICLE_LINK = re.compile(r'href="(https://news\.example\.org/2026/11/[^"?#]+)')


@pytest.fixture
def editor(week_store, tmp_path):
    settings = Settings(outlet=OutletSettings(public_url="https://news.example.org"), digest=digest_settings(),
                        mail=MailSettings(outbox=tmp_path / "outbox"), public_dir=tmp_path / "public")
    moment = [BEFORE]
    app = App(settings, clock=lambda: moment[0], store=week_store)
    obj = Context(None, None, quiet=False, app=app)

    def run(group, *args, now=None):
        moment[0] = now or BEFORE
        result = CliRunner().invoke(group, list(args), obj=obj, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run.app, run.obj = app, obj
    return run


def archive_page(app: App) -> str:
    client = create_app(app, secret_key="test").test_client()
    response = client.get(f"/digest/{WEEK}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_pick_made_after_the_build_is_on_the_archive_page_at_once(editor):
    editor(digest, "build", "--week", WEEK)
    assert "A theatre that stays open" not in archive_page(editor.app)
    editor(digest, "pick", THEATRE, "--pitch", "A theatre that stays open")
    assert "A theatre that stays open" in archive_page(editor.app)
    editor(digest, "unpick", THEATRE)
    assert "A theatre that stays open" not in archive_page(editor.app)


def test_after_sending_the_archive_page_holds_what_the_email_held(editor, week_store, tmp_path):
    editor(subscribers, "add", "anna@example.com")
    editor(digest, "build", "--week", WEEK)
    editor(digest, "pick", THEATRE, "--pitch", "A theatre that stays open")
    late = article("late-news", "Late News Before The Send", hours_before=1, countries=(UA,), topics=(WAR,))
    week_store.articles.upsert([late], now=SEND_AT)  # ingested after the last build, before the send
    assert "1 sent, 0 failed" in editor(digest, "send", now=SEND_AT)
    [eml] = (tmp_path / "outbox").glob("*.eml")
    email_html = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",)).get_content()
    page = archive_page(editor.app)
    assert "A theatre that stays open" in page and "A theatre that stays open" in email_html
    sent_links = list(dict.fromkeys(ARTICLE_LINK.findall(email_html)))
    assert late.url in sent_links
    assert sent_links and list(dict.fromkeys(ARTICLE_LINK.findall(page))) == sent_links


def test_a_sent_edition_keeps_its_picks_so_its_page_stays_the_email(editor, tmp_path):
    editor(subscribers, "add", "anna@example.com")
    assert "1 sent" in editor(digest, "send", now=SEND_AT)
    before = archive_page(editor.app)
    result = CliRunner().invoke(digest, ["pick", THEATRE, "--week", WEEK], obj=editor.obj)
    refused = result.exception  # `feedpipe` (cli.run) turns it into exit code 2 and its message
    assert isinstance(refused, InputError) and refused.exit_code == 2
    assert refused.message == "2026-W48 is sent: its picks can no longer change"
    assert archive_page(editor.app) == before
