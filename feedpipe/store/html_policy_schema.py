"""Migration for the stamp of each article's HTML (versions 360-369).

Version 360 adds `articles.html_policy` (see `feeds.entries.html_stamp`): the store writes it with every
article it stores; rows stored before stay NULL, and a feed sanitises their HTML when it publishes them,
as it did before.
"""

from __future__ import annotations

from sqlalchemy import Connection

from feedpipe.store.migration import Migration, add_column


def _v360(conn: Connection) -> None:
    add_column(conn, "articles", "html_policy", "VARCHAR(80)")


MIGRATIONS = [Migration(version=360, name="articles.html_policy: the stamp of the stored HTML", apply=_v360)]
