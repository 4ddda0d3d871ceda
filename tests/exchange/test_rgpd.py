"""Data-protection rights: access, erasure everywhere the data was copied, notice, register."""

from __future__ import annotations

import datetime as dt
import io
from email.message import EmailMessage

from openpyxl import load_workbook

from maillage.actor import CLI
from maillage.exchange.exports import kept_exports_dir
from maillage.exchange.rgpd import (
    anonymise,
    information_notice,
    processing_register,
    retention_check,
    subject_access,
    subject_access_html,
)
from maillage.tables import AuditEvent, Contact, Invitation, OutboxContent, OutboxMessage
from tests.exchange.conftest import export_bytes


async def test_access_export_lists_everything_about_the_person(world):
    from maillage.actor import CLI
    from maillage.crm.registry import SERVICES
    from maillage.tables import Meeting

    meeting = await Meeting.select(Meeting.id).first()
    decisions = SERVICES["decisions"]
    await decisions.create(
        CLI,
        decisions.spec.input(
            summary="Préparer le bilan",
            meeting=meeting["id"],
            carrier_contact=world["helene"]["id"],
        ),
    )
    data = await subject_access(world["helene"]["id"])
    assert data["personne"]["email"] == "helene@caf.example"
    assert {a["organisation.name"] for a in data["rattachements"]} == {
        "Caf d'Ille-et-Vilaine",
        "Centre social Les Tilleuls",
    }
    assert data["invitations"][0]["attendance"] == "present"
    page = subject_access_html(data)
    assert "Données personnelles vous concernant" in page
    assert "COPIL de lancement" in page and "Présence" in page
    assert "Préparer le bilan" in page and "À faire" in page  # decisions she carries (#22)


def _eml(to: str, name: str) -> bytes:
    message = EmailMessage()
    message["To"] = f"{name} <{to}>"
    message["Subject"] = "Invitation COPIL"
    message.set_content(
        f"Bonjour {name},\nVotre adresse : {to}\n", charset="utf-8", cte="quoted-printable"
    )
    return message.as_bytes()


async def test_anonymise_scrubs_every_copy_and_keeps_attendance(world, tmp_path):
    helene = world["helene"]
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "1.eml").write_bytes(_eml("helene@caf.example", "Hélène Lefèvre"))
    (outbox / "2.eml").write_bytes(_eml("marc@tilleuls.example", "Marc Dupont"))
    stored = await OutboxMessage.insert(
        OutboxMessage(
            recipient="helene@caf.example",
            subject="Invitation",
            message_id="<1@m>",
            contact=helene["id"],
        )
    ).run()
    await OutboxContent.insert(
        OutboxContent(message=stored[0]["id"], content="To: Hélène Lefèvre <helene@caf.example>")
    ).run()
    exports = kept_exports_dir(tmp_path)
    exports.mkdir()
    (exports / "contacts.csv").write_bytes(await export_bytes("contacts", "csv"))
    (exports / "contacts.xlsx").write_bytes(await export_bytes("contacts", "xlsx"))
    (exports / "contacts.vcf").write_bytes(await export_bytes("contacts", "vcf"))

    counts = await anonymise(CLI, helene["id"], tmp_path)

    person = await Contact.select().where(Contact.id == helene["id"]).first().run()
    assert (person["first_name"], person["email"], person["phone"]) == ("Anonyme", None, None)
    invitation = await Invitation.select().where(Invitation.contact == helene["id"]).first().run()
    assert invitation["attendance"] == "present"  # the figures survive
    events = await AuditEvent.select(AuditEvent.changes).output(load_json=True).run()
    assert not any(
        "helene@caf.example" in str(e["changes"]) or "Hélène" in str(e["changes"]) for e in events
    )
    message = await OutboxMessage.select().first().run()
    content = await OutboxContent.select().first().run()
    assert "Hélène" not in content["content"] and message["recipient"] == "[anonymisé]"
    assert not (outbox / "1.eml").exists()  # addressed to her: deleted
    assert b"marc@tilleuls.example" in (outbox / "2.eml").read_bytes()
    assert "Hélène" not in (exports / "contacts.csv").read_text("utf-8-sig")
    assert "Marc" in (exports / "contacts.csv").read_text("utf-8-sig")
    assert "helene@caf.example" not in (exports / "contacts.vcf").read_text()
    sheet = load_workbook(io.BytesIO((exports / "contacts.xlsx").read_bytes())).active
    assert not any(
        c.value in ("Hélène", "helene@caf.example") for row in sheet.iter_rows() for c in row
    )
    assert counts["fichiers_eml"] == 1 and counts["exports"] == 3


async def test_information_notice_is_french_and_names_the_authority(world):
    notice = await information_notice("ctg@ardoise.example")
    assert "article 14" in notice
    assert "CC du Val d'Ardoise" in notice
    assert "{prenom}" in notice and "ctg@ardoise.example" in notice


async def test_retention_lists_contacts_idle_after_the_ctg_end(world):
    early = await retention_check(24, today=dt.date(2028, 6, 1))
    assert early["contacts"] == []
    late = await retention_check(24, today=dt.date(2031, 1, 1))
    names = {c["nom"] for c in late["contacts"]}
    assert "Paul Refus" in names
    assert "Hélène Lefèvre" not in names  # her membership still runs


async def test_register_draft_describes_the_processing(world):
    text = await processing_register()
    assert "Registre des traitements" in text
    assert "Mission d'intérêt public" in text and "24 mois" in text
    # The inhabitants' registrations to public meetings are a processing of their own (#22).
    assert "« Inscriptions des habitants aux réunions publiques »" in text
    assert "maillage inhabitants purge" in text and "{name}" not in text
