"""Mass mailings: filters, merge fields, preview, opt-out, one-click unsubscribe."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import logging
import re
from email import policy

from maillage import db, offloop
from maillage.mailing import messages, outbox, tokens, wakeup
from maillage.mailing.addresses import mailbox, sender_mailbox
from maillage.tables import AuditEvent, Contact, OutboxContent, OutboxMessage
from tests.support import outbox_rows


async def test_the_preview_lists_who_gets_it_and_who_cannot(coordinator, body):
    await Contact.update({Contact.mailing_opt_out: True}).where(
        Contact.id == body.people["colleague"]["id"]
    )
    response = await coordinator.client.post(
        "/api/v1/mailings/preview",
        json={
            "subject": "Lettre du réseau — {{ organisation }}",
            "body": "Bonjour {{ prenom }} {{ nom }},\n\nVoici les nouvelles.",
            "group": body.group["id"],
        },
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["recipients"] == 3
    assert [p["name"] for p in preview["without_email"]] == ["Paul Sansmail"]
    assert preview["opted_out"] == []  # Chloé is not in the body
    assert preview["sample"]["text"].startswith("Bonjour Samir Benali,")
    assert preview["sample"]["subject"] == "Lettre du réseau — Caf d'Ille-et-Vilaine"

    everyone = (
        await coordinator.client.post(
            "/api/v1/mailings/preview", json={"subject": "Nouvelles", "body": "Bonjour"}
        )
    ).json()
    assert [p["name"] for p in everyone["opted_out"]] == ["Chloé Martin"]
    assert "chloe.martin@caf.example" not in everyone["addresses"]


async def test_an_unknown_merge_field_is_refused(coordinator, body):
    response = await coordinator.client.post(
        "/api/v1/mailings/preview", json={"subject": "Bonjour {{ surnom }}", "body": "Texte"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "subject"
    assert error["message"].startswith("Champ de fusion inconnu : {{ surnom }}. Champs permis :")
    assert "{{ prenom }}" in error["message"]
    assert "undefined" not in error["message"]  # Jinja's own words are English


async def test_a_template_that_does_not_parse_is_refused_in_french_with_its_line(coordinator):
    response = await coordinator.client.post(
        "/api/v1/mailings/preview",
        json={"subject": "Nouvelles", "body": "Bonjour,\n\nÀ bientôt {{ prenom }\n"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "body"
    assert error["message"] == (
        "Modèle illisible à la ligne 3 : un champ de fusion s'écrit entre doubles accolades, "
        "par exemple {{ prenom }}."
    )


async def test_sending_skips_opted_out_and_carries_unsubscribe_headers(
    coordinator, anonymous, body
):
    await Contact.update({Contact.mailing_opt_out: True}).where(
        Contact.id == body.people["marc"]["id"]
    )
    response = await coordinator.client.post(
        "/api/v1/mailings", json={"subject": "Journée des partenaires", "body": "Venez !"}
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["queued"] == 3
    assert [p["name"] for p in report["opted_out"]] == ["Marc Durand"]
    rows = await outbox_rows("envoi_groupe")
    assert "marc.durand@mairie.example" not in {row["recipient"] for row in rows}
    helene = next(row for row in rows if row["recipient"].startswith("helene"))
    message = email.message_from_string(helene["raw_message"], policy=policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(message["List-Unsubscribe"]).strip("<>").removeprefix("http://testserver")

    page = await anonymous.get(link)
    assert page.status_code == 200 and "Confirmer la désinscription" in page.text
    contact = await Contact.select().where(Contact.id == body.people["helene"]["id"]).first()
    assert contact["mailing_opt_out"] is False  # opening the link changes nothing

    # RFC 8058: the mail client posts « List-Unsubscribe=One-Click » to the same address.
    one_click = await anonymous.post(link, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "Désinscription enregistrée" in one_click.text
    contact = await Contact.select().where(Contact.id == body.people["helene"]["id"]).first()
    assert contact["mailing_opt_out"] is True
    assert (await anonymous.get(link[:-2] + "zz")).status_code == 404


async def test_opted_out_members_still_get_invitations(coordinator, body):
    await Contact.update({Contact.mailing_opt_out: True}).where(
        Contact.id == body.people["marc"]["id"]
    )
    meeting_id = body.meeting["id"]
    await coordinator.client.post(
        f"/api/v1/meetings/{meeting_id}/invitations", json={"group_members": True}
    )
    await coordinator.client.post(f"/api/v1/meetings/{meeting_id}/invitations/send")
    recipients = {row["recipient"] for row in await OutboxMessage.select(OutboxMessage.recipient)}
    assert "marc.durand@mairie.example" in recipients


async def test_sending_refuses_a_count_that_no_longer_holds(coordinator, body):
    """The number the preview announced is checked in the pass that sends: 409, nothing queued."""
    payload = {"subject": "Nouvelles", "body": "Bonjour", "group": body.group["id"]}
    response = await coordinator.client.post(
        "/api/v1/mailings", json={**payload, "expected_recipients": 4}
    )
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == (
        "La liste des destinataires a changé depuis l'aperçu (3 aujourd'hui) : "
        "vérifiez-la avant de confirmer l'envoi."
    )
    assert await OutboxMessage.count().where(OutboxMessage.kind == "envoi_groupe") == 0
    confirmed = await coordinator.client.post(
        "/api/v1/mailings", json={**payload, "expected_recipients": 3}
    )
    assert confirmed.status_code == 201 and confirmed.json()["queued"] == 3


async def _unsubscribe_link(coordinator, name: str) -> str:  # type: ignore[no-untyped-def]
    response = await coordinator.client.post(
        "/api/v1/mailings", json={"subject": "Nouvelles", "body": "Bonjour"}
    )
    assert response.status_code == 201, response.text
    row = next(r for r in await outbox_rows("envoi_groupe") if r["recipient"].startswith(name))
    message = email.message_from_string(row["raw_message"], policy=policy.default)
    return str(message["List-Unsubscribe"]).strip("<>").removeprefix("http://testserver")


async def test_unsubscribe_links_of_one_person_can_be_revoked(coordinator, reader, anonymous, body):
    link = await _unsubscribe_link(coordinator, "helene")
    assert (await anonymous.get(link)).status_code == 200
    helene = body.people["helene"]["id"]
    path = f"/api/v1/contacts/{helene}/unsubscribe-links/revoke"
    assert (await reader.client.post(path)).status_code == 403
    assert (await coordinator.client.post(path)).status_code == 204
    assert (await anonymous.get(link)).status_code == 404
    assert (await anonymous.post(link, data={"List-Unsubscribe": "One-Click"})).status_code == 404
    contact = await Contact.select(Contact.mailing_opt_out).where(Contact.id == helene).first()
    assert contact["mailing_opt_out"] is False


def test_an_unsubscribe_link_expires():
    issued = dt.date(2026, 1, 1)
    token = tokens.unsubscribe_token("secret", 7, "nonce", today=issued)
    assert tokens.verify_unsubscribe("secret", token, "nonce", today=issued)
    late = issued + dt.timedelta(days=tokens.UNSUBSCRIBE_DAYS)
    assert tokens.verify_unsubscribe("secret", token, "nonce", today=late)
    assert not tokens.verify_unsubscribe("secret", token, "nonce", today=late + dt.timedelta(1))
    assert not tokens.verify_unsubscribe("secret", token, "other", today=issued)
    assert not tokens.verify_unsubscribe("secret", tokens.make("secret", "desabonnement", 7), "")


def _comparable(raw: str) -> str:
    """A stored message without what differs from one build to the next (its date, its
    Message-ID and its parts' random boundary)."""
    return re.sub(
        r"={15}\d+==|=_maillage_[0-9a-f]{16}",
        "=(limite)=",
        "\r\n".join(
            line for line in raw.split("\r\n") if not line.startswith(("Message-ID:", "Date:"))
        ),
    )


async def test_the_audience_and_messages_are_made_in_a_worker_process_alike(
    coordinator, body, monkeypatch
):
    """Preview and send run in a heavy-work process (#16), with the same answer and the same
    messages as when made in the serving process."""
    payload = {"subject": "Lettre — {{ organisation }}", "body": "Bonjour {{ prenom }} {{ nom }},"}
    before = offloop.dispatched.copy()
    preview = await coordinator.client.post("/api/v1/mailings/preview", json=payload)
    sent = await coordinator.client.post("/api/v1/mailings", json=payload)
    jobs = offloop.dispatched - before
    assert (jobs["preview_job"], jobs["send_job"]) == (1, 1) and offloop.processes() == 1
    first = await outbox_rows("envoi_groupe")

    monkeypatch.setattr(offloop, "_get_pool", lambda: None)  # now in this process
    assert (await coordinator.client.post("/api/v1/mailings/preview", json=payload)).json() == (
        preview.json()
    )
    again = await coordinator.client.post("/api/v1/mailings", json=payload)
    assert again.json() == sent.json() and sent.json()["queued"] == len(first) > 1
    both = await outbox_rows("envoi_groupe")
    made_here = [row for row in both if row["id"] not in {r["id"] for r in first}]
    assert [(r["recipient"], _comparable(r["raw_message"])) for r in first] == [
        (r["recipient"], _comparable(r["raw_message"])) for r in made_here
    ]


async def test_a_send_is_queued_by_the_worker_process_and_its_messages_never_come_back(
    coordinator, body, monkeypatch
):
    """A mass mailing's messages are written to the outbox by the heavy-work process that
    builds them (#16): a département's 11,625 messages (39 MB) came back to the serving
    process, were unpickled there and written from there in 24 batches, and held its loop up
    to 1.8 s. Now this process writes none of them, gets the summary back, and wakes its
    sender (the commit that queued them was another process's)."""
    written_here: list[int] = []
    write = outbox._write

    async def spy(connection, items, status):  # type: ignore[no-untyped-def]
        written_here.append(len(items))
        return await write(connection, items, status)

    monkeypatch.setattr(outbox, "_write", spy)
    woken = asyncio.Event()
    wakeup.watch(woken)
    try:
        response = await coordinator.client.post(
            "/api/v1/mailings", json={"subject": "Nouvelles", "body": "Bonjour {{ prenom }}"}
        )
    finally:
        wakeup.unwatch(woken)
    assert response.status_code == 201, response.text
    assert offloop.processes() == 1 and written_here == []
    rows = await outbox_rows("envoi_groupe")
    assert len(rows) == response.json()["queued"] == 4
    assert {row["status"] for row in rows} == {"en_attente"}
    assert woken.is_set()
    [event] = await AuditEvent.select().where(AuditEvent.action == "send")
    assert (event["entity"], event["actor"]) == ("mailing", coordinator.email)


async def test_two_sends_at_once_take_turns_and_queue_each_message_once(
    coordinator, body, monkeypatch, caplog
):
    """Two mass mailings sent at once (#16): one held the write turn while it queued a
    département's 14,000 messages, the other went without its turn after 30 s and ended in
    a 500. Here each message takes 0.25 s to write and the turn waits 0.6 s at most: queued
    in batches, each send lets the other write between two of its batches."""
    # The sends run in this process, where the patches below apply (the worker has its own
    # modules; with one worker, two sends there would run one after the other).
    monkeypatch.setattr(offloop, "_get_pool", lambda: None)
    monkeypatch.setattr(outbox, "STAGING_BATCH", 1, raising=False)
    monkeypatch.setattr(db, "WRITE_TURN_TIMEOUT_SECONDS", 0.6)
    write_contents = outbox._insert_contents

    async def slow(connection, ids, contents):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.25 * len(ids))
        await write_contents(connection, ids, contents)

    monkeypatch.setattr(outbox, "_insert_contents", slow)
    payloads = [{"subject": f"Nouvelles {n}", "body": "Bonjour {{ prenom }}"} for n in (1, 2)]
    with caplog.at_level(logging.WARNING, logger="maillage.db"):
        responses = await asyncio.gather(
            *(coordinator.client.post("/api/v1/mailings", json=p) for p in payloads)
        )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert "sans attendre son tour" not in caplog.text
    rows = await OutboxMessage.select(
        OutboxMessage.subject, OutboxMessage.recipient, OutboxMessage.status
    ).where(OutboxMessage.kind == "envoi_groupe")
    for payload, response in zip(payloads, responses, strict=True):
        mine = [r for r in rows if r["subject"] == payload["subject"]]
        assert len(mine) == len({r["recipient"] for r in mine}) == response.json()["queued"] > 2
    assert {r["status"] for r in rows} == {"en_attente"}
    sends = await AuditEvent.count().where(
        (AuditEvent.action == "send") & (AuditEvent.entity == "mailing")
    )
    assert sends == 2


async def test_a_send_that_fails_half_way_queues_nothing(coordinator, body, monkeypatch):
    """Queued in batches, a send stays all or nothing: a failure after the first batch
    leaves neither a message nor a staged row, and the next send goes out whole."""
    monkeypatch.setattr(offloop, "_get_pool", lambda: None)  # the patches apply in this process
    monkeypatch.setattr(outbox, "STAGING_BATCH", 1)
    write_contents = outbox._insert_contents
    calls = 0

    async def failing(connection, ids, contents):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disque plein")
        await write_contents(connection, ids, contents)

    monkeypatch.setattr(outbox, "_insert_contents", failing)
    payload = {"subject": "Nouvelles", "body": "Bonjour {{ prenom }}"}
    response = await coordinator.client.post("/api/v1/mailings", json=payload)
    assert response.status_code == 500
    assert await OutboxMessage.count() == 0 and await OutboxContent.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "send") == 0

    # A process stopped while staging leaves rows that no sender takes; the next send,
    # an hour later, removes them.
    monkeypatch.setattr(outbox, "_insert_contents", write_contents)
    old = outbox.now() - outbox.STALE_STAGING - dt.timedelta(minutes=1)
    monkeypatch.setattr(outbox, "now", lambda: old)
    async with db.write_transaction() as transaction:
        envelope = messages.Envelope(sender_mailbox("ctg@val.example"))
        message = messages.mailing("Reste", "Texte", mailbox("a@b.example"), envelope, "https://x")
        await outbox._write(
            transaction.connection,
            [outbox.Outgoing(message, "a@b.example", "envoi_groupe")],
            outbox.STAGED,
        )
    assert await outbox.claim(10, dt.timedelta(minutes=5)) == []  # never sent
    monkeypatch.undo()
    sent = await coordinator.client.post("/api/v1/mailings", json=payload)
    assert sent.status_code == 201
    statuses = await OutboxMessage.select(OutboxMessage.status, OutboxMessage.subject)
    assert {(r["status"], r["subject"]) for r in statuses} == {("en_attente", "Nouvelles")}
    assert len(statuses) == sent.json()["queued"] == await OutboxContent.count()


async def test_messages_a_stopped_send_left_staged_are_removed_within_the_hour(
    database, monkeypatch
):
    """A process stopped in the middle of a send (a worker killed, a restart) leaves its
    messages « en préparation »: no sender takes them and no one can cancel them. The next
    send removed them once an hour old, so with no other send they stayed for ever; the
    background sender's hourly pass removes them too. A send in progress (staged less than
    an hour ago) and the queued messages are left alone."""
    from maillage.mailing import background

    envelope = messages.Envelope(sender_mailbox("ctg@val.example"))

    async def write(subject: str, status: str, at: dt.datetime) -> None:
        monkeypatch.setattr(outbox, "now", lambda: at)
        message = messages.mailing(subject, "Texte", mailbox("a@b.example"), envelope, "https://x")
        async with db.write_transaction() as transaction:
            await outbox._write(
                transaction.connection,
                [outbox.Outgoing(message, "a@b.example", "envoi_groupe")],
                status,
            )
        monkeypatch.undo()

    now = dt.datetime.now(dt.UTC)
    await write("Interrompu", outbox.STAGED, now - outbox.STALE_STAGING - dt.timedelta(minutes=1))
    await write("En cours", outbox.STAGED, now - dt.timedelta(minutes=5))
    await write("Ancien", "en_attente", now - dt.timedelta(days=2))
    assert await background.purge_if_due(None, now) == now
    left = await OutboxMessage.select(OutboxMessage.subject, OutboxMessage.status)
    assert sorted((r["subject"], r["status"]) for r in left) == [
        ("Ancien", "en_attente"),
        ("En cours", outbox.STAGED),
    ]
    assert await OutboxContent.count() == 2
