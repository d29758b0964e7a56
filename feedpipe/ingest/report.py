"""What an ingest did, per source: the figures the summary table and the exit code are made from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str, int, int], None]  # (source name, done, total)


@dataclass(frozen=True, kw_only=True)
class SourceResult:
    name: str
    kind: str
    status: str  # ok | not-modified | error | waiting | not-due
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    results: tuple[SourceResult, ...] = ()

    @property
    def failed_sources(self) -> tuple[SourceResult, ...]:
        return tuple(r for r in self.results if r.status == "error")

    def total(self, attr: str) -> int:
        return sum(getattr(r, attr) for r in self.results)
