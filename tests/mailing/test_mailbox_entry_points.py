"""``maillage mail fetch`` in a real process, and the service's background reader (#19)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from maillage.actor import CLI
from maillage.mailing import background, invitations
from maillage.tables import Invitation
from tests.mailing.imap_server import ImapServer
from tests.mailing.test_cli import environment, maillage
from tests.mailing.test_mailbox import deliver_outlook_acceptance


@pytest.mark.slow
async def test_mail_fetch_records_an_answer_and_says_so_in_french(
    migrated_database, body, imap_server: ImapServer, tmp_path
):
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    await deliver_outlook_acceptance(body, imap_server)
    env = {**environment(migrated_database, tmp_path), "MAILLAGE_IMAP_URL": imap_server.url()}
    code, output = await maillage("mail", "fetch", env=env)
    assert code == 0, output
    assert "Boîte de réception : réponse d'agenda enregistrée : 1." in output
    assert "mot de passe" not in output  # the password never shows
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "acceptee"


async def test_mail_fetch_without_a_mailbox_explains_itself(migrated_database, tmp_path):
    code, output = await maillage("mail", "fetch", env=environment(migrated_database, tmp_path))
    assert code != 0
    assert "MAILLAGE_IMAP_URL n'est pas définie" in output


async def test_the_background_reader_logs_an_unreachable_server_and_keeps_going(
    settings, database, caplog
):
    from tests.mailing.conftest import free_port

    url = f"imap://ctg:secret@127.0.0.1:{free_port()}/INBOX?timeout=1"
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="maillage.boite"):
        task = asyncio.create_task(
            background.read_mailbox(dataclasses.replace(settings, imap_url=url), stop, poll=0.05)
        )
        for _ in range(100):
            await asyncio.sleep(0.05)
            if sum("injoignable" in r.getMessage() for r in caplog.records) >= 2:
                break
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    warnings = [r.getMessage() for r in caplog.records if "injoignable" in r.getMessage()]
    assert len(warnings) >= 2
    assert warnings[0].startswith("Boîte de réception illisible : Serveur IMAP 127.0.0.1:")
    assert "secret" not in " ".join(warnings)


@pytest.mark.slow
async def test_the_background_reader_uses_idle(settings, body, imap_server: ImapServer):
    """As in ``maillage serve``: with a poll of an hour, only IDLE brings the answer in."""
    import time

    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        background.read_mailbox(
            dataclasses.replace(settings, imap_url=imap_server.url()), stop, poll=3600
        )
    )
    try:
        await asyncio.sleep(1.5)  # connected, first pass done, idling
        await deliver_outlook_acceptance(body, imap_server)
        started = time.monotonic()
        while time.monotonic() - started < 10:
            row = (
                await Invitation.select(Invitation.response)
                .where(Invitation.contact == body.people["marc"]["id"])
                .first()
            )
            if row["response"] == "acceptee":
                break
            await asyncio.sleep(0.05)
        assert row["response"] == "acceptee"
        assert time.monotonic() - started < 3
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)
