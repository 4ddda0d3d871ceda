"""Rules of the registry's data, shared by API, pages, command line and imports.

Validators take the record's values (after the change) and the record before it (``None`` on
creation) and return ``FieldError``s whose French message says how to fix the value. Preparers
normalise values in place (a phone number to E.164, a SIRET without spaces) before validation.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from maillage import departements
from maillage.errors import FieldError
from maillage.tables import Affiliation, Commune, Contact, Meeting, Membership, WorkingGroup
from maillage.vocabulary import COMMUNE_INDICATORS, DECISION_DONE, HELD, PENDING, SUBSTITUTE

if TYPE_CHECKING:
    from maillage.crm.resources import Validator

RNA_PATTERN = re.compile(r"^W\d{9}$")
UAI_PATTERN = re.compile(r"^\d{7}[A-Z]$")
INSEE_PATTERN = re.compile(r"^(\d{5}|2[AB]\d{3})$")
SIREN_PATTERN = re.compile(r"^\d{9}$")
SIRET_PATTERN = re.compile(r"^\d{14}$")
PARIS = "Europe/Paris"

NOT_STARTED = (
    "Cette réunion n'a pas encore commencé : elle ne peut être marquée « tenue », "
    "ni ses présences notées, qu'une fois commencée."
)


def _compact(value: str | None) -> str | None:
    if value is None:
        return None
    compact = re.sub(r"[\s.\-]", "", value)
    return compact or None


async def compact_identifiers(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    """« 130 005 481 00010 » and « 13000548100010 » are the same SIRET."""
    for name in ("siret", "siren", "rna", "uai"):
        if name in values and values[name] is not None:
            values[name] = (_compact(values[name]) or "").upper() or None


def siret_errors(value: str | None) -> list[FieldError]:
    if value is None:
        return []
    if not SIRET_PATTERN.match(value):
        return [
            FieldError("siret", "Le SIRET compte 14 chiffres (9 du SIREN, 5 de l'établissement).")
        ]
    if not stdnum_siret.is_valid(value):
        return [
            FieldError(
                "siret", "SIRET invalide (clé de contrôle fausse) : vérifiez chaque chiffre."
            )
        ]
    return []


def siren_errors(value: str | None) -> list[FieldError]:
    if value is None:
        return []
    if not SIREN_PATTERN.match(value):
        return [FieldError("siren", "Le SIREN compte 9 chiffres.")]
    if not stdnum_siren.is_valid(value):
        return [
            FieldError(
                "siren", "SIREN invalide (clé de contrôle fausse) : vérifiez chaque chiffre."
            )
        ]
    return []


async def check_organisation_identifiers(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    errors = siret_errors(values.get("siret")) + siren_errors(values.get("siren"))
    siret, siren = values.get("siret"), values.get("siren")
    if siret and siren and not errors and siret[:9] != siren:
        errors.append(FieldError("siren", "Le SIREN doit être les 9 premiers chiffres du SIRET."))
    if values.get("rna") and not RNA_PATTERN.match(values["rna"]):
        errors.append(
            FieldError("rna", "Le numéro RNA s'écrit W suivi de 9 chiffres (W123456789).")
        )
    if values.get("uai") and not UAI_PATTERN.match(values["uai"]):
        errors.append(
            FieldError("uai", "Le code UAI compte 7 chiffres suivis d'une lettre (0351234A).")
        )
    return errors


async def check_territory_identifiers(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    return siren_errors(values.get("siren"))


async def normalise_departement(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    """A territory's typed département (#20) as stored: « 2a » is « 2A », « 1 » is « 01 »."""
    if "departement" in values:
        values["departement"] = departements.normalised(values["departement"])


async def check_departement(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> list[FieldError]:
    """A known INSEE code; and, once the territory has communes, theirs (`maillage.departements`):
    a different one typed then is refused with the reason, not dropped without a word; the
    same one passes, so that a form saved unchanged always does."""
    if "departement" not in values:
        return []
    code = values["departement"]
    if code is not None and not departements.CODE.match(code):
        return [
            FieldError(
                "departement",
                f"Code de département inconnu « {code} » : indiquez son code INSEE, de 01 à 95 "
                "(2A ou 2B pour la Corse), ou de 971 à 976 outre-mer.",
            )
        ]
    if existing is None or code == existing.get("departement"):
        return []
    if not await Commune.exists().where(Commune.territory == existing["id"]):
        return []
    theirs = existing.get("departement") or "aucun"
    return [
        FieldError(
            "departement",
            f"Ce territoire a des communes : son département est celui de la majorité d'entre "
            f"elles (« {theirs} ») et ne se saisit pas.",
        )
    ]


async def check_indicator_code(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    if values.get("code") in COMMUNE_INDICATORS:
        return []
    known = ", ".join(COMMUNE_INDICATORS)
    return [FieldError("code", f"Indicateur inconnu « {values.get('code')} » (connus : {known}).")]


async def check_insee_code(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    code = values.get("insee_code") or ""
    if not INSEE_PATTERN.match(code):
        return [
            FieldError(
                "insee_code",
                "Le code INSEE d'une commune compte 5 caractères (35238, ou 2A004 en Corse).",
            )
        ]
    return []


async def normalise_email(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    if values.get("email") is not None:
        values["email"] = values["email"].strip() or None


async def forget_bounce_of_old_email(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> None:
    """A new address is given its chance (#19): the failure recorded for the old one goes."""
    if existing is None or existing.get("email_bounced_at") is None:
        return
    if (values.get("email") or "").strip().lower() != (existing.get("email") or "").strip().lower():
        values["email_bounced_at"] = None
        values["email_bounce_reason"] = None


async def lowercase_email(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    """Sign-in addresses compare case-insensitively."""
    if values.get("email"):
        values["email"] = values["email"].strip().lower()


# A scheme is letters then « : », not followed by a digit (« mairie.fr:8080 » is a port).
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):(?!\d)")
WEB_SCHEMES = {"http", "https"}


def check_web_addresses(*names: str) -> Validator:
    """Web addresses end up in links (invitation emails, pages): a « javascript: » or
    « data: » address would run when clicked. Only http(s), or an address without a scheme
    (« www.mairie.fr », as people type it), gets in."""

    async def check(values: dict[str, Any], _existing: dict[str, Any] | None) -> list[FieldError]:
        errors = []
        for name in names:
            match = _SCHEME.match(values.get(name) or "")
            if match and match[1].lower() not in WEB_SCHEMES:
                errors.append(
                    FieldError(
                        name,
                        f"Adresse web refusée (« {match[1]}: ») : elle doit commencer par "
                        "https:// ou http://.",
                    )
                )
        return errors

    return check


async def check_email(values: dict[str, Any], _existing: dict[str, Any] | None) -> list[FieldError]:
    address = values.get("email")
    if address is None:
        return []
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return [
            FieldError(
                "email", f"Adresse électronique invalide « {address} » (ex. : nom@mairie.fr)."
            )
        ]
    return []


async def normalise_phone(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    """Store E.164 (+33…), accept what people type (« 02 99 12 34 56 »)."""
    raw = values.get("phone")
    if raw is None or not raw.strip():
        values["phone"] = None
        return
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return
    if phonenumbers.is_valid_number(number):
        values["phone"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def check_phone(values: dict[str, Any], _existing: dict[str, Any] | None) -> list[FieldError]:
    phone = values.get("phone")
    if phone is None:
        return []
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(phone, "FR"))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid or not phone.startswith("+"):
        return [
            FieldError("phone", f"Numéro de téléphone invalide « {phone} » (ex. : 02 99 12 34 56).")
        ]
    return []


@functools.lru_cache(maxsize=4096)
def format_phone_fr(e164: str | None) -> str:
    """« +33299123456 » shown as « 02 99 12 34 56 ». Kept per number (#16): parsing and
    formatting a number costs 0.2 ms, four milliseconds for a partner page's twenty contacts."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, "FR")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def ordered_dates(start: str, end: str, label: str = "La date de fin") -> Validator:
    async def check(values: dict[str, Any], _existing: dict[str, Any] | None) -> list[FieldError]:
        first, last = values.get(start), values.get(end)
        if first is not None and last is not None and last < first:
            return [FieldError(end, f"{label} doit être postérieure ou égale à la date de début.")]
        return []

    return check


async def one_evaluation_per_year(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    years = [evaluation["year"] for evaluation in values.get("evaluations") or []]
    repeated = sorted({year for year in years if years.count(year) > 1})
    if repeated:
        listed = ", ".join(str(year) for year in repeated)
        return [FieldError("evaluations", f"Une seule évaluation par année ({listed} en double).")]
    return []


async def check_meeting_times(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    errors = []
    for name in ("starts_at", "ends_at"):
        moment = values.get(name)
        if isinstance(moment, dt.datetime) and moment.tzinfo is None:
            errors.append(
                FieldError(
                    name,
                    "Indiquez le fuseau horaire (ex. : 2026-12-08T14:00:00+01:00, heure de Paris).",
                )
            )
    if errors:
        return errors
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts is not None and ends is not None and ends <= starts:
        errors.append(FieldError("ends_at", "La réunion doit finir après son début."))
    return errors


async def check_meeting_held(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> list[FieldError]:
    """« Tenue » counts in attendance rates and the bilan: only once the meeting has begun."""
    starts = values.get("starts_at")
    if values.get("status") != HELD or not isinstance(starts, dt.datetime):
        return []
    if starts.tzinfo is not None and starts > dt.datetime.now(dt.UTC):
        return [FieldError("status", NOT_STARTED)]
    return []


async def check_meeting_registration(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> list[FieldError]:
    """Inhabitants register and answer consultations only on public meetings (#22)."""
    if values.get("is_public"):
        return []
    errors = []
    if values.get("registration_open"):
        errors.append(
            FieldError(
                "registration_open",
                "Les inscriptions en ligne ne s'ouvrent que pour une réunion publique.",
            )
        )
    if values.get("consultation_open"):
        errors.append(
            FieldError(
                "consultation_open",
                "La consultation en ligne ne s'ouvre que pour une réunion publique.",
            )
        )
    return errors


async def check_meeting_group(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> list[FieldError]:
    changed = existing is None or existing.get("working_group") != values.get("working_group")
    if not changed or values.get("working_group") is None:
        return []
    group = (
        await WorkingGroup.select(WorkingGroup.archived)
        .where(WorkingGroup.id == values["working_group"])
        .first()
        .run()
    )
    if group is not None and group["archived"]:
        return [FieldError("working_group", "Cette instance est archivée : restaurez-la d'abord.")]
    return []


async def check_membership(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> list[FieldError]:
    """A membership needs an active contact and group; a suppléant stands beside a titulaire."""
    errors: list[FieldError] = []
    before = existing or {}
    is_new = existing is None
    if is_new or before.get("contact") != values.get("contact"):
        contact = (
            await Contact.select(Contact.archived)
            .where(Contact.id == values["contact"])
            .first()
            .run()
        )
        if contact is not None and contact["archived"]:
            errors.append(
                FieldError("contact", "Ce contact est archivé : restaurez-le avant de l'ajouter.")
            )
    if is_new or before.get("working_group") != values.get("working_group"):
        group = (
            await WorkingGroup.select(WorkingGroup.archived, WorkingGroup.active)
            .where(WorkingGroup.id == values["working_group"])
            .first()
            .run()
        )
        if group is not None and (group["archived"] or not group["active"]):
            errors.append(FieldError("working_group", "Cette instance est archivée ou inactive."))
    errors += await _substitute_errors(values)
    return errors


async def _substitute_errors(values: dict[str, Any]) -> list[FieldError]:
    substitute_id = values.get("substitute")
    if substitute_id is None:
        return []
    if values.get("role") != "titulaire":
        return [FieldError("substitute", "Seul un titulaire peut avoir un suppléant.")]
    substitute = (
        await Membership.select(Membership.role, Membership.working_group, Membership.id)
        .where(Membership.id == substitute_id)
        .first()
        .run()
    )
    if substitute is None:
        return []
    if substitute["role"] != SUBSTITUTE or substitute["working_group"] != values["working_group"]:
        return [
            FieldError(
                "substitute",
                "Le suppléant doit être membre de la même instance avec le rôle « suppléant ».",
            )
        ]
    return []


async def default_start_today(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    if values.get("start_date") is None:
        values["start_date"] = dt.date.today()


async def check_single_primary(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> list[FieldError]:
    if not values.get("is_primary"):
        return []
    query = Affiliation.select(Affiliation.id).where(
        (Affiliation.contact == values["contact"]) & (Affiliation.is_primary == True)  # noqa: E712
    )
    if existing is not None:
        query = query.where(Affiliation.id != existing["id"])
    other = await query.first().run()
    if other is not None:
        return [
            FieldError(
                "is_primary",
                f"Ce contact a déjà un rattachement principal (n° {other['id']}) : "
                "retirez-lui ce statut d'abord.",
            )
        ]
    return []


async def ensure_meeting_uid(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """A meeting's iCalendar UID is given once and never reused."""
    if existing is None and not values.get("ical_uid"):
        values["ical_uid"] = f"{uuid.uuid4()}@maillage"


# A change of any of these must reach calendars and invitees that already hold the event
# (RFC 5546): the time and place, and also the title, agenda, video link and body, which an
# invitee reads in the calendar entry (a new video link unsent is a meeting missed). The minutes
# and the attendance count are not in the calendar entry.
SEQUENCED_FIELDS = (
    "starts_at",
    "ends_at",
    "location",
    "status",
    "title",
    "agenda",
    "video_url",
    "working_group",
)


async def bump_meeting_sequence(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    if existing is None:
        values.setdefault("ical_sequence", 0)
        return
    if values.get("status") == existing.get("status") == "annulee":
        return  # calendars already dropped it: a second CANCEL for a new title would be noise
    if any(values.get(name) != existing.get(name) for name in SEQUENCED_FIELDS):
        values["ical_sequence"] = existing["ical_sequence"] + 1


async def ensure_token_nonce(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """A new invitation gets its link's nonce; one re-pointed to another contact gets a new
    one, so the link mailed to the first person no longer answers for the second, and is
    sent afresh (answer and sending forgotten)."""
    if existing is None:
        values["token_nonce"] = secrets.token_urlsafe(16)
        return
    contact = values.get("contact", existing.get("contact"))
    if contact != existing.get("contact"):
        values["token_nonce"] = secrets.token_urlsafe(16)
        values.update(
            response=PENDING,
            answered_at=None,
            response_source=None,
            sent_at=None,
            sent_sequence=None,
            absent_until=None,
        )


async def decision_group_and_dates(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> None:
    """A decision taken in a meeting belongs to that meeting's body; one marked « faite »
    without a date was done today (#22)."""
    if values.get("meeting") is not None:
        meeting = (
            await Meeting.select(Meeting.working_group)
            .where(Meeting.id == values["meeting"])
            .first()
            .run()
        )
        if meeting is not None:
            values["working_group"] = meeting["working_group"]
    if values.get("status") == DECISION_DONE and values.get("done_on") is None:
        values["done_on"] = dt.date.today()


async def check_decision(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    if values.get("working_group") is None:
        return [
            FieldError(
                "working_group",
                "Indiquez la réunion où la décision a été prise, ou l'instance qui l'a prise.",
            )
        ]
    return []
