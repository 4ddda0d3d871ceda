"""Who performs an action: a signed-in user, or a named actor for what no user does directly."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "coordinateur", "lecteur")
ROLE_RANK = {"lecteur": 0, "coordinateur": 1, "admin": 2}


@dataclass(frozen=True)
class Actor:
    name: str
    role: str = "admin"
    user_id: int | None = None

    def can(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[role]


CLI = Actor(name="cli")
IMPORT = Actor(name="import")
ANSWER_LINK = Actor(name="lien-de-reponse", role="lecteur")
SENDER = Actor(name="envoi")
MAILBOX = Actor(name="boite-de-reception")
# Loads and refreshes from the public registers (#18) when no user asked (benchmarks, tests).
REGISTERS = Actor(name="repertoires-publics")
