"""The weekly digest: editions, selection, rendering, messages, and sending.

Selection (`select`), rendering (`render`) and messages (`message`) are pure; `build` loads an edition
from the store and writes its web view; `send` holds the three ways to send one: `send_edition` (the
real, exactly-once send), `dry_run` and `send_test`. The service entry points are imported here plainly;
import everything else from its module.
"""

from __future__ import annotations

from feedpipe.digest.build import LoadedEdition, build_edition, load_edition
from feedpipe.digest.send import dry_run, send_edition, send_test

__all__ = ["LoadedEdition", "build_edition", "dry_run", "load_edition", "send_edition", "send_test"]
