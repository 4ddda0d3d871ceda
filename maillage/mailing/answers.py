"""Answers by link: the page a signed link opens, and the answer it records.

Opening the link (GET) only reads: mail security scanners open every link of every message, so
an answer is recorded only when the person presses the button (POST). The answer can be changed
as long as the meeting has not ended. A titulaire who cannot come may name their suppléant, or
another person of the same organisation, who is then invited in their place.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from maillage.actor import ANSWER_LINK
from maillage.crm import audit
from maillage.crm.resources import is_reference_gone, versioned
from maillage.db import Prepared, is_sqlite, read_statement, read_transaction, write_transaction
from maillage.errors import NotFound
from maillage.folding import fold
from maillage.mailing import tokens
from maillage.mailing.invitations import person_name, queue_one
from maillage.mailing.messages import MeetingInfo
from maillage.settings import Settings
from maillage.tables import Affiliation, Contact, Invitation, Meeting, Membership
from maillage.vocabulary import ANSWER_LABELS, ANSWER_WORDS, CANCELLED, DECLINED, PENDING

CHOICES = ANSWER_WORDS
RESPONSE_LABELS = ANSWER_LABELS


@dataclass
class Replacement:
    contact_id: int
    name: str
    detail: str
    email: str = ""

    @property
    def substitute(self) -> bool:
        return self.detail == SUBSTITUTE


SUBSTITUTE = "suppléance"


@dataclass
class AnswerPage:
    """What the answer page shows; ``state`` is ``ok``, ``invalide``, ``passee`` or ``annulee``."""

    state: str
    invitation_id: int | None = None
    meeting: MeetingInfo | None = None
    name: str = ""
    response: str = PENDING
    answered_at: dt.datetime | None = None
    replacements: list[Replacement] = field(default_factory=list)
    replaced_by: str | None = None

    @property
    def offered(self) -> list[Replacement]:
        """Whom the page names: the substitutes the body designated. Colleagues are chosen
        by typing their address, so the holder of a link learns no one's name from it."""
        return [r for r in self.replacements if r.substitute]

    @property
    def colleagues(self) -> bool:
        return any(not r.substitute for r in self.replacements)


_MEETING_COLUMNS = (
    "id",
    "ical_uid",
    "ical_sequence",
    "title",
    "starts_at",
    "ends_at",
    "location",
    "video_url",
    "agenda",
    "status",
    "minutes",
    "working_group",
)
# The invitation, its person's name, its meeting with its body's name and whether the person
# holds a titulaire's seat in that body today, in one statement read without a transaction: the
# link is opened by strangers and by every mail scanner, and each statement is a round trip to
# the database's thread (#16: 100 to 260 ms under load with five statements; on SQLite one
# thread hop where the read transaction of two statements took three). The SQL is kept, no
# Piccolo query is built or run per request; only a titulaire's page reads more
# (`replacements`).
_ANSWER_SQL = (
    "SELECT i.id, i.token_nonce, i.contact, i.response, i.answered_at, "
    "c.first_name AS first_name, c.last_name AS last_name, "
    + ", ".join(f"m.{name} AS meeting_{name}" for name in _MEETING_COLUMNS)
    + ", g.name AS group_name, g.kind AS group_kind, "
    "EXISTS (SELECT 1 FROM membership held WHERE held.contact = i.contact "
    "AND held.working_group = m.working_group AND held.role = 'titulaire' "
    "AND (held.end_date IS NULL OR held.end_date >= ?)) AS titulaire "
    "FROM invitation i JOIN contact c ON c.id = i.contact JOIN meeting m ON m.id = i.meeting "
    "LEFT JOIN working_group g ON g.id = m.working_group WHERE i.id = ?"
)


async def _answer_row(invitation_id: int) -> Any:
    today = dt.date.today()
    # SQLite keeps dates as ISO text; asyncpg wants the date itself.
    rows = await read_statement(
        _ANSWER_SQL, [today.isoformat() if is_sqlite() else today, invitation_id]
    )
    return rows[0] if rows else None


_HELD = Prepared(
    lambda contact, group: Membership.select(
        Membership.id, Membership.substitute, Membership.organisation, Membership.end_date
    ).where(
        (Membership.contact == contact)
        & (Membership.working_group == group)
        & (Membership.role == "titulaire")
    )
)


def _answer_before(invitation: Any) -> Any:
    """The answer the invitation holds, its row taken for the update on PostgreSQL: a merge
    that drops this invitation (its person merged into another invited one, #20) while the
    person answers is waited for, and the row is then found gone, instead of an update that
    waited for the merge, wrote no row, and let the page say the answer was recorded.
    SQLite's ``BEGIN IMMEDIATE`` already serialises writers."""
    query = Invitation.select(Invitation.response, Invitation.answered_at).where(
        Invitation.id == invitation
    )
    if not is_sqlite():
        query = query.lock_rows("NO KEY UPDATE")
    return query.first()


_ANSWER_BEFORE = Prepared(_answer_before)


def _meeting_of(row: dict[str, Any]) -> MeetingInfo:
    return MeetingInfo.of_row(row, prefix="meeting_")


async def open_answer(settings: Settings, token: str) -> AnswerPage:
    invitation_id = tokens.record_id(token)
    if invitation_id is None:
        return AnswerPage("invalide")
    row = await _answer_row(invitation_id)
    if row is None or not tokens.verify(settings.secret_key, "reponse", token, row["token_nonce"]):
        return AnswerPage("invalide")
    meeting = _meeting_of(row)
    page = AnswerPage(
        state="ok",
        invitation_id=invitation_id,
        meeting=meeting,
        name=person_name(row),
        response=row["response"],
        answered_at=row["answered_at"],
    )
    if meeting.status == CANCELLED:
        page.state = "annulee"
    elif meeting.ends_at <= dt.datetime.now(dt.UTC):
        page.state = "passee"
    elif row["titulaire"]:
        async with read_transaction():
            page.replacements = await replacements(
                row["contact"], meeting, row["meeting_working_group"]
            )
    return page


async def replacements(
    contact_id: int, meeting: MeetingInfo, group_id: int | None = None
) -> list[Replacement]:
    """Who may stand in: the suppléant of a titulaire, then the colleagues of the same
    organisation(s) who have an address and are not invited yet. Empty for non-titulaires."""
    if group_id is None:
        group_id = await _meeting_group(meeting.id)
    today = dt.date.today()
    held = [
        row
        for row in await _HELD(contact_id, group_id)
        if row["end_date"] is None or row["end_date"] >= today
    ]
    if not held:
        return []
    invited = {
        row["contact"]
        for row in await Invitation.select(Invitation.contact).where(
            Invitation.meeting == meeting.id
        )
    }
    found: dict[int, str] = {}
    substitute_ids = [row["substitute"] for row in held if row["substitute"]]
    if substitute_ids:
        for row in await Membership.select(Membership.contact).where(
            Membership.id.is_in(substitute_ids)
        ):
            found.setdefault(row["contact"], SUBSTITUTE)
    organisations = {row["organisation"] for row in held if row["organisation"]}
    for row in await Affiliation.select(Affiliation.organisation, Affiliation.end_date).where(
        Affiliation.contact == contact_id
    ):
        if row["end_date"] is None or row["end_date"] >= today:
            organisations.add(row["organisation"])
    if organisations:
        for row in await Affiliation.select(
            Affiliation.contact, Affiliation.end_date, Affiliation.organisation.name.as_alias("org")
        ).where(Affiliation.organisation.is_in(list(organisations))):
            if row["end_date"] is None or row["end_date"] >= today:
                found.setdefault(row["contact"], f"même organisation ({row['org']})")
    found.pop(contact_id, None)
    for contact in invited:
        found.pop(contact, None)
    if not found:
        return []
    people = await Contact.select(
        Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.archived
    ).where(Contact.id.is_in(list(found)))
    result = [
        Replacement(row["id"], person_name(row), found[row["id"]], row["email"])
        for row in people
        if row["email"] and not row["archived"]
    ]
    result.sort(key=lambda r: (not r.substitute, fold(r.name)))
    return result


async def _meeting_group(meeting_id: int) -> int:
    row = await Meeting.select(Meeting.working_group).where(Meeting.id == meeting_id).first()
    if row is None:
        raise NotFound("Réunion", meeting_id)
    group: int = row["working_group"]
    return group


def _chosen(page: AnswerPage, replacement_id: int | None, email: str) -> Replacement | None:
    """A substitute by id (the page names them), a colleague by the address typed."""
    if replacement_id is not None:
        return next((r for r in page.offered if r.contact_id == replacement_id), None)
    typed = email.strip().lower()
    return next((r for r in page.replacements if r.email.lower() == typed), None)


async def record_answer(
    settings: Settings,
    token: str,
    choice: str,
    replacement_id: int | None = None,
    replacement_email: str = "",
) -> AnswerPage:
    page = await open_answer(settings, token)
    if page.state != "ok" or choice not in CHOICES:
        return page
    assert page.meeting is not None and page.invitation_id is not None
    response = CHOICES[choice]
    chosen = None
    if replacement_id is not None or replacement_email.strip():
        chosen = _chosen(page, replacement_id, replacement_email)
        if chosen is None or response != DECLINED:
            page.state = "remplacant_invalide"
            return page
    try:
        return await _write_answer(settings, page, response, chosen)
    except Exception as error:
        if chosen is None or not is_reference_gone(error):
            raise
        if await Contact.exists().where(Contact.id == chosen.contact_id):
            raise
        # The replacement was merged into another person meanwhile (#20): their invitation
        # waited for the merge, then failed on its foreign key. Nothing was written; the page
        # says what it says a moment later, when they are no longer offered.
        page.state = "remplacant_invalide"
        return page


async def _write_answer(
    settings: Settings, page: AnswerPage, response: str, chosen: Replacement | None
) -> AnswerPage:
    """The answer on the invitation, and the replacement's invitation, in one transaction."""
    assert page.meeting is not None and page.invitation_id is not None
    moment = dt.datetime.now(dt.UTC)
    async with write_transaction():
        before = await _ANSWER_BEFORE(page.invitation_id)
        if before is None:  # deleted (with its meeting) since the page was opened
            return AnswerPage("invalide")
        await (
            Invitation.update(
                {
                    Invitation.response: response,
                    Invitation.answered_at: moment,
                    Invitation.response_source: "lien",
                    **versioned(Invitation, moment),
                }
            )
            .where(Invitation.id == page.invitation_id)
            .run()
        )
        changes: dict[str, Any] = {
            "response": [before["response"], response],
            "answered_at": [before["answered_at"], moment],
        }
        if chosen is not None:
            new_id = await _invite_replacement(settings, page.meeting, page.invitation_id, chosen)
            changes["replaced_by"] = [None, new_id]
            page.replaced_by = chosen.name
        await audit.record(ANSWER_LINK, "answer", "invitation", page.invitation_id, changes)
    page.response = response
    page.answered_at = moment
    return page


async def _invite_replacement(
    settings: Settings, meeting: MeetingInfo, invitation_id: int, chosen: Replacement
) -> int:
    inserted = (
        await Invitation.insert(
            Invitation(
                meeting=meeting.id,
                contact=chosen.contact_id,
                token_nonce=secrets.token_urlsafe(16),
                replaces=invitation_id,
            )
        )
        .returning(Invitation.id)
        .run()
    )
    new_id: int = inserted[0]["id"]
    await audit.record(
        ANSWER_LINK,
        "create",
        "invitation",
        new_id,
        {"contact": chosen.contact_id, "replaces": invitation_id},
    )
    await queue_one(settings, meeting, new_id)
    return new_id
