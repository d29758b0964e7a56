"""A feed's own request to be polled no more often than every N minutes (RSS 2.0 `<ttl>`).

Read with a bounded regex over the channel head rather than a second XML parse: `<ttl>` is a
plain integer child of `<channel>`, and the feed parser's result does not carry it.
"""

from __future__ import annotations

import re

_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>", re.IGNORECASE)
_HEAD = 65_536  # the channel's own elements come before its items
MAX_TTL_MINUTES = 24 * 60  # a publisher's typo must not silence a source for weeks


def feed_ttl(body: bytes) -> int | None:
    """Minutes the feed asks clients to wait between fetches, capped at a day; None when absent."""
    head = body[:_HEAD]
    first_item = re.search(rb"<(item|entry)[\s>]", head)
    match = _TTL.search(head, 0, first_item.start() if first_item else len(head))
    if not match:
        return None
    minutes = int(match.group(1))
    return min(minutes, MAX_TTL_MINUTES) if minutes > 0 else None
