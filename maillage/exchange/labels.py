"""French labels of the registry's codes, both ways: exports write them, imports read them.

Imports accept the code itself, the label, and the label without accents or case, so that
« Opérateur DSP », « operateur dsp » and « operateur_dsp » all mean the same kind.
"""

from __future__ import annotations

from maillage.crm.text import normalise

ORGANISATION_KINDS = {
    "institution": "Institution",
    "collectivite": "Collectivité",
    "association": "Association",
    "operateur_dsp": "Opérateur DSP",
    "etablissement": "Établissement",
    "entreprise": "Entreprise",
    "autre": "Autre",
}
GROUP_KINDS = {
    "copil": "Comité de pilotage",
    "cotech": "Comité technique",
    "commission_thematique": "Commission thématique",
    "commission_territoriale": "Commission territoriale",
    "groupe_travail": "Groupe de travail",
    "reseau": "Réseau",
}
ROLES = {
    "president": "Président(e)",
    "copilote": "Copilote",
    "animateur": "Animateur(trice)",
    "titulaire": "Titulaire",
    "suppleant": "Suppléant(e)",
    "invite_permanent": "Invité(e) permanent(e)",
    "membre": "Membre",
}
MEETING_STATUSES = {
    "brouillon": "Brouillon",
    "planifiee": "Planifiée",
    "annulee": "Annulée",
    "tenue": "Tenue",
}
RESPONSES = {
    "en_attente": "En attente",
    "acceptee": "Acceptée",
    "declinee": "Déclinée",
    "incertaine": "Incertaine",
}
ATTENDANCE = {"present": "Présent(e)", "absent": "Absent(e)", "excuse": "Excusé(e)"}
LEGAL_BASES = {
    "mission_interet_public": "Mission d'intérêt public",
    "consentement": "Consentement",
}

# Words people write for a code that is not its label.
_EXTRA_SYNONYMS = {
    "copil": ("COPIL",),
    "cotech": ("COTECH",),
    "president": ("Président", "Présidente"),
    "animateur": ("Animateur", "Animatrice"),
    "suppleant": ("Suppléant", "Suppléante"),
    "invite_permanent": ("Invité permanent", "Invitée permanente"),
    "collectivite": ("Commune", "Mairie", "EPCI"),
    "operateur_dsp": ("DSP", "Délégataire"),
    "present": ("Présent", "Présente"),
    "absent": ("Absente",),
    "excuse": ("Excusé", "Excusée"),
    "mission_interet_public": ("Intérêt public", "Mission de service public"),
}


def _reverse(labels: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, label in labels.items():
        for word in (code, label, code.replace("_", " "), *_EXTRA_SYNONYMS.get(code, ())):
            table[normalise(word)] = code
    return table


_REVERSE = {id(labels): _reverse(labels) for labels in (
    ORGANISATION_KINDS, GROUP_KINDS, ROLES, MEETING_STATUSES, RESPONSES, ATTENDANCE, LEGAL_BASES
)}  # fmt: skip


def code_for(labels: dict[str, str], text: str) -> str | None:
    """The code a person meant by ``text``, or None."""
    return _REVERSE[id(labels)].get(normalise(text))


def choices(labels: dict[str, str]) -> str:
    """« Institution, Collectivité, … » for an error message."""
    return ", ".join(f"« {label} »" for label in labels.values())
