"""A tie to a record that a merge removes, written while the merge runs, through the doors
other than a resource's create (#20): attendance, enrolment in a body, imports, and the
axes of the record itself. Each waits for the merge (it locks the duplicate ``FOR UPDATE``),
then is refused as a tie to a record that no longer exists, naming it, and writes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from maillage.actor import CLI, IMPORT
from maillage.crm import agenda, members
from maillage.errors import Conflict, InvalidData
from maillage.exchange import duplicates, imports
from maillage.mailing import review
from maillage.tables import (
    Contact,
    InboundItem,
    Invitation,
    Meeting,
    Membership,
    Organisation,
)
from tests.merging import merge_paused, merged_world
from tests.test_row_security_races import postgres_only
from tests.web.helpers import create

LABELS = {"organisations": "Organisation", "contacts": "Contact"}


async def _past_meeting(client, group: int) -> int:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    meeting = await create(
        client,
        "meetings",
        {
            "working_group": group,
            "title": "Commission petite enfance",
            "starts_at": f"{yesterday}T14:00:00+01:00",
            "ends_at": f"{yesterday}T16:00:00+01:00",
        },
    )
    meeting_id: int = meeting["id"]
    return meeting_id


async def _raced(
    monkeypatch: pytest.MonkeyPatch,
    entity: str,
    ids: dict[str, int],
    write,
    until: asyncio.Event | None = None,
):
    """The merge of ``entity``'s two records, and ``write`` run once the merge paused before
    deleting the duplicate (`merge_paused`): what each gave back (or raised)."""
    paused = merge_paused(monkeypatch, until)

    async def written() -> object:
        await paused.wait()
        return await write()

    merge = duplicates.merge(CLI, entity, ids[f"kept_{entity}"], ids[f"removed_{entity}"])
    return await asyncio.wait_for(
        asyncio.gather(merge, written(), return_exceptions=True), timeout=30
    )


def _field_errors(error: object) -> list[tuple[str, str]]:
    assert isinstance(error, InvalidData), repr(error)
    return [(e.field, e.message) for e in error.errors]


async def _attendance_refused(
    monkeypatch: pytest.MonkeyPatch, ids: dict, meeting: int, removed: int
) -> None:
    """``removed`` marked present at ``meeting`` while the merge removes them: the merge
    passes, the attendance is refused naming the person."""
    merged, refused = await _raced(
        monkeypatch,
        "contacts",
        ids,
        lambda: agenda.record_attendance(CLI, meeting, {removed: "present"}, held=True),
    )
    assert isinstance(merged, dict), merged
    assert _field_errors(refused) == [("attendance", f"Contact n° {removed} introuvable.")]


@postgres_only
async def test_attendance_of_a_person_merged_away_meanwhile_is_refused_cleanly(
    database: str, admin, monkeypatch: pytest.MonkeyPatch
):
    """A member of the body marked present while merged into another person: the invitation
    made for them waited for the merge, then failed on its foreign key (a 500). Now the
    person is named, « Contact n° … introuvable. », and nothing is written (the meeting is
    not marked held)."""
    c = admin.client
    ids = await merged_world(c, removed_first=False)
    removed = ids["removed_contacts"]
    await create(c, "memberships", {"working_group": ids["group"], "contact": removed})
    meeting = await _past_meeting(c, ids["group"])

    await _attendance_refused(monkeypatch, ids, meeting, removed)
    assert not await Invitation.exists().where(Invitation.meeting == meeting)
    held = await Meeting.select(Meeting.status).where(Meeting.id == meeting).first()
    assert held == {"status": "planifiee"}


@postgres_only
async def test_attendance_of_an_invitee_merged_into_another_invitee_meanwhile_is_not_lost(
    database: str, admin, monkeypatch: pytest.MonkeyPatch
):
    """Both people invited to the meeting: the merge drops the duplicate's invitation (its
    twin holds the same answer). Marked present meanwhile, the duplicate's invitation was
    written after the merge deleted it: nothing written, and « 1 modification » said. The
    person gone is now named, and nothing is written."""
    c = admin.client
    ids = await merged_world(c, removed_first=False)
    meeting = await _past_meeting(c, ids["group"])
    removed = ids["removed_contacts"]
    for person in (ids["kept_contacts"], removed):
        await create(c, "invitations", {"meeting": meeting, "contact": person})

    await _attendance_refused(monkeypatch, ids, meeting, removed)
    assert not await Invitation.exists().where(Invitation.attendance.is_not_null())
    held = await Meeting.select(Meeting.status).where(Meeting.id == meeting).first()
    assert held == {"status": "planifiee"}


async def test_attendance_of_a_person_who_does_not_exist_names_them(database: str, admin):
    """The answer the race above gets a moment later: the person is named, not « ni invitée
    ni membre »."""
    ids = await merged_world(admin.client, removed_first=False)
    meeting = await _past_meeting(admin.client, ids["group"])
    with pytest.raises(InvalidData) as refused:
        await agenda.record_attendance(CLI, meeting, {987654: "present"}, held=True)
    assert _field_errors(refused.value) == [("attendance", "Contact n° 987654 introuvable.")]


@postgres_only
@pytest.mark.parametrize("by", ["name", "membership"])
async def test_a_person_invited_to_a_meeting_during_a_merge_is_refused_naming_them(
    database: str, admin, monkeypatch: pytest.MonkeyPatch, by: str
):
    """Inviting the duplicate (by name, or as a member of the body) while it is merged: the
    invitations waited for the merge, then failed on their foreign key (a 500). The person
    is named as one unknown from the start is, and no invitation is written."""
    c = admin.client
    ids = await merged_world(c, removed_first=False)
    removed = ids["removed_contacts"]
    if by == "name":
        body = {"contacts": [ids["person"], removed]}
    else:
        for person in (ids["person"], removed):
            await create(c, "memberships", {"working_group": ids["group"], "contact": person})
        body = {"group_members": True}

    merged, response = await _raced(
        monkeypatch,
        "contacts",
        ids,
        lambda: c.post(f"/api/v1/meetings/{ids['meeting']}/invitations", json=body),
    )
    assert isinstance(merged, dict), merged
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [
        {"field": "contacts", "message": f"Contact introuvable : n° {removed}"}
    ]
    assert not await Invitation.exists()


@postgres_only
async def test_a_message_attached_to_a_person_merged_away_meanwhile_names_them(
    database: str, admin, monkeypatch: pytest.MonkeyPatch
):
    """« Rattacher à … » a message to review, on the duplicate while it is merged: the
    invitation made for them waited for the merge, then failed on its foreign key inside the
    attachment's transaction (a 500). The person is named, and the message stays open."""
    ids = await merged_world(admin.client, removed_first=False)
    removed = ids["removed_contacts"]
    [item] = await InboundItem.insert(
        InboundItem(meeting=ids["meeting"], sender="jo@example.org", response="acceptee")
    ).returning(InboundItem.id)

    merged, refused = await _raced(
        monkeypatch,
        "contacts",
        ids,
        lambda: review.attach(CLI, item["id"], contact_id=removed),
    )
    assert isinstance(merged, dict), merged
    assert _field_errors(refused) == [("contacts", f"Contact introuvable : n° {removed}")]
    assert not await Invitation.exists()
    still = await InboundItem.select(InboundItem.status).where(InboundItem.id == item["id"])
    assert still == [{"status": "ouvert"}]


@postgres_only
@pytest.mark.parametrize("entity", ["contacts", "organisations"])
async def test_a_person_enrolled_in_a_body_during_a_merge_is_refused_naming_the_record(
    database: str, admin, monkeypatch: pytest.MonkeyPatch, entity: str
):
    """« Inscrire » several people in a body while one of them, or the organisation one
    represents, is merged away: the membership waited for the merge, then failed on its
    foreign key, « Un enregistrement lié est introuvable. » inside the enrolment's
    transaction. It now names the record gone, as a single membership does."""
    c = admin.client
    ids = await merged_world(c, removed_first=False)
    removed = ids[f"removed_{entity}"]
    if entity == "contacts":
        person, field, other = removed, "contact", ids["person"]
    else:
        person, field, other = ids["person"], "organisation", ids["kept_contacts"]
        await create(
            c,
            "affiliations",
            {"contact": person, "organisation": removed, "is_primary": True},
        )

    merged, refused = await _raced(
        monkeypatch,
        entity,
        ids,
        lambda: members.add_members(CLI, ids["group"], [other, person], "membre"),
    )
    assert isinstance(merged, dict), merged
    assert _field_errors(refused) == [(field, f"{LABELS[entity]} n° {removed} introuvable.")]
    assert not await Membership.exists().where(Membership.working_group == ids["group"])


# An import whose line names the record a merge removes: the records merged, the kind of
# import, the file, and the line that names the removed record.
IMPORTS_NAMING_THE_REMOVED = {
    "a person's organisation": (
        "organisations", "contacts",
        "Nom;Prénom;Raison sociale\r\nNouveau;Noé;Mairie\r\nNouvelle;Nina;Centre social bis\r\n",
        3,
    ),
    "an organisation's parent": (
        "organisations", "organisations",
        "Nom;Type;Organisation parente\r\nAntenne;association;Centre social bis\r\n",
        2,
    ),
    "a member of a body": (
        "contacts", "memberships",
        "Instance;Nom;Prénom;Rôle\r\nCOPIL CTG;Martin;Lou;membre\r\nCOPIL CTG;Durand bis;Jo;membre\r\n",
        3,
    ),
}  # fmt: skip


@postgres_only
@pytest.mark.parametrize("case", list(IMPORTS_NAMING_THE_REMOVED))
async def test_an_import_naming_a_record_merged_away_meanwhile_writes_nothing(
    database: str, admin, monkeypatch: pytest.MonkeyPatch, case: str
):
    """An import naming the duplicate (a person's organisation, a parent, a member),
    committed while the duplicate is merged: its tie waited for the merge, then failed (a
    500). The import is refused naming the line and the record, and writes nothing."""
    entity, kind, text, line = IMPORTS_NAMING_THE_REMOVED[case]
    ids = await merged_world(admin.client, removed_first=False)
    removed = ids[f"removed_{entity}"]
    # Reading the file takes a while: the merge waits for the import to have planned.
    planned = asyncio.Event()
    apply = imports.apply

    async def applying(*args: Any, **kwargs: Any) -> None:
        planned.set()
        await apply(*args, **kwargs)

    monkeypatch.setattr(imports, "apply", applying)

    merged, refused = await _raced(
        monkeypatch,
        entity,
        ids,
        lambda: imports.run_import(IMPORT, text.encode(), "partenaires.csv", kind, commit=True),
        planned,
    )
    assert isinstance(merged, dict), merged
    assert isinstance(refused, Conflict), repr(refused)
    assert refused.message == (
        f"Import interrompu : ligne {line} : {LABELS[entity]} n° {removed} introuvable : la "
        "fiche a été fusionnée ou supprimée pendant l'import. Relancez l'import. Rien n'a été "
        "écrit."
    )
    assert not await Contact.exists().where(Contact.last_name.is_in(["Nouveau", "Nouvelle"]))
    assert not await Organisation.exists().where(Organisation.name == "Antenne")
    assert not await Membership.exists()


@postgres_only
@pytest.mark.parametrize("entity", ["contacts", "organisations"])
async def test_the_axes_of_the_removed_record_changed_during_a_merge_get_a_404(
    database: str, admin, monkeypatch: pytest.MonkeyPatch, entity: str
):
    """The duplicate's axes edited while it is merged: its link rows are written with the
    record, which waits for the merge and is then gone: « … introuvable. », a 404."""
    c = admin.client
    ids = await merged_world(c, removed_first=False)
    removed = ids[f"removed_{entity}"]
    axis = (await c.get("/api/v1/axes")).json()["items"][0]["id"]

    merged, response = await _raced(
        monkeypatch,
        entity,
        ids,
        lambda: c.patch(f"/api/v1/{entity}/{removed}", json={"version": 1, "axes": [axis]}),
    )
    assert isinstance(merged, dict), merged
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == f"{LABELS[entity]} n° {removed} introuvable."
