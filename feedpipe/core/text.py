"""The one text normaliser and the one XML-character filter: every module that cleans a title, a
header value or feed text uses these, so a character is never allowed in one output and dropped in
another."""

from __future__ import annotations

import re

# Everything XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) and the C1
# controls it discourages (but NEL); lxml and feedgen raise on the former at serialisation.
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Line breaks, tabs, other controls and Unicode spaces: one line has none of them, only single spaces.
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u200b]+")


def xml_safe(text: str | None) -> str:
    """`text` without the characters an XML document may not (or should not) carry."""
    if not text:
        return ""
    if text.isprintable():  # every character _NOT_XML matches is unprintable: skip the regex pass
        return text
    return _NOT_XML.sub("", text)


def one_line(text: str | None) -> str:
    """A single clean line (titles, header values, subjects): no line break or control character,
    runs of whitespace collapsed to one space, trimmed."""
    if not text:
        return ""
    if text.isprintable() and "  " not in text:  # the common case: nothing to clean
        return text.strip()
    return _BREAKS.sub(" ", _NOT_XML.sub(" ", text)).strip()
