"""Text helpers shared by every service: search normalisation and control-character checks."""

from __future__ import annotations

import unicodedata

from maillage.folding import fold

# Tab and line breaks are ordinary in notes and agendas; every other control character is
# refused, because PostgreSQL rejects NUL and both engines must behave the same.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def normalise(text: str) -> str:
    """Lower case without accents, so « Hélène » is found by « helene » on both engines."""
    return fold(text)


def search_text(*parts: object) -> str:
    return normalise(" ".join(str(p) for p in parts if p))


def find_control_character(text: str, multiline: bool) -> int | None:
    """Position of the first forbidden control character, or None."""
    for position, char in enumerate(text):
        if unicodedata.category(char) == "Cc":
            if multiline and char in _ALLOWED_CONTROLS:
                continue
            return position
    return None
