"""Section (news / feature / analysis / opinion / ...) from the feed's categories, the URL path or metadata.

Rules are data (`sections.toml`): each section lists words that name it in a category ("Comment is free",
"Opinion") or a URL path segment ("/opinion/", "/analysis/"). Categories are read first, because an
editor set them; then the URL; then the optional default (none: the pipeline falls back to the source's section).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedpipe.tagging.resources import DataFiles

_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class SectionRules:
    order: tuple[str, ...]  # sections in the order they are tried
    words: dict[str, frozenset[str]]  # section -> words or phrases that name it
    default: str | None = None  # None: the pipeline falls back to the source's section, then "news"

    @classmethod
    def load(cls, files: DataFiles) -> SectionRules:
        data = files.toml("sections.toml")
        table = data.get("sections", {})
        words = {name: frozenset(w.lower() for w in spec.get("words", ())) for name, spec in table.items()}
        return cls(tuple(table), words, data.get("default") or None)

    def _match(self, text: str) -> str | None:
        low = text.lower().strip()
        tokens = set(_SPLIT.split(low))
        for name in self.order:
            for w in self.words[name]:
                if (" " in w and w in low) or w in tokens:
                    return name
        return None

    def section(self, categories: tuple[str, ...] = (), url: str | None = None) -> str | None:
        for cat in categories:
            found = self._match(cat)
            if found:
                return found
        if url:
            path = urlsplit(url).path
            for segment in path.split("/")[:-1] if not path.endswith("/") else path.split("/"):
                found = self._match(segment.replace("-", " ")) if segment else None
                if found:
                    return found
        return self.default
