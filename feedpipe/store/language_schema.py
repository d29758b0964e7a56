"""Migrations for the articles' language (issue 12; versions 320-329).

`articles.language` exists since version 1 and held what a feed declared; since issue 12 it holds the
language the tagger detected in the text (the declared one, when different, is kept in
`extra["language_declared"]`). Version 320 indexes it for `feedpipe articles --language`; articles stored
before keep their declared language until `feedpipe retag`.
"""

from __future__ import annotations

from sqlalchemy import Connection

from feedpipe.store.migration import Migration


def _v320(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_articles_language ON articles (language)")


MIGRATIONS = [Migration(version=320, name="index on articles.language", apply=_v320)]
