"""The pack joined to the invitations when the coordinator wishes (#22): a DOCX beside the
calendar file, the iMIP structure unchanged (multipart/mixed around the multipart/alternative
whose text/calendar part says METHOD:REQUEST), never with a cancellation."""

from __future__ import annotations

import asyncio
import io
import json
from email import message_from_bytes, policy
from email.message import EmailMessage

import docx
import pytest

from maillage import db
from maillage.actor import CLI
from maillage.mailing import invitations
from maillage.tables import AuditEvent, Meeting
from tests.mailing.conftest import settle, smtp_sender

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _calendar_request(message: EmailMessage) -> str:
    """The text/calendar part inside the multipart/alternative, checked as iMIP wants it."""
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    [calendar] = [p for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"]
    assert calendar.get_param("method") == "REQUEST"
    text = calendar.get_content()
    assert "METHOD:REQUEST" in text
    return text


def _packs(message: EmailMessage) -> list[EmailMessage]:
    return [p for p in message.iter_attachments() if p.get_content_type() == DOCX]


@pytest.mark.slow
async def test_the_api_joins_the_pack_and_the_mail_keeps_its_calendar_part(
    coordinator, settings, body, smtp_server
):
    meeting = body.meeting
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    response = await coordinator.client.post(
        f"/api/v1/meetings/{meeting['id']}/invitations/send", params={"attach_pack": "true"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["invitation"] == 2  # Hélène and Marc (Paul has no address)
    await settle(smtp_sender(smtp_server))
    received = smtp_server.handler.received
    assert sorted(r.recipients[0] for r in received) == [
        "helene.lefevre@caf.example",
        "marc.durand@mairie.example",
    ]
    for item in received:
        message = item.message
        assert "ATTENDEE" in _calendar_request(message)
        names = [p.get_filename() for p in message.iter_attachments()]
        assert names[0] == "invitation.ics"
        [pack] = _packs(message)
        assert pack.get_filename().endswith(".docx")
        document = docx.Document(io.BytesIO(pack.get_content()))
        text = "\n".join(p.text for p in document.paragraphs)
        assert "Bilan annuel" in text
    # The pack names the body's decision carriers: its export is journaled.
    exports = await AuditEvent.select(AuditEvent.changes).where(AuditEvent.action == "export")
    changes = [c if isinstance(c, dict) else json.loads(c) for c in (e["changes"] for e in exports)]
    assert [c["document"] for c in changes] == ["dossier de séance"]


async def test_without_the_option_and_in_a_cancellation_there_is_no_pack(
    coordinator, settings, body, smtp_server
):
    meeting = body.meeting
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    await coordinator.client.post(f"/api/v1/meetings/{meeting['id']}/invitations/send")
    await settle(smtp_sender(smtp_server))
    first = smtp_server.handler.received[0].message
    _calendar_request(first)
    assert _packs(first) == []
    # A cancellation sent with the option still carries no pack.
    await Meeting.update(
        {Meeting.status: "annulee", Meeting.ical_sequence: Meeting.ical_sequence + 1}
    ).where(Meeting.id == meeting["id"])
    response = await coordinator.client.post(
        f"/api/v1/meetings/{meeting['id']}/invitations/send", params={"attach_pack": "true"}
    )
    assert response.json()["annulation"] == 2
    await settle(smtp_sender(smtp_server))
    cancellations = smtp_server.handler.received[2:]
    assert len(cancellations) == 2
    for item in cancellations:
        alternative = next(item.message.iter_parts())
        [calendar] = [
            p for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"
        ]
        assert "METHOD:CANCEL" in calendar.get_content()
        assert _packs(item.message) == []


async def test_the_command_joins_the_pack_with_dossier(settings, body, monkeypatch):
    from click.testing import CliRunner

    from maillage.cli import main

    monkeypatch.setenv("MAILLAGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MAILLAGE_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("MAILLAGE_SMTP_URL", raising=False)
    meeting = body.meeting["id"]
    engine = db.current_engine()
    outbox = settings.data_dir / "outbox"
    earlier = set(outbox.glob("*.eml"))  # the data folder is the session's: other tests' mails
    try:
        refused = await asyncio.to_thread(
            CliRunner().invoke, main, ["mail", "invite", str(meeting), "--dossier"]
        )
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["mail", "invite", str(meeting), "--send", "--dossier"]
        )
    finally:
        db.bind(engine)
    assert refused.exit_code == 1
    assert "--send" in refused.output
    assert result.exit_code == 0, result.output
    assert "Dossier de séance joint." in result.output
    files = sorted(set(outbox.glob("*.eml")) - earlier)
    assert len(files) == 2
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        _calendar_request(message)  # type: ignore[arg-type]
        assert len(_packs(message)) == 1  # type: ignore[arg-type]
