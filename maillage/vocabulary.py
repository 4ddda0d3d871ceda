"""Every code maillage stores, once, with its French label (and its colour where it is drawn).

The schema types (``crm/schemas.py``), the form choices of the pages, the import synonyms and the
export headers of ``exchange``, the labels of the reports and the legend of the network drawing
are all read from here, so that a code is spelt once and a label cannot disagree with itself
between a page, a workbook and an export (#17).

Each vocabulary is a ``Literal`` type (the API's schemas) and a label table keyed by the same
codes, in the same order: `_check` below refuses, at import time, a table that disagrees.
The constants name the codes the services test by hand (``status == HELD``), so that a typo is
an ``AttributeError`` rather than a silent ``False``.

Wording choices, where the modules used to disagree:
- « Opérateur en DSP » rather than « Opérateur DSP »: the operator works *under* a public
  service delegation; « Opérateur DSP » remains an import synonym.
- « Réseau professionnel » rather than « Réseau »: the application already has a « Réseau »
  (the partners' network page and drawing); a body of kind ``reseau`` is a professionals'
  network, and « Réseau » alone remains an import synonym.
- « Établissement ou service » (the social and medico-social « ESMS » wording);
  « Établissement » is a synonym.
- « Animateur, animatrice » rather than « Animateur(trice) »: both words written out; so are
  « Président, présidente », « Suppléant, suppléante » and « Invité permanent, invitée
  permanente » (#21: no « (e) » anywhere; the old labels remain import synonyms).
- Attendance in neutral nouns, « Présence », « Absence », « Absence excusée », rather than
  « Présent(e) »: they read alone in a « Présence » column and on the attendance form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

# --- Organisations -------------------------------------------------------------------------

OrganisationKind = Literal[
    "institution", "collectivite", "association", "operateur_dsp", "etablissement",
    "entreprise", "autre",
]  # fmt: skip
ORGANISATION_KINDS: Final[dict[str, str]] = {
    "institution": "Institution",
    "collectivite": "Collectivité",
    "association": "Association",
    "operateur_dsp": "Opérateur en DSP",
    "etablissement": "Établissement ou service",
    "entreprise": "Entreprise",
    "autre": "Autre",
}
# The colours of the network drawing's legend (Tableau 10, readable on white).
ORGANISATION_KIND_COLOURS: Final[dict[str, str]] = {
    "institution": "#1f77b4",
    "collectivite": "#2ca02c",
    "association": "#ff7f0e",
    "operateur_dsp": "#9467bd",
    "etablissement": "#17becf",
    "entreprise": "#8c564b",
    "autre": "#7f7f7f",
}
COLLECTIVITY: Final = "collectivite"
DSP_OPERATOR: Final = "operateur_dsp"

PartnershipKind = Literal["convention", "cofinancement", "partenariat", "delegation_dsp", "autre"]
PARTNERSHIP_KINDS: Final[dict[str, str]] = {
    "convention": "Convention",
    "cofinancement": "Cofinancement",
    "partenariat": "Partenariat",
    "delegation_dsp": "Délégation de service public",
    "autre": "Autre",
}

# --- Bodies (instances) and their members ----------------------------------------------------

GroupKind = Literal[
    "copil", "cotech", "commission_thematique", "commission_territoriale", "groupe_travail",
    "reseau",
]  # fmt: skip
GROUP_KINDS: Final[dict[str, str]] = {
    "copil": "Comité de pilotage",
    "cotech": "Comité technique",
    "commission_thematique": "Commission thématique",
    "commission_territoriale": "Commission territoriale",
    "groupe_travail": "Groupe de travail",
    "reseau": "Réseau professionnel",
}
COPIL: Final = "copil"
COTECH: Final = "cotech"

MembershipRole = Literal[
    "president", "copilote", "animateur", "titulaire", "suppleant", "invite_permanent", "membre"
]
ROLES: Final[dict[str, str]] = {
    "president": "Président, présidente",
    "copilote": "Copilote",
    "animateur": "Animateur, animatrice",
    "titulaire": "Titulaire",
    "suppleant": "Suppléant, suppléante",
    "invite_permanent": "Invité permanent, invitée permanente",
    "membre": "Membre",
}
PRESIDENT: Final = "president"
TITULAR: Final = "titulaire"
SUBSTITUTE: Final = "suppleant"
MEMBER: Final = "membre"

# --- Meetings, invitations, attendance -------------------------------------------------------

MeetingStatus = Literal["brouillon", "planifiee", "annulee", "tenue"]
MEETING_STATUSES: Final[dict[str, str]] = {
    "brouillon": "Brouillon",
    "planifiee": "Planifiée",
    "annulee": "Annulée",
    "tenue": "Tenue",
}
DRAFT: Final = "brouillon"
PLANNED: Final = "planifiee"
CANCELLED: Final = "annulee"
HELD: Final = "tenue"

Response = Literal["en_attente", "acceptee", "declinee", "incertaine"]
RESPONSES: Final[dict[str, str]] = {
    "en_attente": "En attente",
    "acceptee": "Acceptée",
    "declinee": "Déclinée",
    "incertaine": "Incertaine",
}
# What a guest reads on the answer buttons of an invitation and on the answer page.
ANSWER_LABELS: Final[dict[str, str]] = {
    "en_attente": "Pas encore de réponse",
    "acceptee": "Je participe",
    "declinee": "Je ne participe pas",
    "incertaine": "Peut-être",
}
# The word of the answer links (« ?reponse=oui ») for each answer a guest can give.
ANSWER_WORDS: Final[dict[str, str]] = {
    "oui": "acceptee",
    "non": "declinee",
    "peut-etre": "incertaine",
}
PENDING: Final = "en_attente"
ACCEPTED: Final = "acceptee"
DECLINED: Final = "declinee"
UNSURE: Final = "incertaine"

Attendance = Literal["present", "absent", "excuse"]
ATTENDANCE: Final[dict[str, str]] = {
    "present": "Présence",
    "absent": "Absence",
    "excuse": "Absence excusée",
}
PRESENT: Final = "present"
ABSENT: Final = "absent"
EXCUSED: Final = "excuse"

# --- The outbox: messages waiting, sent or given up ------------------------------------------

OutboxStatus = Literal["preparation", "en_attente", "envoi", "envoye", "echec", "annule"]
# Inside a sentence: « Message envoyé : … ».
OUTBOX_STATUSES: Final[dict[str, str]] = {
    "preparation": "en préparation",
    "en_attente": "en attente",
    "envoi": "en cours d'envoi",
    "envoye": "envoyé",
    "echec": "échec",
    "annule": "annulé",
}
OUTBOX_KINDS: Final[dict[str, str]] = {
    "invitation": "Invitation",
    "modification": "Modification",
    "annulation": "Annulation",
    "rappel": "Rappel",
    "relance": "Relance des personnes sans réponse",
    "compte_rendu": "Compte rendu",
    "envoi_groupe": "Envoi groupé",
    "inscription": "Inscription d'un habitant",
}

# Where an invitee's answer came from (Invitation.response_source).
ResponseSource = Literal["lien", "agenda", "agenda_ancien", "message_a_examiner"]
RESPONSE_SOURCES: Final[dict[str, str]] = {
    "lien": "lien",
    "agenda": "agenda",
    # A calendar answer to an earlier version of the invitation (before a move): recorded,
    # shown as such, to be confirmed.
    "agenda_ancien": "agenda, version antérieure",
    # An answer the coordinator attached by hand from the meeting page (#19).
    "message_a_examiner": "message à examiner",
}

# What the mailbox reader made of a message it moved (InboundMessage.outcome).
InboundOutcome = Literal[
    "reponse",
    "echec_definitif",
    "echec_temporaire",
    "reponse_auto",
    "a_examiner",
    "contre_proposition",
]
INBOUND_OUTCOMES: Final[dict[str, str]] = {
    "reponse": "réponse d'agenda enregistrée",
    "echec_definitif": "adresse en échec",
    "echec_temporaire": "échec temporaire de distribution",
    "reponse_auto": "réponse automatique",
    "a_examiner": "à examiner",
    "contre_proposition": "nouvel horaire proposé",
}

# --- Activity: exchanges with partners and action sheets -------------------------------------

InteractionKind = Literal["appel", "visite", "rendez_vous", "courriel", "evenement", "autre"]
INTERACTION_KINDS: Final[dict[str, str]] = {
    "appel": "Appel",
    "visite": "Visite",
    "rendez_vous": "Rendez-vous",
    "courriel": "Courriel",
    "evenement": "Événement",
    "autre": "Autre échange",
}

ActionStatus = Literal["a_lancer", "en_cours", "realisee", "abandonnee"]
ACTION_STATUSES: Final[dict[str, str]] = {
    "a_lancer": "À lancer",
    "en_cours": "En cours",
    "realisee": "Réalisée",
    "abandonnee": "Abandonnée",
}
TO_START: Final = "a_lancer"
IN_PROGRESS: Final = "en_cours"
OPEN_ACTION_STATUSES: Final = (TO_START, IN_PROGRESS)
NO_AXIS: Final = "Transversal (sans axe)"

# Decisions of a steering committee or a commission, followed until done (#22).
DecisionStatus = Literal["a_faire", "en_cours", "faite", "abandonnee"]
DECISION_STATUSES: Final[dict[str, str]] = {
    "a_faire": "À faire",
    "en_cours": "En cours",
    "faite": "Faite",
    "abandonnee": "Abandonnée",
}
# The yearly evaluation of a fiche action: what to do next, and who pays (#22).
EvaluationDecision = Literal["poursuivre", "ajuster", "arreter"]
EVALUATION_DECISIONS: Final[dict[str, str]] = {
    "poursuivre": "Poursuivre",
    "ajuster": "Ajuster",
    "arreter": "Arrêter",
}
Financer = Literal["caf", "commune", "epci", "departement", "etat", "region", "autre"]
FINANCERS: Final[dict[str, str]] = {
    "caf": "Caf",
    "commune": "Commune",
    "epci": "Intercommunalité (EPCI)",
    "departement": "Département",
    "etat": "État",
    "region": "Région",
    "autre": "Autre financeur",
}
DECISION_TO_DO: Final = "a_faire"
DECISION_DONE: Final = "faite"
OPEN_DECISION_STATUSES: Final = ("a_faire", "en_cours")

# Inhabitants registered to a public meeting (#22).
RegistrationStatus = Literal["inscrit", "attente", "annule"]
REGISTRATION_STATUSES: Final[dict[str, str]] = {
    "inscrit": "Inscrit",
    "attente": "Liste d'attente",
    "annule": "Annulé",
}

# --- People and accounts ---------------------------------------------------------------------

LegalBasis = Literal["mission_interet_public", "consentement"]
LEGAL_BASES: Final[dict[str, str]] = {
    "mission_interet_public": "Mission d'intérêt public",
    "consentement": "Consentement",
}

Civility = Literal["", "Mme", "M."]
CIVILITIES: Final[dict[str, str]] = {"": "—", "Mme": "Mme", "M.": "M."}

UserRole = Literal["admin", "coordinateur", "lecteur"]
USER_ROLES: Final[dict[str, str]] = {
    "admin": "Administration",
    "coordinateur": "Coordination",
    "lecteur": "Lecture seule",
}
ADMIN: Final = "admin"
COORDINATOR: Final = "coordinateur"
READER: Final = "lecteur"

SchoolZone = Literal["A", "B", "C"]

# --- The journal: what was done, to which kind of record ------------------------------------

AUDIT_ACTIONS: Final[dict[str, str]] = {
    "create": "Création",
    "update": "Modification",
    "delete": "Suppression",
    "archive": "Archivage",
    "restore": "Restauration",
    "revoke": "Révocation",
    "login": "Connexion",
    "login_failed": "Échec de connexion",
    "change_password": "Changement de mot de passe",
    "reset_password": "Mot de passe temporaire",
    "unlock_sign_in": "Déblocage de la connexion",
    "export": "Export",
    "purge": "Effacement en fin de conservation",
}
ENTITIES: Final[dict[str, str]] = {
    "organisation": "Organisation",
    "contact": "Contact",
    "affiliation": "Rattachement",
    "working_group": "Instance",
    "membership": "Participation",
    "meeting": "Réunion",
    "invitation": "Invitation",
    "partnership": "Partenariat",
    "user": "Utilisateur",
    "session": "Session",
    "api_token": "Jeton d'API",
    "commune": "Commune",
    "territory": "Territoire",
    "axis": "Axe",
    "interaction": "Échange",
    "action": "Fiche action",
    "inhabitant_registration": "Inscription d'habitant",
    "consultation": "Consultation des habitants",
    "commune_indicator": "Indicateur communal",
    "commune_childcare": "Petite enfance de la commune",
}

# --- Import synonyms: words people write for a code that are not its label --------------------

SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "copil": ("COPIL",),
    "cotech": ("COTECH",),
    "reseau": ("Réseau",),
    "president": ("Président", "Présidente", "Président(e)"),
    "animateur": ("Animateur", "Animatrice", "Animateur(trice)"),
    "suppleant": ("Suppléant", "Suppléante", "Suppléant(e)"),
    "invite_permanent": ("Invité permanent", "Invitée permanente", "Invité(e) permanent(e)"),
    "collectivite": ("Commune", "Mairie", "EPCI"),
    "operateur_dsp": ("Opérateur DSP", "DSP", "Délégataire"),
    "etablissement": ("Établissement",),
    "present": ("Présent", "Présente", "Présent(e)"),
    "absent": ("Absent", "Absente", "Absent(e)"),
    "excuse": ("Excusé", "Excusée", "Excusé(e)"),
    "mission_interet_public": ("Intérêt public", "Mission de service public"),
}


def in_sentence(label: str) -> str:
    """« opérateur en DSP »: a label inside a sentence (first letter only, acronyms kept)."""
    return label[:1].lower() + label[1:]


def _check(literal: object, labels: Mapping[str, str]) -> None:
    """Each code of the type has a label, and no label names a code the type lacks."""
    codes = get_args(literal)
    if set(codes) != set(labels) or list(codes) != list(labels):
        raise AssertionError(f"codes {codes} != labels {tuple(labels)}")


for _literal, _labels in (
    (OrganisationKind, ORGANISATION_KINDS),
    (OrganisationKind, ORGANISATION_KIND_COLOURS),
    (PartnershipKind, PARTNERSHIP_KINDS),
    (GroupKind, GROUP_KINDS),
    (MembershipRole, ROLES),
    (MeetingStatus, MEETING_STATUSES),
    (Response, RESPONSES),
    (Response, ANSWER_LABELS),
    (Attendance, ATTENDANCE),
    (InteractionKind, INTERACTION_KINDS),
    (ActionStatus, ACTION_STATUSES),
    (DecisionStatus, DECISION_STATUSES),
    (EvaluationDecision, EVALUATION_DECISIONS),
    (Financer, FINANCERS),
    (RegistrationStatus, REGISTRATION_STATUSES),
    (OutboxStatus, OUTBOX_STATUSES),
    (ResponseSource, RESPONSE_SOURCES),
    (InboundOutcome, INBOUND_OUTCOMES),
    (LegalBasis, LEGAL_BASES),
    (Civility, CIVILITIES),
    (UserRole, USER_ROLES),
):
    _check(_literal, _labels)


# Commune-level figures imported from files (#18): code → French label. The coverage rate is
# computed, never imported: places in EAJE per 100 children under 3.
COMMUNE_INDICATORS: dict[str, str] = {
    "places_eaje": "Places en EAJE",
    "places_assistants_maternels": "Places chez les assistants maternels",
    "enfants_moins_3_ans": "Enfants de moins de 3 ans",
    "allocataires": "Allocataires de la Caf",
    "beneficiaires_paje": "Bénéficiaires de la PAJE",
}
COVERAGE_RATE = "taux_couverture_eaje"
COVERAGE_RATE_LABEL = "Places en EAJE pour 100 enfants de moins de 3 ans"
