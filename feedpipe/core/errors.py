"""Errors that carry a hint telling the user what to fix (after rss2email's error.py)."""

from __future__ import annotations


class FeedpipeError(Exception):
    """An expected failure: a message naming the input and what is wrong, and a hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ConfigError(FeedpipeError):
    """The configuration is invalid; `problems` lists every one found."""

    exit_code = 2

    def __init__(self, problems: list[str], hint: str = "") -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n  " + "\n  ".join(self.problems), hint)


class FetchError(FeedpipeError):
    """A fetch failed: timeout, HTTP error, too large, redirect loop, ..."""

    def __init__(self, url: str, message: str, hint: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(f"{url}: {message}", hint)
        self.url = url
        self.retry_after = retry_after


class ExtractError(FeedpipeError):
    """Bytes could not be turned into articles (not a feed, malformed, empty page)."""


class StoreError(FeedpipeError):
    """The store could not be opened or written."""
