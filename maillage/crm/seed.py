"""Seed data every territory starts with: the eight axes of a CTG (editable afterwards)."""

from __future__ import annotations

from maillage.crm.text import search_text
from maillage.tables import Axis

CTG_AXES = [
    ("petite_enfance", "Petite enfance"),
    ("enfance", "Enfance"),
    ("jeunesse", "Jeunesse"),
    ("parentalite", "Parentalité"),
    ("animation_vie_sociale", "Animation de la vie sociale"),
    ("acces_aux_droits", "Accès aux droits"),
    ("logement", "Logement"),
    ("inclusion_numerique", "Inclusion numérique"),
]


async def ensure_axes() -> int:
    """Create the missing CTG axes; returns how many were created. Idempotent."""
    existing = {row["code"] for row in await Axis.select(Axis.code).run()}
    missing = [
        Axis(code=code, name=name, position=position, search=search_text(name, code))
        for position, (code, name) in enumerate(CTG_AXES, start=1)
        if code not in existing
    ]
    if missing:
        await Axis.insert(*missing).run()
    return len(missing)
