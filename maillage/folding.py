"""Text as a French reader compares it: accents, case, ligatures and apostrophes ignored.

Search folds what is typed and what is stored the same way (« loeuillet » finds « Lœuillet »,
« D’Hivert » finds « D'Hivert »), and lists sort by the folded text, so « École » sits among
the E and « Mézière » before « Mouazé », on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import functools
import sqlite3
import unicodedata
from typing import Any

# Letters that Unicode does not decompose (œ and æ are letters, not compatibility
# ligatures) and the apostrophes that word processors and phones type instead of « ' ».
_SPELLED_OUT = str.maketrans(
    {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "’": "'", "‘": "'", "ʼ": "'", "`": "'"}
)

# The collation's name is PostgreSQL's ICU French one, so one ORDER BY clause serves both
# engines: SQLite gets a collation of the same name from ``FrenchConnection``.
COLLATION = "fr-FR-x-icu"


def fold(text: str) -> str:
    """Lower case, without accents, ligatures spelled out, one kind of apostrophe."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED_OUT))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


# Sorting n rows calls the collation about n·log₂(n) times, each folding two strings: 10,000
# contacts sorted once made 280,000 folds (half a second per page of the list). The same names
# come back at every comparison and every request, so their folds are kept.
_fold_kept = functools.lru_cache(maxsize=65_536)(fold)


def french_compare(left: str, right: str) -> int:
    """Folded text first; equal folds (« cote », « côte ») keep a stable, exact order."""
    if left == right:
        return 0
    a, b = _fold_kept(left), _fold_kept(right)
    if a != b:
        return -1 if a < b else 1
    return (left > right) - (left < right)


def french_key(text: str) -> tuple[str, str]:
    """A sort key giving the order of `french_compare` (folded text, then exact text), for a
    sort made in Python rather than by the database."""
    return (_fold_kept(text), text)


class FrenchConnection(sqlite3.Connection):
    """A SQLite connection that knows the French collation (every connection maillage opens,
    Piccolo's included, is made through this factory)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.create_collation(COLLATION, french_compare)
