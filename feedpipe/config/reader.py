"""One way to read a TOML table and report what is wrong with it, for every section of the config.

Every problem is one line, `FILE [table] key: what is wrong - e.g. what would be right`, and all of
them are collected before anything runs. An unknown key gets a did-you-mean from the known ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping

Table = dict[str, object]

KNOWN_TABLES: dict[str, tuple[str, ...]] = {}
"""Every table's keys ("digest" -> ("outlet", "title", ...)), registered by the module that reads the
table, so a key put in the wrong table is pointed to the table that has it."""


def known(table: str, keys: Collection[str]) -> tuple[str, ...]:
    """Register `table`'s keys for did-you-mean across tables; returns them as a tuple."""
    KNOWN_TABLES[table] = tuple(keys)
    return KNOWN_TABLES[table]


def did_you_mean(table: str, key: str, keys: Collection[str]) -> str | None:
    """The advice for an unknown `key` in `table`: the closest key of that table, else a close key of
    another table ("'max_items' in [digest]"); None when nothing is close."""
    same = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.6)
    if same:
        return f"'{same[0]}'"
    for other, other_keys in KNOWN_TABLES.items():
        if other != table and (found := difflib.get_close_matches(key, list(other_keys), n=1, cutoff=0.8)):
            return f"'{found[0]}' in [{other}]" if other else f"'{found[0]}' at the top level"
    return None


_KINDS: dict[type, str] = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
                           dict: "a table", list: "a list"}


class Problems:
    """Every problem found in one config file, each a line naming the file, the table and the key."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.lines: list[str] = []

    def add(self, table: str, key: str, what: str, example: str = "") -> None:
        """Record `FILE [table] key: what - e.g. example`.

        `table` is a table's dotted name ("digest.support"), "" for the top level, or a label that
        already has its brackets ("[[sources]] name='world'")."""
        label = table if not table or table.startswith("[") else f"[{table}]"
        place = " ".join(part for part in (label, key) if part)
        line = f"{self.where} {place}: {what}" if place else f"{self.where}: {what}"
        self.lines.append(line + (f" - e.g. {example}" if example else ""))

    def unknown_keys(self, table: str, data: Mapping[str, object], known: Collection[str]) -> None:
        """One problem per key of `data` that is not in `known`, with the closest known key if any."""
        for key in data:
            if key in known:
                continue
            advice = did_you_mean(table, key, known)
            if advice:
                self.add(table, key, f"unknown key; did you mean {advice}?")
            else:  # nothing close: what the table does hold
                self.add(table, key, "unknown key", "one of " + ", ".join(sorted(known)))

    def table(self, name: str, value: object) -> Table:
        """`value` as a table, or an empty one (and a problem) when it is something else."""
        if not isinstance(value, dict):
            self.add(name, "", f"must be a table, got {type(value).__name__}", f"[{name}]")
            return {}
        return {str(k): v for k, v in value.items()}


class Section:
    """Typed reads of one table's keys: a wrong value becomes a problem and the default is used."""

    def __init__(self, problems: Problems, name: str, data: Mapping[str, object]) -> None:
        self.problems = problems
        self.name = name
        self.data = data

    def add(self, key: str, what: str, example: str = "") -> None:
        self.problems.add(self.name, key, what, example)

    def unknown_keys(self, known: Collection[str]) -> None:
        self.problems.unknown_keys(self.name, self.data, known)

    def _wrong(self, key: str, kind: type, value: object, example: str) -> None:
        self.add(key, f"must be {_KINDS.get(kind, kind.__name__)}, got {value!r}", example)

    def text(self, key: str, default: str, example: str) -> str:
        """A one-line string without carriage returns or NUL."""
        found = self.optional_text(key, example)
        return default if found is None else found

    def optional_text(self, key: str, example: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self._wrong(key, str, value, example)
            return None
        if "\r" in value or "\0" in value:
            self.add(key, "must not contain carriage returns or NUL", example)
            return None
        return value

    def integer(self, key: str, default: int, example: str) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self._wrong(key, int, value, example)
            return default
        return value

    def number(self, key: str, default: float, example: str) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._wrong(key, float, value, example)
            return default
        return float(value)

    def flag(self, key: str, default: bool, example: str) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self._wrong(key, bool, value, example)
            return default
        return value

    def mapping(self, key: str, example: str) -> Table | None:
        """A sub-table, or None when the key is absent or not a table."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._wrong(key, dict, value, example)
            return None
        return {str(k): v for k, v in value.items()}

    def strings(self, key: str, default: tuple[str, ...], example: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(key, f"must be a list of strings, got {value!r}", example)
            return default
        return tuple(str(v) for v in value)
