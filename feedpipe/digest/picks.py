"""The editor's hand on an edition: pick, unpick, reorder, pitch, each recorded in the edition log.

The command line (`feedpipe digest pick/unpick/order/picks`) and the editors' desk on the web both call
these functions, so there is one path to the picks and every change is logged with who made it and when.
A sent (or sending) edition's picks no longer change: it went out as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Article, Pick
from feedpipe.core.text import one_line
from feedpipe.store.protocols import Articles, Editions

PITCH_MAX = 300


class EditionLog(Protocol):
    def record(self, edition: str, *, actor: str, action: str, detail: str = "", now: datetime) -> None: ...


class PickStore(Protocol):
    """What editing an edition uses of the store."""

    @property
    def articles(self) -> Articles: ...

    @property
    def editions(self) -> Editions: ...

    @property
    def edition_log(self) -> EditionLog: ...


def _open(store: PickStore, key: str) -> None:
    edition = store.editions.get(key)
    if edition is not None and edition.status != "building":
        raise FeedpipeError(f"{key} is {edition.status}: its picks can no longer change",
                            "pick for next week's edition (--week)")


def _article(store: PickStore, article_id: str) -> Article:
    article = store.articles.get(article_id)
    if article is None:
        raise FeedpipeError(f"no stored article has the id {article_id}", "search the week's articles again")
    return article


def clean_pitch(pitch: str | None) -> str | None:
    """One line, at most PITCH_MAX characters; None stays None (keep the pitch as it is)."""
    return None if pitch is None else one_line(" ".join(pitch.split()))[:PITCH_MAX]


def pick(store: PickStore, key: str, article_id: str, *, pitch: str | None = None, actor: str,
         now: datetime) -> Pick:
    """Add the article to the edition's picks (at the end), or update the pitch of one already picked."""
    _open(store, key)
    article = _article(store, article_id)
    already = any(p.article_id == article_id for p in store.editions.picks(key))
    result = store.editions.pick(key, article_id, clean_pitch(pitch))
    if not already:
        store.edition_log.record(key, actor=actor, action="pick", now=now,
                                 detail=f"#{result.position + 1} {article.title}")
    if pitch is not None:
        store.edition_log.record(key, actor=actor, action="pitch", now=now,
                                 detail=f"{article.title}: {result.pitch or '(none)'}")
    return result


def set_pitch(store: PickStore, key: str, article_id: str, pitch: str, *, actor: str, now: datetime) -> Pick:
    """Write (or, with "", clear) the pitch line of a picked article."""
    if not any(p.article_id == article_id for p in store.editions.picks(key)):
        raise FeedpipeError("only a picked article has a pitch", "pick it first")
    return pick(store, key, article_id, pitch=pitch, actor=actor, now=now)


def unpick(store: PickStore, key: str, article_id: str, *, actor: str, now: datetime) -> bool:
    _open(store, key)
    article = store.articles.get(article_id)
    done = store.editions.unpick(key, article_id)
    if done:
        store.edition_log.record(key, actor=actor, action="unpick", now=now,
                                 detail=article.title if article else article_id)
    return done


def order(store: PickStore, key: str, article_ids: Sequence[str], *, actor: str, now: datetime) -> list[Pick]:
    """Put these picks first, in this order; the others follow in their old order."""
    _open(store, key)
    result = store.editions.order(key, article_ids)
    titles = []
    for p in result:
        article = store.articles.get(p.article_id)
        titles.append(article.title if article else p.article_id)
    store.edition_log.record(key, actor=actor, action="order", now=now,
                             detail=" | ".join(f"{n}. {t}" for n, t in enumerate(titles, 1)))
    return result


def move(store: PickStore, key: str, article_id: str, step: int, *, actor: str, now: datetime) -> list[Pick]:
    """Move a picked article `step` places (-1: up, 1: down); at either end it stays where it is."""
    ids = [p.article_id for p in store.editions.picks(key)]
    if article_id not in ids:
        raise FeedpipeError("only a picked article can be moved", "pick it first")
    at = ids.index(article_id)
    to = max(0, min(len(ids) - 1, at + step))
    if to == at:
        return store.editions.picks(key)
    ids.insert(to, ids.pop(at))
    return order(store, key, ids, actor=actor, now=now)


def replace_all(store: PickStore, key: str, wanted: Sequence[tuple[str, str | None]], *, actor: str,
                now: datetime) -> list[Pick]:
    """Make the picks exactly `wanted` ((article id, pitch) in order), as a picks file says."""
    ids = [a for a, _ in wanted]
    for p in store.editions.picks(key):
        if p.article_id not in ids:
            unpick(store, key, p.article_id, actor=actor, now=now)
    for article_id, wanted_pitch in wanted:
        pick(store, key, article_id, pitch=wanted_pitch, actor=actor, now=now)
    if ids:
        return order(store, key, ids, actor=actor, now=now)
    return store.editions.picks(key)


def record(store: PickStore, key: str, action: str, detail: str, *, actor: str, now: datetime) -> None:
    """Log something done to the edition other than its picks (a test copy, a send)."""
    store.edition_log.record(key, actor=actor, action=action, detail=detail, now=now)
