"""Shared fixtures: a fixed clock, real SQLite stores (and PostgreSQL when the CI provides one),
and a small article factory."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedpipe.core.model import Article
from feedpipe.store import Store

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a Friday morning

# The suite's HTTP servers listen on 127.0.0.1, which the fetcher refuses by default: CLI runs (in process
# and in subprocesses) get the operator's allowance; tests/test_fetch_policy.py clears it to test the policy.
os.environ["FEEDPIPE_ALLOW_PRIVATE_ADDRESSES"] = "1"


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'feedpipe.db'}"


@pytest.fixture
def store(sqlite_url: str, now: datetime):
    s = Store.open(sqlite_url, now=now)
    yield s
    s.close()


@pytest.fixture
def pg_url() -> str:
    """A fresh database on the PostgreSQL server named by FEEDPIPE_TEST_PG_URL (CI starts one)."""
    base = os.environ.get("FEEDPIPE_TEST_PG_URL")
    if not base:
        pytest.skip("FEEDPIPE_TEST_PG_URL is not set: no PostgreSQL server to test against (.ci/run starts one)")
    import sqlalchemy as sa

    name = f"feedpipe_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download); skipped without either."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install playwright (no browser download needed)"
    )
    if not shutil.which(CHROMIUM):
        pytest.skip("no chromium on this machine: apt-get install -y chromium")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path: Path, now: datetime):
    """The same tests against SQLite and (when available) PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'any.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = Store.open(url, now=now)
    yield s
    s.close()


def make_article(url: str = "https://news.example.org/a/1", *, title: str = "A title", source: str = "test",
                 text: str = "Some body text.", **fields) -> Article:
    """An Article as extraction would produce it (id and canonical URL derived from the URL)."""
    from feedpipe.extract.urls import article_id, canonical_url, content_hash

    canonical = canonical_url(url)
    return Article(id=article_id(canonical_url=canonical), url=url, canonical_url=canonical, title=title,
                   source=source, text=text, content_hash=content_hash(title, text), **fields)
