"""French labels of the codes stored in the database."""

from __future__ import annotations

GROUP_KINDS = {
    "copil": "Comité de pilotage",
    "cotech": "Comité technique",
    "commission_thematique": "Commission thématique",
    "commission_territoriale": "Commission territoriale",
    "groupe_travail": "Groupe de travail",
    "reseau": "Réseau professionnel",
}
ORGANISATION_KINDS = {
    "institution": "Institution",
    "collectivite": "Collectivité",
    "association": "Association",
    "operateur_dsp": "Opérateur en DSP",
    "etablissement": "Établissement ou service",
    "entreprise": "Entreprise",
    "autre": "Autre",
}
ACTION_STATUSES = {
    "a_lancer": "À lancer",
    "en_cours": "En cours",
    "realisee": "Réalisée",
    "abandonnee": "Abandonnée",
}
MEETING_STATUSES = {
    "tenue": "Tenue",
    "annulee": "Annulée",
    "planifiee": "Planifiée",
    "brouillon": "Brouillon",
}
INTERACTION_KINDS = {
    "appel": "appel",
    "visite": "visite",
    "rendez_vous": "rendez-vous",
    "courriel": "courriel",
    "evenement": "événement",
    "autre": "échange",
}
NO_AXIS = "Transversal (sans axe)"
