"""robots.txt as RFC 9309 reads it: groups by product token, longest match wins, allow wins a tie.

Written here rather than taken from `urllib.robotparser`, which differs from RFC 9309 where it matters:
it applies the first matching rule in file order instead of the longest match, knows no `*` and `$`
patterns, uses only the first group naming a user-agent instead of merging them, and treats 401/403
as "disallow all" where the RFC says any 4xx means "no restrictions".

Pure: the Fetcher fetches `/robots.txt` (once per origin, cached here at most a day) and hands the
status and bytes in.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

TOKEN = "feedpipe"  # the product token matched against user-agent lines
MAX_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least 500 KiB; what comes after is ignored
TTL = 24 * 3600.0  # RFC 9309 2.4: do not use a cached robots.txt for more than 24 hours
UNREACHABLE_TTL = 3600.0  # a robots.txt that could not be fetched is asked for again after an hour

_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Rule:
    allow: bool
    pattern: str  # as written, for messages
    line: int

    def __str__(self) -> str:
        return f"{'Allow' if self.allow else 'Disallow'}: {self.pattern} (line {self.line})"


@dataclass(frozen=True)
class Robots:
    """The rules that apply to feedpipe on one origin, or why everything is disallowed."""

    url: str
    rules: tuple[Rule, ...] = ()
    group: str = ""  # the user-agent the rules were written for: "feedpipe", "*" or "" (none)
    unreachable: str | None = None  # set: robots.txt could not be fetched, so every page is disallowed

    def deciding_rule(self, url: str) -> Rule | None:
        """The rule that decides `url` (the longest match; Allow on a tie); None: allowed, no rule matches."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if path == "/robots.txt":
            return None
        target = _normalise(path)
        best: Rule | None = None
        best_len = -1
        for rule in self.rules:
            pattern = _normalise(rule.pattern)
            if _matches(pattern, target) and (len(pattern) > best_len or (len(pattern) == best_len and rule.allow)):
                best, best_len = rule, len(pattern)
        return best


def parse(url: str, body: bytes, token: str = TOKEN) -> Robots:
    """The rules of the groups for `token` (merged), else those of the `*` groups, else none."""
    text = body[:MAX_BYTES].decode("utf-8", errors="replace").lstrip("\ufeff")
    groups: dict[str, list[Rule]] = {}
    agents: list[str] = []
    in_rules = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            agent = value.lower()
            agents.append(agent)
            groups.setdefault(agent, [])
        elif key in ("allow", "disallow"):
            in_rules = True
            if value:  # an empty Disallow matches nothing
                for agent in agents:
                    groups[agent].append(Rule(allow=key == "allow", pattern=value, line=number))
    for name in (token.lower(), "*"):
        if name in groups:
            return Robots(url=url, rules=tuple(groups[name]), group=name)
    return Robots(url=url)


def _normalise(path: str) -> str:
    """Non-ASCII percent-encoded as UTF-8; %XX of an unreserved character decoded; hex in upper case."""
    encoded = "".join(c if ord(c) < 128 else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in path)

    def one(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char.isascii() and (char.isalnum() or char in "-._~") else f"%{m.group(1).upper()}"

    return _UNRESERVED.sub(one, encoded)


def _matches(pattern: str, path: str) -> bool:
    """RFC 9309 2.2.3: `*` matches any run of characters, a final `$` anchors the end; else a prefix."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.match(regex + ("$" if anchored else ""), path) is not None


class RobotsCache:
    """One Robots per origin, loaded once (one loader per origin at a time), kept for at most TTL seconds."""

    def __init__(self, load: Callable[[str], Robots], clock: Callable[[], float]) -> None:
        self._load = load
        self._clock = clock
        self._entries: dict[str, tuple[Robots, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, robots_url: str) -> Robots:
        with self._guard:
            lock = self._locks.setdefault(robots_url, threading.Lock())
        with lock:
            cached = self._entries.get(robots_url)
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
            robots = self._load(robots_url)
            ttl = UNREACHABLE_TTL if robots.unreachable else TTL
            self._entries[robots_url] = (robots, self._clock() + ttl)
            return robots


def robots_url(url: str) -> str:
    """The robots.txt URL of `url`'s origin (scheme, host, port; never credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/robots.txt"
