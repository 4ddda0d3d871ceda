"""Inhabitants registered to public meetings (#22), kept apart from partners' contacts.

A public meeting with ``registration_open`` takes registrations on ``/participer/{id}`` from
anyone: a name or pseudonym, a commune, an optional email for a reminder, and the consent
(which text, when). Past ``capacity`` they join the waiting list. Registrations are deleted
``retention_days`` after the meeting (the sender's loop and ``maillage habitants purger``); the
audit log records counts and statuses, never a name, a commune or an address.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from maillage.actor import Actor
from maillage.crm import audit, reach
from maillage.crm.registry import visible_meeting
from maillage.db import read_transaction, write_transaction
from maillage.errors import Conflict, FieldError, InvalidData, NotFound
from maillage.french import plural
from maillage.tables import InhabitantRegistration, Meeting
from maillage.vocabulary import CANCELLED, DRAFT, HELD, REGISTRATION_STATUSES

REGISTERED = "inscrit"
WAITING = "attente"
WITHDRAWN = "annule"
STATUSES = REGISTRATION_STATUSES
ENTITY = "inhabitant_registration"
LABEL = "Inscription"
PUBLIC_PAGE = Actor(name="page-participer", role="lecteur")
RETENTION = Actor(name="conservation", role="admin")

# The consent shown on the page; a new wording gets a new version, the old rows keep theirs.
# « participer-2026-12 » promised only the confirmation mail: its registrations get the
# cancellation notice (organising the meeting) but no reminder.
CONSENT_VERSION = "participer-2026-12-rappel"
CONSENT_TEXT = (
    "J'accepte que ces informations soient utilisées pour organiser cette réunion (liste des "
    "inscrits ; si j'ai donné mon adresse électronique : confirmation, rappel deux jours "
    "avant et avis en cas d'annulation, par courriel). Elles sont effacées automatiquement "
    "après la durée de conservation indiquée, et je peux demander leur suppression à tout "
    "moment auprès de l'organisateur."
)
REMINDER_CONSENTS = frozenset({CONSENT_VERSION})
"""The consent versions that promise the reminder two days before."""
NAME_MAX = 100
COMMUNE_MAX = 100
EMAIL_MAX = 254

MEETING_COLUMNS = (
    Meeting.id,
    Meeting.title,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.location,
    Meeting.status,
    Meeting.is_public,
    Meeting.registration_open,
    Meeting.capacity,
    Meeting.retention_days,
    Meeting.attendance_count,
    Meeting.working_group.name.as_alias("group_name"),
    Meeting.working_group.kind.as_alias("group_kind"),
)
ROW_COLUMNS = (
    InhabitantRegistration.id,
    InhabitantRegistration.version,
    InhabitantRegistration.meeting,
    InhabitantRegistration.name,
    InhabitantRegistration.commune,
    InhabitantRegistration.email,
    InhabitantRegistration.status,
    InhabitantRegistration.consent_text,
    InhabitantRegistration.consent_at,
    InhabitantRegistration.created_at,
)


@dataclass(frozen=True)
class RegistrationForm:
    """What an inhabitant typed, as text (the page and the API give strings)."""

    name: str
    commune: str
    email: str = ""
    consent: bool = False


@dataclass(frozen=True)
class Registered:
    """The outcome the confirmation page and mail show."""

    id: int
    status: str
    waiting_rank: int | None
    meeting: dict[str, Any]
    name: str
    email: str | None


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_open(meeting: dict[str, Any] | None, moment: dt.datetime) -> bool:
    """Public, registration on, not cancelled, draft or held, and not begun yet."""
    return (
        meeting is not None
        and bool(meeting["is_public"])
        and bool(meeting["registration_open"])
        and meeting["status"] not in (CANCELLED, DRAFT, HELD)
        and meeting["starts_at"] > moment
    )


def expires_on(meeting: dict[str, Any]) -> dt.datetime:
    expires: dt.datetime = meeting["ends_at"] + dt.timedelta(days=meeting["retention_days"])
    return expires


async def _meeting(meeting_id: int, lock: bool = False) -> dict[str, Any] | None:
    # A meeting of another territory is not found by a user limited to theirs (#20); the
    # public pages run without a user, so they reach every public meeting. Registrations of
    # one meeting take turns on its row.
    found: dict[str, Any] | None = await visible_meeting(meeting_id, *MEETING_COLUMNS, lock=lock)
    return found


async def meeting_of(meeting_id: int) -> dict[str, Any]:
    meeting = await _meeting(meeting_id)
    if meeting is None:
        raise NotFound("Réunion", meeting_id)
    return meeting


async def open_meeting(meeting_id: int, moment: dt.datetime | None = None) -> dict[str, Any] | None:
    """The meeting a stranger may register to, or None (unknown, not public, or closed)."""
    async with read_transaction():
        meeting = await _meeting(meeting_id)
    return meeting if is_open(meeting, moment or now()) else None


def _clean(text: str, limit: int) -> str:
    """One line of printable text: control and format characters dropped, spaces squeezed."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[: limit + 1]


async def is_full(meeting: dict[str, Any]) -> bool:
    """Every place taken: the next registration goes to the waiting list."""
    if meeting["capacity"] is None:
        return False
    taken = await InhabitantRegistration.count().where(
        (InhabitantRegistration.meeting == meeting["id"])
        & (InhabitantRegistration.status == REGISTERED)
    )
    full: bool = taken >= meeting["capacity"]
    return full


def check_form(form: RegistrationForm) -> tuple[str, str, str | None]:
    """The cleaned name, commune and email, or ``InvalidData`` naming each wrong field."""
    errors = []
    name = _clean(form.name, NAME_MAX)
    commune = _clean(form.commune, COMMUNE_MAX)
    if not name:
        errors.append(FieldError("nom", "Indiquez votre nom ou un pseudonyme."))
    elif len(name) > NAME_MAX:
        errors.append(FieldError("nom", f"Le nom est limité à {NAME_MAX} caractères."))
    if not commune:
        errors.append(FieldError("commune", "Indiquez votre commune."))
    elif len(commune) > COMMUNE_MAX:
        errors.append(FieldError("commune", f"La commune est limitée à {COMMUNE_MAX} caractères."))
    email: str | None = form.email.strip() or None
    if email is not None:
        try:
            if len(email) > EMAIL_MAX:
                raise EmailNotValidError("too long")
            valid = validate_email(email, check_deliverability=False, allow_smtputf8=False)
            email = valid.ascii_email or valid.normalized
        except EmailNotValidError:
            errors.append(
                FieldError(
                    "courriel",
                    "Adresse électronique invalide (exemple : prenom.nom@exemple.fr), "
                    "ou laissez ce champ vide.",
                )
            )
    if not form.consent:
        errors.append(FieldError("consentement", "Cochez la case d'accord pour vous inscrire."))
    if errors:
        raise InvalidData(errors)
    return name, commune, email


async def register(
    meeting_id: int, form: RegistrationForm, moment: dt.datetime | None = None
) -> Registered:
    """Register an inhabitant: a place while there is one, else the waiting list.

    The count and the insert run in one write transaction (SQLite ``BEGIN IMMEDIATE``,
    PostgreSQL a lock on the meeting's row), so the registered never exceed the capacity."""
    moment = moment or now()
    name, commune, email = check_form(form)
    async with write_transaction():
        meeting = await _meeting(meeting_id, lock=True)
        if not is_open(meeting, moment):
            raise NotFound("Réunion publique", meeting_id)
        assert meeting is not None
        taken = await InhabitantRegistration.count().where(
            (InhabitantRegistration.meeting == meeting_id)
            & (InhabitantRegistration.status == REGISTERED)
        )
        full = meeting["capacity"] is not None and taken >= meeting["capacity"]
        status = WAITING if full else REGISTERED
        row = InhabitantRegistration(
            meeting=meeting_id,
            name=name,
            commune=commune,
            email=email,
            consent_text=CONSENT_VERSION,
            consent_at=moment,
            status=status,
        )
        await row.save()
        rank = None
        if full:
            rank = await InhabitantRegistration.count().where(
                (InhabitantRegistration.meeting == meeting_id)
                & (InhabitantRegistration.status == WAITING)
                & (InhabitantRegistration.id <= row.id)
            )
        await audit.record(
            PUBLIC_PAGE, "create", ENTITY, row.id, {"meeting": meeting_id, "status": status}
        )
    return Registered(row.id, status, rank, meeting, name, email)


def registrations_summary(
    registered: int, capacity: int | None, waiting: int, cancelled: int
) -> str:
    """« 2 personnes inscrites sur 2 places, 1 personne en liste d'attente »: the one sentence
    of the meeting page and the command line, which names only the counts that are not zero."""
    if registered:
        head = plural(registered, "personne inscrite", "personnes inscrites")
        head += "" if capacity is None else f" sur {plural(capacity, 'place')}"
    else:
        head = "Aucune inscription pour l'instant"
        head += "" if capacity is None else f" ({plural(capacity, 'place')})"
    parts = [head]
    if waiting:
        parts.append(plural(waiting, "personne en liste d'attente", "personnes en liste d'attente"))
    if cancelled:
        parts.append(plural(cancelled, "annulation"))
    return ", ".join(parts)


async def meeting_registrations(meeting_id: int) -> dict[str, Any]:
    """The registrations of a meeting for its coordinators, with their counts."""
    async with read_transaction():
        meeting = await _meeting(meeting_id)
        if meeting is None:
            raise NotFound("Réunion", meeting_id)
        rows = await (
            InhabitantRegistration.select(*ROW_COLUMNS)
            .where(InhabitantRegistration.meeting == meeting_id)
            .order_by(InhabitantRegistration.id)
        )
    counts = {status: sum(r["status"] == status for r in rows) for status in STATUSES}
    capacity = meeting["capacity"]
    return {
        "summary": registrations_summary(
            counts[REGISTERED], capacity, counts[WAITING], counts[WITHDRAWN]
        ),
        "meeting": meeting,
        "items": rows,
        "registered": counts[REGISTERED],
        "waiting": counts[WAITING],
        "cancelled": counts[WITHDRAWN],
        "capacity": capacity,
        "places_left": None if capacity is None else max(capacity - counts[REGISTERED], 0),
        "open": is_open(meeting, now()),
        "expires_at": expires_on(meeting),
    }


async def _change_status(
    actor: Actor, registration_id: int, wanted: str, allowed_from: tuple[str, ...]
) -> dict[str, Any]:
    async with write_transaction():
        row = (
            await InhabitantRegistration.select(*ROW_COLUMNS)
            .where(InhabitantRegistration.id == registration_id)
            .first()
        )
        if row is None:
            raise NotFound(LABEL, registration_id)
        meeting = await _meeting(row["meeting"], lock=True)
        if meeting is None:  # another territory's meeting (#20)
            raise NotFound(LABEL, registration_id)
        await reach.check_meeting_writable(row["meeting"])
        if row["status"] not in allowed_from:
            raise Conflict(
                f"Cette inscription est déjà « {STATUSES[row['status']].lower()} » : "
                "rechargez la page."
            )
        if wanted == REGISTERED and meeting["capacity"] is not None:
            taken = await InhabitantRegistration.count().where(
                (InhabitantRegistration.meeting == row["meeting"])
                & (InhabitantRegistration.status == REGISTERED)
            )
            if taken >= meeting["capacity"]:
                raise Conflict(
                    "La réunion est complète : augmentez la capacité ou annulez d'abord une "
                    "inscription."
                )
        await InhabitantRegistration.update(
            {
                InhabitantRegistration.status: wanted,
                InhabitantRegistration.version: InhabitantRegistration.version + 1,
                InhabitantRegistration.updated_at: now(),
            }
        ).where(InhabitantRegistration.id == registration_id)
        await audit.record(
            actor,
            "update",
            ENTITY,
            registration_id,
            {"meeting": row["meeting"], "status": [row["status"], wanted]},
        )
    return {**row, "status": wanted, "version": row["version"] + 1}


async def cancel(actor: Actor, registration_id: int) -> dict[str, Any]:
    return await _change_status(actor, registration_id, WITHDRAWN, (REGISTERED, WAITING))


async def promote(actor: Actor, registration_id: int) -> dict[str, Any]:
    """From the waiting list (or a cancellation) to a place, while one is left."""
    return await _change_status(actor, registration_id, REGISTERED, (WAITING, WITHDRAWN))


async def expired_meetings(moment: dt.datetime) -> list[dict[str, Any]]:
    """Meetings holding registrations past their retention period."""
    async with read_transaction():
        ids = await InhabitantRegistration.select(InhabitantRegistration.meeting).distinct()
        if not ids:
            return []
        meetings = await Meeting.select(*MEETING_COLUMNS).where(
            Meeting.id.is_in([r["meeting"] for r in ids])
        )
    return [m for m in meetings if expires_on(m) <= moment]


async def purge_expired(
    actor: Actor = RETENTION, moment: dt.datetime | None = None
) -> dict[int, int]:
    """Delete the registrations whose retention has passed: ``{meeting id: rows deleted}``.
    The audit log keeps the count per meeting, no personal data."""
    moment = moment or now()
    done: dict[int, int] = {}
    for meeting in await expired_meetings(moment):
        async with write_transaction():
            deleted = (
                await InhabitantRegistration.delete()
                .where(InhabitantRegistration.meeting == meeting["id"])
                .returning(InhabitantRegistration.id)
            )
            if deleted:
                await audit.record(
                    actor,
                    "purge",
                    ENTITY,
                    None,
                    {
                        "meeting": meeting["id"],
                        "deleted": len(deleted),
                        "retention_days": meeting["retention_days"],
                    },
                )
        if deleted:
            done[meeting["id"]] = len(deleted)
    return done
