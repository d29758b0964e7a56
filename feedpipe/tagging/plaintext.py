"""Split a plain-text article (such as the seed files) into headline and body.

Plain text has no markup saying which line is the headline, so this guesses as a reader would:
the first non-empty line of 4 to 30 words that does not end like a sentence or a call to action
("Support The Moscow Times!"). If no line qualifies, the first non-empty line is the headline.
"""

from __future__ import annotations


def looks_like_title(line: str) -> bool:
    words = line.split()
    return 4 <= len(words) <= 30 and not line.rstrip().endswith((".", "!", ":", ";", ",")) and len(line) < 250


def split_title(text: str) -> tuple[str, str]:
    """(title, body); body is everything after the title line."""
    lines = text.splitlines()
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    if not nonempty:
        return "", ""
    pick = next((i for i in nonempty if looks_like_title(lines[i].strip())), nonempty[0])
    return lines[pick].strip(), "\n".join(lines[pick + 1 :]).strip()
