"""The weekly digest: editions, selection, rendering, messages and the exactly-once send.

The names below are loaded on first use, so that the store can import `feedpipe.digest.model`
without pulling in the sending side (which itself uses the store).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "build_edition": "feedpipe.digest.build",
    "prepare": "feedpipe.digest.build",
    "due_edition": "feedpipe.digest.editions",
    "edition_key": "feedpipe.digest.editions",
    "current_edition": "feedpipe.digest.editions",
    "edition_window": "feedpipe.digest.editions",
    "send_time": "feedpipe.digest.editions",
    "send_edition": "feedpipe.digest.send",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'feedpipe.digest' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
