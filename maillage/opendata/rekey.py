"""Mandates loaded before #18's RGPD note carry a plain hash of the holder's name in their
register key (``cm:73187:ADJ:<sha256("NOM|Prénom")[:12]>``): anyone holding the public register
can hash its half-million names and read the keys back. They become keyed digests without the
function (``cm:73187:<hmac>``, see ``registers.person_digest``), the form the loader writes now.

The holder is found in the register itself by the old hash, so a person erased since the load
(whose contact no longer bears the name) gets the key the register will give them on the next
refresh, and is not brought back by it. A holder the register no longer lists gets the digest
of the contact's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from maillage.opendata import registers
from maillage.opendata.names import person_name

REGISTER_FILES = ("elus_municipaux.csv.lzma", "elus_departementaux.csv.lzma", "deputes.csv.lzma")


@dataclass
class OldKey:
    scope: str  # « cm:73187 »
    digest: str  # sha256 of « NOM|Prénom », 12 hex
    suffix: str  # « -2 » for a second homonym in the same place and function


def parse(ref: str) -> OldKey | None:
    parts = ref.split(":")
    if parts[0] in ("cm", "epci", "cd") and len(parts) == 4:
        scope, who = f"{parts[0]}:{parts[1]}", parts[3]
    elif parts[0] == "an" and len(parts) == 3 and len(parts[2].split("-")[0]) == 12:
        scope, who = f"an:{parts[1]}", parts[2]
    else:
        return None  # already a new key, or not a mandate's
    digest, _, number = who.partition("-")
    return OldKey(scope, digest, f"-{number}" if number else "")


def register_names(digests: set[str]) -> dict[str, tuple[str, str]]:
    """Old digest → (first name, surname) as the loader stores them, from the registers."""
    found: dict[str, tuple[str, str]] = {}
    registers.release()
    for name in REGISTER_FILES:
        for row in registers.rows(name):
            digest = hashlib.sha256(f"{row['nom']}|{row['prenom']}".encode()).hexdigest()[:12]
            if digest in digests and digest not in found:
                found[digest] = (person_name(row["prenom"]) or "—", person_name(row["nom"]))
    return found


def new_keys(rows: Iterable[dict[str, Any]], key: bytes) -> dict[int, str]:
    """Affiliation id → its new key, for rows of ``id``, ``source_ref``, ``end_date``,
    ``first_name`` and ``last_name`` (the contact's). Two old keys that meet in one new key
    (an adjoint become maire was two mandates, now one): the running one keeps it, the ended
    one gets a retired key (« ~id ») that no register entry matches."""
    rows = list(rows)
    parsed = {row["id"]: parse(row["source_ref"]) for row in rows}
    names = register_names({old.digest for old in parsed.values() if old is not None})
    wanted: dict[int, str] = {}
    for row in rows:
        old = parsed[row["id"]]
        if old is None:
            continue
        first, last = names.get(old.digest, (row["first_name"], row["last_name"]))
        wanted[row["id"]] = f"{old.scope}:{registers.person_digest(key, first, last)}{old.suffix}"
    result: dict[int, str] = {}
    taken: set[str] = {r["source_ref"] for r in rows if parsed[r["id"]] is None}
    running_first = sorted(rows, key=lambda r: (r["end_date"] is not None, r["id"]))
    for row in running_first:
        ref = wanted.get(row["id"])
        if ref is None:
            continue
        if ref in taken:
            ref = f"{ref}~{row['id']}"
        taken.add(ref)
        result[row["id"]] = ref
    return result
