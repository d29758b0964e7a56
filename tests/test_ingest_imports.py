"""`feedpipe ingest` of feeds loads what it uses and nothing else: not the mail side (mailer, subscriber
and ledger repositories, email-validator), not the feed renderers (feedgen), not the page extractor
(trafilatura, lxml), not PostgreSQL's dialect on SQLite. Each import costs every run start-up time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

NOT_FOR_FEEDS = ("feedpipe.mailer", "feedpipe.store.subscribers", "feedpipe.store.ledger", "feedpipe.store.work",
                 "email_validator", "feedpipe.feeds", "feedgen", "feedpipe.extract.page", "trafilatura", "lxml",
                 "sqlalchemy.dialects.postgresql", "feedpipe.digest", "feedpipe.web")

RUN = """
import runpy, sys
sys.argv = ["feedpipe", "--config", "feedpipe.toml", "ingest", "feed.xml"]
try:
    runpy.run_module("feedpipe", run_name="__main__")
except SystemExit as exit:
    print("exit", exit.code)
print(sorted(m for m in sys.argv[1:] + %r if m in sys.modules))
"""


def test_an_ingest_of_a_feed_loads_nothing_it_does_not_use(tmp_path: Path):
    (tmp_path / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
        "<link>https://desk.example.org/</link><description>d</description><item><title>Budget talks in Kyiv"
        "</title><link>https://desk.example.org/a</link><description>&lt;p&gt;Talks went on.&lt;/p&gt;"
        "</description><pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>", encoding="utf-8")
    (tmp_path / "feedpipe.toml").write_text('[store]\npath = "x.db"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", RUN % (list(NOT_FOR_FEEDS),)], cwd=tmp_path, capture_output=True,
                         text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert "exit 0" in out.stdout and "│ ok " in out.stdout  # the feed was ingested
    assert out.stdout.splitlines()[-1] == "[]"
