"""The store is one repository per concept behind a Protocol, and all of feedpipe's SQL lives in it."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta

import pytest

from feedpipe.core.model import Edition
from feedpipe.digest.editions import due_edition
from feedpipe.store import protocols
from tests.conftest import REPO
from tests.digest_support import SEND_AT, WEEK, digest_settings

REPOSITORIES = {
    "articles": protocols.Articles,
    "sources": protocols.Sources,
    "catalogue": protocols.Catalogue,
    "subscribers": protocols.Subscribers,
    "editions": protocols.Editions,
    "ledger": protocols.Ledger,
    "leases": protocols.Leases,
    "meta": protocols.Meta,
}


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


@pytest.mark.parametrize("name", sorted(REPOSITORIES))
def test_each_repository_offers_exactly_what_its_protocol_declares(store, name):
    assert _public(type(getattr(store, name))) == _public(REPOSITORIES[name])


def test_the_store_has_no_flat_methods_left():
    from functools import cached_property

    from feedpipe.store import Store

    repositories = {name for name in _public(Store) if isinstance(getattr(Store, name), cached_property)}
    assert _public(Store) - repositories == {"open", "close", "integrity_ok", "schema_versions", "is_sqlite", "batch"}


def test_a_run_that_only_ingests_never_loads_the_mail_side(tmp_path):
    """Repositories are built on first use: storing articles imports no subscriber, ledger or queue
    module, and no email-validator (a fresh interpreter, so nothing else has loaded them)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from feedpipe.store import Store\n"
        f"store = Store.open('sqlite:///{tmp_path / 'x.db'}', now=datetime.now(UTC))\n"
        "store.articles.count(); store.sources.states()\n"
        "mail_side = ('email_validator', 'feedpipe.store.subscribers', 'feedpipe.store.ledger',\n"
        "             'feedpipe.store.work', 'sqlalchemy.dialects.postgresql')\n"
        "print(sorted(m for m in mail_side if m in sys.modules))\n"
        "print(type(store.ledger).__name__, 'feedpipe.store.ledger' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.splitlines() == ["[]", "SendLedger True"]


def test_only_the_store_package_imports_sqlalchemy():
    offenders = []
    for path in sorted((REPO / "feedpipe").rglob("*.py")):
        if (REPO / "feedpipe" / "store") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in names):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


class _Editions:
    """A test double: only the part of the `Editions` Protocol that `due_edition` uses."""

    def __init__(self, *editions: Edition) -> None:
        self.by_key = {e.key: e for e in editions}

    def get(self, key: str) -> Edition | None:
        return self.by_key.get(key)


class _Store:
    def __init__(self, *editions: Edition) -> None:
        self.editions = _Editions(*editions)


def test_a_service_runs_against_a_test_double_of_its_protocol():
    settings = digest_settings()
    sent = Edition(key=WEEK, status="sent", created_at=SEND_AT - timedelta(days=1))
    assert due_edition(SEND_AT, settings, _Store()) == WEEK
    assert due_edition(SEND_AT, settings, _Store(sent)) is None
    assert due_edition(datetime(2026, 12, 4, 5, tzinfo=UTC), settings, _Store(sent)) == "2026-W49"
