"""The DATA block a message goes out as: CRLF line ends, a leading dot doubled on every line (RFC 5321
4.5.2), ending in CRLF "." CRLF; a message already in CRLF form takes a shortcut that must agree."""

from __future__ import annotations

import smtplib

import pytest

from feedpipe.mail_wire import data_block


def smtplib_block(message: bytes) -> bytes:
    """What smtplib.SMTP.data sends for these bytes (after normalising line ends, as sendmail does for text)."""
    quoted = smtplib._quote_periods(smtplib._fix_eols(message.decode("latin-1")).encode("latin-1"))
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"


@pytest.mark.parametrize("message", [
    b"Subject: x\r\n\r\n.starts with a dot\r\n..two\r\nmid . dot\r\n.\r\nend",
    b".first line is a dot\r\n",
    b"bare\nline\nends\n.dot\n",
    b"mixed\r\nends\n.dot\r\n.\r\n",
    b"",
])
def test_the_data_block_dot_stuffs_every_line_and_ends_with_a_lone_dot(message):
    block = data_block(message)
    assert block == smtplib_block(message)
    assert block.endswith(b"\r\n.\r\n") and b"\n.\r\n" not in block[:-3]
