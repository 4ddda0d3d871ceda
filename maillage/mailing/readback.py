"""Every message is read back before it is queued: the headers a mail server will read must be
exactly those that were built.

Python 3.11's ``email`` package (before the CVE-2024-6923 fix) writes the line break that an
encoded word (``=?utf-8?q?a=0AReply-To:_x?=``) holds as a raw line break when it folds a header:
one value became two headers. The builders keep such text from ever being decoded
(``messages._SubjectHeader``), and this check refuses any message whose serialised header set
differs from the one built, whatever the Python version and whatever a future builder forgets.
"""

from __future__ import annotations

import email
import re
from email.message import EmailMessage, Message
from email.policy import compat32

from maillage.errors import FieldError, InvalidData

_NAME = re.compile(rb"[!-9;-~]+")
"""A header field name (RFC 5322 § 3.6.8): printable ASCII but for the colon."""


class UnsafeHeaders(InvalidData):
    """A built message whose headers read back differently: it is never queued."""

    def __init__(self, recipient: str, built: list[str], read: list[str]) -> None:
        extra = sorted(set(read) - set(built)) or sorted(set(built) - set(read))
        super().__init__(
            [
                FieldError(
                    "message",
                    f"Message pour {recipient} refusé : ses en-têtes relus ne sont pas ceux "
                    f"construits ({', '.join(extra) or 'ordre différent'}). Un nom, un objet ou "
                    "un champ de fusion contient sans doute un texte codé (« =?…?= ») : "
                    "corrigez-le avant d'envoyer.",
                )
            ]
        )


def top_header_names(raw: bytes) -> list[str] | None:
    """The names of the message's own headers, as a server reads them: the lines before the
    first empty one, each not starting with a space or tab opening a header. ``None`` when a
    line break is not CRLF or a line opens no header (some servers would read one there)."""
    end = raw.find(b"\r\n\r\n")
    block = raw if end < 0 else raw[:end]
    # Only the header block is read: with no bare CR or LF in it, no server can end the
    # headers earlier or start a header inside a line.
    breaks = block.count(b"\r\n")
    if block.count(b"\n") != breaks or block.count(b"\r") != breaks:
        return None
    names = []
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not _NAME.fullmatch(name):
            return None
        names.append(name.decode("ascii").lower())
    return names


def _names(part: Message) -> list[str]:
    return [name.lower() for name in part]


def check_prebuilt(raw: bytes, recipient: str, built: tuple[str, ...]) -> None:
    """A fast-path message: its parts' headers are constants, only its own carry people's text."""
    read = top_header_names(raw)
    expected = [name.lower() for name in built]
    if read != expected:
        raise UnsafeHeaders(recipient, expected, read or ["(lignes illisibles)"])


def check_message(message: EmailMessage, raw: bytes, recipient: str) -> None:
    """A message built with the ``email`` package: every part's headers, read back."""
    expected = [_names(part) for part in message.walk()]
    top = top_header_names(raw)
    parsed = email.message_from_bytes(raw, policy=compat32)
    read = [_names(part) for part in parsed.walk()]
    if top != expected[0] or read != expected:
        flat_read = [name for names in read for name in names]
        flat_built = [name for names in expected for name in names]
        raise UnsafeHeaders(recipient, flat_built, flat_read)
