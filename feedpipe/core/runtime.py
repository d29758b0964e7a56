"""Start-up checks of the platform feedpipe runs on: libraries whose known flaws it cannot work around
alone. Pure: the versions are parameters (`current_platform_warnings()` passes the running ones)."""

from __future__ import annotations

import pyexpat
import sys
from collections.abc import Sequence

# Expat before 2.6.0: CVE-2023-52425 (quadratic parsing of large tokens, a denial of service by one feed).
EXPAT_FIXED = (2, 6, 0)
# CVE-2024-6923 (the email package wrote decoded encoded-words with line breaks back into headers):
# fixed in 3.11.10, 3.12.5 and 3.13.0 (gh-121650).
PYTHON_EMAIL_FIXED = {(3, 11): (3, 11, 10), (3, 12): (3, 12, 5)}


def _version(v: Sequence[int]) -> str:
    return ".".join(str(n) for n in v)


def platform_warnings(python: Sequence[int], expat: Sequence[int]) -> list[str]:
    """One line per known flaw of this Python (`sys.version_info`) or XML parser (`pyexpat.version_info`),
    each naming the version to install; empty when there is none."""
    found = []
    py = tuple(python[:3])
    fixed = PYTHON_EMAIL_FIXED.get((py[0], py[1]), (3, 11, 10) if py < (3, 11) else None)
    if fixed is not None and py < fixed:
        found.append(f"Python {_version(py)} lacks the email header fix for CVE-2024-6923; install Python "
                     f"{_version(fixed)} or later")
    if tuple(expat[:3]) < EXPAT_FIXED:
        found.append(f"the XML parser is Expat {_version(expat[:3])}, older than {_version(EXPAT_FIXED)} "
                     f"(CVE-2023-52425); install libexpat {_version(EXPAT_FIXED)} or later, or a Python built with it")
    return found


def current_platform_warnings() -> list[str]:
    """`platform_warnings` for the running interpreter."""
    v = sys.version_info
    return platform_warnings((v.major, v.minor, v.micro), pyexpat.version_info)
