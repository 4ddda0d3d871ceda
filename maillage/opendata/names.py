"""Surnames as people write them: the register's « DE LA TOUR DU PIN » is « de La Tour du Pin ».

The rules, checked on the national register of elected officials (#18):
- each word, and each part of a hyphenated word, gets a capital: « DUPONT-AIGNAN » →
  « Dupont-Aignan », « MAC MAHON » → « Mac Mahon », « LE GOFF » → « Le Goff »;
- the French particles « de », « du », « des » stay in lower case before another word
  (« de La Tour », « du Fornel du Roure »), not at the end (« Le Du »);
- an elided letter glued to the name keeps its capital at the start (« D'Alembert »,
  « N'Diaye », « O'Connell »), « d' » and « l' » further on are lower case
  (« d'Estienne d'Orves », « Girod de l'Ain »); after a longer part the apostrophe is a
  contraction and what follows stays lower case (« Prud'homme », « L'Helgoualc'h »);
- inside a hyphenated word, linking words stay lower case (« Perez-y-Gonzalez »).
A name the register already writes in mixed case is kept as it is.
"""

from __future__ import annotations

PARTICLES = frozenset({"de", "du", "des"})
ELIDED_LOWER = frozenset({"d", "l"})
HYPHEN_LINKS = frozenset({"de", "du", "des", "y", "sur", "lès", "en"})
APOSTROPHES = "'’"


def person_name(raw: str) -> str:
    """« DE LA TOUR » → « de La Tour »; a name already in mixed case is left alone."""
    text = " ".join(raw.split())
    if not text or text != text.upper():
        return text
    words = text.split(" ")
    result = []
    for position, word in enumerate(words):
        lower = word.lower()
        last = position == len(words) - 1
        if lower in PARTICLES and not last:
            result.append(lower)
        else:
            result.append(_word(word, first=position == 0))
    return " ".join(result)


def _word(word: str, first: bool) -> str:
    parts = word.split("-")
    cased = [_elided(parts[0], first)]
    for part in parts[1:]:
        cased.append(part.lower() if part.lower() in HYPHEN_LINKS else _elided(part, False))
    return "-".join(cased)


def _elided(part: str, first: bool) -> str:
    for mark in APOSTROPHES:
        if mark in part:
            head, _, tail = part.partition(mark)
            if len(head) == 1:
                letter = (
                    head.lower() if not first and head.lower() in ELIDED_LOWER else head.upper()
                )
                return f"{letter}{mark}{_elided(tail, False)}"
            return f"{head.capitalize()}{mark}{tail.lower()}"
    return part.capitalize()
