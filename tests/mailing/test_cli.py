"""``maillage mail`` in a real process: invite and send, drain the outbox."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from maillage.tables import OutboxMessage
from tests.mailing.helpers import queue_plain

ROOT = Path(__file__).resolve().parents[2]


async def maillage(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from maillage.cli import main; main()",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


def environment(database_url: str, tmp_path: Path, smtp_url: str | None = None) -> dict[str, str]:
    env = {
        "MAILLAGE_DATABASE_URL": database_url,
        "MAILLAGE_DATA_DIR": str(tmp_path),
        "MAILLAGE_MAIL_FROM": "CTG <ctg@maillage.example>",
        "MAILLAGE_REMINDER_DAYS": "",
    }
    if smtp_url:
        env["MAILLAGE_SMTP_URL"] = smtp_url
    return env


async def test_invite_with_send_delivers_the_bodys_invitations(
    migrated_database, body, smtp_server, tmp_path
):
    code, output = await maillage(
        "mail",
        "invite",
        str(body.meeting["id"]),
        "--send",
        env=environment(migrated_database, tmp_path, smtp_server.url),
    )
    assert code == 0, output
    assert "Invitations créées : 3" in output
    assert "Paul Sansmail" in output and "pas d'adresse" in output
    assert "Envoyés : 2" in output
    assert len(smtp_server.handler.received) == 2


async def test_send_drains_to_files_without_a_server(migrated_database, database, tmp_path):
    await queue_plain(3)
    code, output = await maillage("mail", "send", env=environment(migrated_database, tmp_path))
    assert code == 0, output
    assert "Envoyés : 3" in output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3
    assert await OutboxMessage.count().where(OutboxMessage.status == "envoye") == 3


async def test_send_with_the_server_down_says_why_and_keeps_the_messages(
    migrated_database, database, tmp_path
):
    from tests.mailing.conftest import free_port

    await queue_plain(2)
    url = f"smtp://127.0.0.1:{free_port()}?timeout=2"
    code, output = await maillage("mail", "send", env=environment(migrated_database, tmp_path, url))
    assert code == 0, output
    assert "Envoi suspendu" in output and "injoignable" in output
    assert "2 messages restent dans la file d'envoi" in output


@pytest.mark.slow
async def test_preview_then_relaunch_from_the_command_line(migrated_database, body, tmp_path):
    import datetime as dt

    from maillage.actor import CLI
    from maillage.mailing import invitations
    from maillage.tables import Invitation

    env = environment(migrated_database, tmp_path)
    meeting = str(body.meeting["id"])
    await invitations.invite(CLI, body.meeting["id"], invitations.InviteRequest(group_members=True))
    code, output = await maillage("mail", "preview", meeting, env=env)
    assert code == 0, output
    assert "Mis en file" not in output and "2 invitations" in output
    assert "Objet : Invitation : COPIL CTG" in output and "/r/" not in output
    assert await OutboxMessage.count() == 0
    code, output = await maillage("mail", "invite", meeting, "--send", env=env)
    await Invitation.update({Invitation.sent_at: dt.datetime.now(dt.UTC)}).where(
        Invitation.sent_sequence.is_not_null()
    )
    code, output = await maillage("mail", "relaunch", meeting, env=env)
    assert code == 0, output
    assert "Relance mise en file pour 2 personnes." in output
