"""Answer links end to end through the application: GET shows, POST records."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from maillage.actor import CLI
from maillage.exchange import duplicates
from maillage.mailing import invitations
from maillage.mailing.invitations import answer_url
from maillage.tables import AuditEvent, Invitation, Meeting, OutboxMessage
from tests.merging import merge_paused
from tests.test_row_security_races import postgres_only


async def invited(settings, body, key: str = "helene") -> dict:  # type: ignore[no-untyped-def]
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people[key]["id"],))
    )
    await invitations.queue(CLI, settings, body.meeting["id"])
    row = await Invitation.select().where(Invitation.contact == body.people[key]["id"]).first()
    path = answer_url(settings, row["id"], row["token_nonce"]).removeprefix(settings.base_url)
    return {"row": row, "path": path}


async def test_opening_the_link_records_nothing(anonymous, settings, body):
    invitation = await invited(settings, body)
    response = await anonymous.get(invitation["path"] + "?reponse=oui")
    assert response.status_code == 200
    assert "Confirmez votre réponse" in response.text
    assert 'value="oui" checked' in response.text
    row = await Invitation.select().where(Invitation.id == invitation["row"]["id"]).first()
    assert row["response"] == "en_attente" and row["answered_at"] is None


async def test_pressing_the_button_records_and_the_answer_can_change(anonymous, settings, body):
    invitation = await invited(settings, body)
    response = await anonymous.post(invitation["path"], data={"reponse": "oui"})
    assert response.status_code == 200
    assert "votre réponse est enregistrée" in response.text
    assert "Je participe" in response.text
    row = await Invitation.select().where(Invitation.id == invitation["row"]["id"]).first()
    assert row["response"] == "acceptee" and row["answered_at"] is not None
    first_time = row["answered_at"]

    await anonymous.post(invitation["path"], data={"reponse": "peut-etre"})
    row = await Invitation.select().where(Invitation.id == invitation["row"]["id"]).first()
    assert row["response"] == "incertaine" and row["answered_at"] >= first_time
    page = await anonymous.get(invitation["path"])
    assert "Votre réponse actuelle : <strong>Peut-être</strong>" in page.text
    events = await AuditEvent.select().where(
        (AuditEvent.entity == "invitation") & (AuditEvent.action == "answer")
    )
    assert [e["actor"] for e in events] == ["lien-de-reponse", "lien-de-reponse"]


async def test_a_tampered_token_gets_a_clear_french_page(anonymous, settings, body):
    invitation = await invited(settings, body)
    tampered = invitation["path"][:-3] + (
        "AAA" if not invitation["path"].endswith("AAA") else "BBB"
    )
    for path in (tampered, "/r/n-importe-quoi", "/r/99999.AAAAAAAAAAAAAAAAAAAAAA"):
        response = await anonymous.get(path)
        assert response.status_code == 404
        assert "Lien non valable" in response.text
        posted = await anonymous.post(path, data={"reponse": "oui"})
        assert "Lien non valable" in posted.text
    row = await Invitation.select().where(Invitation.id == invitation["row"]["id"]).first()
    assert row["response"] == "en_attente"


async def test_a_link_to_a_past_meeting_is_expired(anonymous, settings, body):
    invitation = await invited(settings, body)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    await Meeting.update(
        {Meeting.starts_at: past, Meeting.ends_at: past + dt.timedelta(hours=2)}
    ).where(Meeting.id == body.meeting["id"])
    response = await anonymous.get(invitation["path"])
    assert response.status_code == 410
    assert "Réunion terminée" in response.text
    await anonymous.post(invitation["path"], data={"reponse": "oui"})
    row = await Invitation.select().where(Invitation.id == invitation["row"]["id"]).first()
    assert row["response"] == "en_attente"


async def test_a_titulaire_names_a_replacement_who_gets_the_invitation(anonymous, settings, body):
    invitation = await invited(settings, body)
    page = await anonymous.get(invitation["path"] + "?reponse=non")
    assert "Samir Benali — suppléance" in page.text
    substitute = body.people["sub"]["id"]
    response = await anonymous.post(
        invitation["path"], data={"reponse": "non", "remplacant": str(substitute)}
    )
    assert response.status_code == 200
    assert "Samir Benali va recevoir l'invitation" in response.text
    original = await Invitation.select().where(Invitation.id == invitation["row"]["id"]).first()
    assert original["response"] == "declinee"
    replacement = await Invitation.select().where(Invitation.contact == substitute).first()
    assert replacement["replaces"] == original["id"]
    queued = await OutboxMessage.select().where(OutboxMessage.invitation == replacement["id"])
    assert [q["recipient"] for q in queued] == ["samir.benali@caf.example"]
    assert queued[0]["kind"] == "invitation"


async def test_only_offered_people_can_replace(anonymous, settings, body):
    invitation = await invited(settings, body)
    stranger = body.people["marc"]["id"]
    response = await anonymous.post(
        invitation["path"], data={"reponse": "non", "remplacant": str(stranger)}
    )
    assert response.status_code == 400
    assert "ne peut pas être désignée" in response.text
    assert not await Invitation.exists().where(Invitation.contact == stranger)


async def test_the_page_names_no_colleague_to_whoever_holds_the_link(anonymous, settings, body):
    """Colleagues of the invitee's organisation are chosen by their address: the link no longer
    lists their names (it listed up to 30) to whoever holds it."""
    invitation = await invited(settings, body)
    page = await anonymous.get(invitation["path"])
    assert "Chloé Martin" not in page.text and "chloe.martin" not in page.text
    assert 'name="remplacant_adresse"' in page.text
    colleague = body.people["colleague"]["id"]
    by_id = await anonymous.post(
        invitation["path"], data={"reponse": "non", "remplacant": str(colleague)}
    )
    assert by_id.status_code == 400 and "Chloé" not in by_id.text
    wrong = await anonymous.post(
        invitation["path"],
        data={"reponse": "non", "remplacant_adresse": "marc.durand@mairie.example"},
    )
    assert wrong.status_code == 400 and "Marc" not in wrong.text
    by_address = await anonymous.post(
        invitation["path"],
        data={
            "reponse": "non",
            "remplacant": "",
            "remplacant_adresse": " Chloe.Martin@caf.example",
        },
    )
    assert by_address.status_code == 200, by_address.text
    assert "Chloé Martin va recevoir l'invitation" in by_address.text
    assert await Invitation.exists().where(Invitation.contact == colleague)


async def test_re_pointing_an_invitation_kills_its_link_and_issues_a_new_one(
    anonymous, coordinator, settings, body
):
    invitation = await invited(settings, body)
    row = invitation["row"]
    assert (await anonymous.get(invitation["path"])).status_code == 200
    moved = await coordinator.client.patch(
        f"/api/v1/invitations/{row['id']}",
        json={"version": row["version"], "contact": body.people["marc"]["id"]},
    )
    assert moved.status_code == 200, moved.text
    assert (await anonymous.get(invitation["path"])).status_code == 404
    assert (await anonymous.post(invitation["path"], data={"reponse": "oui"})).status_code == 404
    now = await Invitation.select().where(Invitation.id == row["id"]).first()
    assert now["token_nonce"] != row["token_nonce"] and now["sent_at"] is None
    await invitations.queue(CLI, settings, body.meeting["id"])
    sent = await OutboxMessage.select().where(OutboxMessage.invitation == row["id"])
    assert [m["recipient"] for m in sent][-1] == "marc.durand@mairie.example"
    fresh = answer_url(settings, row["id"], now["token_nonce"]).removeprefix(settings.base_url)
    assert "Marc Durand" in (await anonymous.get(fresh)).text


async def test_a_member_who_is_not_titulaire_is_offered_no_replacement(anonymous, settings, body):
    invitation = await invited(settings, body, "marc")
    page = await anonymous.get(invitation["path"])
    assert "Désignez qui vous remplace" not in page.text


async def test_an_invitation_deleted_while_the_page_was_open_is_refused(
    settings, body, monkeypatch
):
    """The answer is written in its own transaction: the invitation may have gone meanwhile."""
    from maillage.mailing import answers

    invitation = await invited(settings, body)
    token = invitation["path"].rsplit("/", 1)[-1]
    opened = answers.open_answer

    async def open_then_delete(settings, token):  # type: ignore[no-untyped-def]
        page = await opened(settings, token)
        await OutboxMessage.delete(force=True)
        await Invitation.delete().where(Invitation.id == invitation["row"]["id"])
        return page

    monkeypatch.setattr(answers, "open_answer", open_then_delete)
    page = await answers.record_answer(settings, token, "oui")
    assert page.state == "invalide"
    assert not await AuditEvent.exists().where(AuditEvent.action == "answer")


async def test_a_hostile_replacement_number_gets_no_500(anonymous, settings, body):
    """« ² » is a digit to str.isdigit() but not to int(); 5,000 digits exceed int()'s limit (#23)."""
    invitation = await invited(settings, body)
    for value in ("²", "٣", "9" * 5000, "-1", "1\x00"):
        for path in (invitation["path"], "/r/n-importe-quoi"):
            response = await anonymous.post(path, data={"reponse": "non", "remplacant": value})
            assert response.status_code in (400, 404), (value[:10], response.status_code)


async def test_opening_the_link_reads_in_one_statement_without_a_transaction(
    anonymous, settings, body, round_trips
):
    """#16: the invitation with its person, meeting and body, and whether the person holds a
    titulaire's seat, in one statement read without BEGIN/COMMIT: one thread hop on SQLite
    (three before: BEGIN with the row, the titulaire question, COMMIT), one round trip on
    PostgreSQL (four before). Five statements before the first #16 work."""
    from maillage import db

    invitation = await invited(settings, body, "marc")
    if not db.is_sqlite():
        async with db.read_transaction():  # looks the role that reads every row up
            pass
    round_trips.clear()
    page = await anonymous.get(invitation["path"])
    assert page.status_code == 200 and "Désignez qui vous remplace" not in page.text
    if db.is_sqlite():  # read on the event loop's own connection: no hop (#16)
        assert round_trips == ["LOOP"]
    else:
        assert round_trips.count("SELECT") == 1
    # A read of every row without the policies still takes a transaction (`read_statement`).
    sees_all = not db.is_sqlite() and db.current_engine()._sees_all is not None
    sent = [trip for trip in round_trips if trip != "RESET"]  # not the pool's reset
    assert len(sent) == (3 if sees_all else 1), round_trips
    # A titulaire's page then reads who may stand in; unknown and tampered links read the
    # one statement at most and get the French page.
    titulaire = await invited(settings, body)
    page = await anonymous.get(titulaire["path"])
    assert page.status_code == 200 and "Désignez qui vous remplace" in page.text
    round_trips.clear()
    tampered = invitation["path"][:-3] + (
        "AAA" if not invitation["path"].endswith("AAA") else "BBB"
    )
    for path in (tampered, "/r/999999.AAAAAAAAAAAAAAAAAAAAAA", "/r/" + "9" * 90, "/r/%00"):
        response = await anonymous.get(path)
        assert response.status_code == 404 and "lien" in response.text.lower(), path
    assert round_trips.count("SELECT") <= 2


@postgres_only
async def test_a_replacement_merged_away_while_named_gets_the_refusal_page(
    anonymous, settings, body, monkeypatch: pytest.MonkeyPatch
):
    """The suppléant named on the answer page while merged into another person: their
    invitation waited for the merge, then failed on its foreign key, a 500 on a public page.
    The person who answers now gets the page of a replacement who cannot be named (the
    answer of a moment later), and nothing is written."""
    invitation = await invited(settings, body)
    substitute, kept = body.people["sub"]["id"], body.people["marc"]["id"]
    paused = merge_paused(monkeypatch)

    async def answered() -> object:
        await paused.wait()
        return await anonymous.post(
            invitation["path"], data={"reponse": "non", "remplacant": str(substitute)}
        )

    merged, response = await asyncio.wait_for(
        asyncio.gather(
            duplicates.merge_contacts(CLI, kept, substitute), answered(), return_exceptions=True
        ),
        timeout=30,
    )
    assert isinstance(merged, dict), merged
    assert response.status_code == 400, response.text
    assert "ne peut pas être désignée" in response.text
    original = await Invitation.select().where(Invitation.id == invitation["row"]["id"]).first()
    assert original["response"] == "en_attente"
    assert await Invitation.count() == 1


@postgres_only
async def test_an_answer_given_while_a_merge_drops_the_invitation_is_not_said_recorded(
    anonymous, settings, body, monkeypatch: pytest.MonkeyPatch
):
    """Both people invited, the one who answers merged into the other meanwhile: the merge
    drops their invitation (the kept person's stands for both). The answer waited for the
    merge, then updated no row, and the page said « votre réponse est enregistrée » for an
    answer written nowhere. It now gets the page of a link no longer valid, which says to use
    the last message or answer the organiser, and writes nothing."""
    answering = await invited(settings, body, "helene")
    kept = (await invited(settings, body, "marc"))["row"]
    paused = merge_paused(monkeypatch)

    async def answered() -> object:
        await paused.wait()
        return await anonymous.post(answering["path"], data={"reponse": "oui"})

    merged, response = await asyncio.wait_for(
        asyncio.gather(
            duplicates.merge_contacts(CLI, kept["contact"], answering["row"]["contact"]),
            answered(),
            return_exceptions=True,
        ),
        timeout=30,
    )
    assert isinstance(merged, dict), merged
    assert response.status_code == 404, response.text
    assert "Lien non valable" in response.text
    assert "réponse est enregistrée" not in response.text
    left = await Invitation.select(Invitation.id, Invitation.response)
    assert left == [{"id": kept["id"], "response": "en_attente"}]
    assert not await AuditEvent.exists().where(AuditEvent.action == "answer")
