"""THE erasure test: a person present in every kind of record is erased, then every text column
of every table, every file of the data directory and every API answer is searched for their
names (with and without accents), addresses and phones. Nothing may answer.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email
import json
import re
from email import policy
from pathlib import Path
from typing import Any

from maillage import db
from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import (
    ActionIn,
    AffiliationIn,
    ContactIn,
    InteractionIn,
    MeetingIn,
    MembershipIn,
    OrganisationIn,
    WorkingGroupIn,
)
from maillage.crm.text import normalise
from maillage.exchange import duplicates
from maillage.exchange.erasure import Identifiers, Person, might_hold, scrub_mime
from maillage.exchange.exports import kept_exports_dir
from maillage.mailing import invitations
from maillage.mailing.sender import Sender
from maillage.mailing.transports import FileBackend
from maillage.tables import (
    TABLES,
    AuditEvent,
    Contact,
    Invitation,
    OutboxContent,
    OutboxMessage,
)
from tests.exchange.conftest import export_bytes
from tests.mailing.conftest import fast_config, settle

FIRST, LAST = "Séverine", "Quénéhervé"
OLD_FIRST = "Sévérine"  # the card's first spelling, corrected since
EMAIL, OLD_EMAIL, DUPLICATE_EMAIL = (
    "severine.quenehervee@caf.example",
    "s.quenehervee@ancienne.example",
    "sev.q@doublon.example",
)
PHONE, DUPLICATE_PHONE = "02 99 87 65 43", "06 12 98 76 54"
FUNCTION = "Directrice du centre social Les Genêts"
PARIS = dt.timezone(dt.timedelta(hours=1))


def _needles() -> list[str]:
    names = [f"{FIRST} {LAST}", f"{LAST} {FIRST}", f"{LAST};{FIRST}", f"{OLD_FIRST} {LAST}"]
    texts = names + [normalise(n) for n in names] + [EMAIL, OLD_EMAIL, DUPLICATE_EMAIL, FUNCTION]
    texts += [normalise(FUNCTION)]
    return [t.lower() for t in texts]


_PHONES = [re.compile(r"[\s.]?".join(p.replace(" ", ""))) for p in (PHONE, DUPLICATE_PHONE)]
_PHONES += [re.compile(r"\+33\s?" + r"\s?".join(p.replace(" ", "")[1:])) for p in (PHONE, DUPLICATE_PHONE)]  # fmt: skip


def found(text: str) -> list[str]:
    lowered = text.lower()
    hits = [needle for needle in _needles() if needle in lowered]
    return hits + [p.pattern for p in _PHONES if p.search(text)]


def _decoded_message(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=policy.default)
    texts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            text = payload.decode("utf-8", "replace")
            texts += [text, re.sub(r"\r?\n[ \t]", "", text)]  # iCalendar lines unfolded
    return "\n".join(texts)


async def _build_person(settings: Any, admin: Any) -> dict[str, Any]:
    """The person in every kind of record: card, duplicate merged in, old address, function,
    body, meeting, invitation and answer link, minutes naming her, exchange, action, mailing,
    outbox and .eml files, feed token, network analysis, kept exports, a backup."""
    create = {name: SERVICES[name].create for name in SERVICES}
    caf = await create["organisations"](
        CLI,
        OrganisationIn(
            name="Caf du Val", kind="institution", notes=f"Référente : {OLD_FIRST} {LAST}, {EMAIL}"
        ),
    )
    person = await create["contacts"](
        CLI,
        ContactIn(
            civility="Mme",
            first_name=OLD_FIRST,
            last_name=LAST,
            email=OLD_EMAIL,
            phone=PHONE,
            notes="Rencontrée au forum des associations",
        ),
    )
    pid = person["id"]
    changed = await admin.client.patch(
        f"/api/v1/contacts/{pid}",
        json={"version": person["version"], "email": EMAIL, "first_name": FIRST},
    )
    assert changed.status_code == 200, changed.text
    duplicate = await create["contacts"](
        CLI,
        ContactIn(
            first_name="Severine",
            last_name="Quenehervé",
            email=DUPLICATE_EMAIL,
            phone=DUPLICATE_PHONE,
            notes=f"Doublon de {FIRST} {LAST}",
        ),
    )
    await duplicates.merge_contacts(CLI, pid, duplicate["id"])
    colleague = await create["contacts"](
        CLI, ContactIn(first_name="Marc", last_name="Durand", email="marc.durand@caf.example")
    )
    await create["affiliations"](
        CLI, AffiliationIn(contact=pid, organisation=caf["id"], function=FUNCTION)
    )
    await create["affiliations"](CLI, AffiliationIn(contact=colleague["id"], organisation=caf["id"]))  # fmt: skip
    group = await create["groups"](
        CLI, WorkingGroupIn(name="COPIL", kind="copil", description=f"Animé par {FIRST} {LAST}")
    )
    for contact in (pid, colleague["id"]):
        await create["memberships"](CLI, MembershipIn(contact=contact, working_group=group["id"]))
    start = (dt.datetime.now(PARIS) + dt.timedelta(days=20)).replace(hour=14, minute=0, second=0, microsecond=0)  # fmt: skip
    meeting = await create["meetings"](
        CLI,
        MeetingIn(
            working_group=group["id"],
            title="Bilan",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            minutes=f"{FIRST} {LAST} présente le bilan ; la joindre au {PHONE}.",
            # Long enough that the iCalendar DESCRIPTION folds, perhaps inside her name.
            agenda="1. Accueil et présentation des participants de la commission : "
            f"{FIRST} {LAST}, {EMAIL}",
        ),
    )
    await create["interactions"](
        CLI,
        InteractionIn(
            occurred_on=dt.date.today(),
            summary=f"Appel de {FIRST} {LAST} au sujet du COPIL",
            contacts=[pid],
            organisations=[caf["id"]],
        ),
    )
    await create["actions"](CLI, ActionIn(title="Fiche 1", notes=f"Pilote : {LAST} {FIRST}"))
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    await invitations.queue(CLI, settings, meeting["id"])
    await invitations.queue_minutes(CLI, settings, meeting["id"], "invites", [])
    return {"id": pid, "meeting": meeting, "group": group, "caf": caf, "colleague": colleague}


async def _links(base_url: str) -> list[str]:
    """The answer and unsubscribe links the person was sent."""
    rows = await OutboxContent.select(OutboxContent.content).run()
    links = []
    for row in rows:
        text = _decoded_message(row["content"].encode())
        if EMAIL in str(email.message_from_string(row["content"], policy=policy.default)["To"]):
            links += re.findall(re.escape(base_url) + r"(/[ru]/[0-9A-Za-z._-]+)", text)
    return sorted(set(links))


async def _every_column() -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for table in TABLES:
        for row in await table.select().run():
            for column, value in row.items():
                if value is None:
                    continue
                text = str(value)
                if isinstance(value, str) and value[:1] in "[{":
                    with contextlib.suppress(ValueError):
                        text = json.dumps(json.loads(value), ensure_ascii=False)
                if table is OutboxContent:
                    text = _decoded_message(value.encode()) if column == "content" else text
                if found(text):
                    hits.setdefault(f"{table._meta.tablename}.{column}", []).extend(found(text))
    return hits


async def _every_file(data_dir: Path) -> dict[str, list[str]]:
    """Every file of the data folder, the database's included, read as bytes.

    The kept SQLite connections are closed first: closing any file descriptor of a database
    file drops every POSIX lock this process holds on it, and another process closing its
    last connection would then delete the WAL that our connections still write to. A
    PostgreSQL pool is left open: the database is not a file of the folder, and the tests
    that run after this one in the same process would read without a pool."""
    if db.is_sqlite():
        await db.close_pool()
    hits = {}
    for path in data_dir.rglob("*"):
        if not path.is_file() or "sauvegardes" in path.parts:
            continue
        raw = path.read_bytes()
        texts = [raw.decode("utf-8", "replace"), raw.decode("latin-1")]
        if path.suffix == ".eml":
            texts.append(_decoded_message(raw))
        if path.suffix == ".xlsx":
            texts.append(_xlsx_text(path))
        found_here = [hit for text in texts for hit in found(text)]
        if found_here:
            hits[str(path.relative_to(data_dir))] = found_here
    return hits


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path)
    return "\n".join(
        str(cell.value) for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
    )


async def test_an_erased_person_is_found_nowhere(settings, admin, reader, anonymous):
    data_dir = settings.data_dir
    person = await _build_person(settings, admin)
    pid = person["id"]
    sender = Sender(FileBackend(data_dir / "outbox"), fast_config())
    await settle(sender)
    mailing = await admin.client.post(
        "/api/v1/mailings",
        json={"subject": "Bonjour {{ prenom }}", "body": "Bonjour {{ prenom }} {{ nom }}"},
    )
    assert mailing.status_code == 201, mailing.text
    await settle(sender)
    links = await _links(settings.base_url)
    assert any(link.startswith("/r/") for link in links) and any(link.startswith("/u/") for link in links)  # fmt: skip
    token = await admin.client.post("/api/v1/calendar/feed-tokens", json={"scope": "contact", "target_id": pid})  # fmt: skip
    assert token.status_code == 201, token.text
    feed = token.json()["links"]["https"].removeprefix(settings.base_url)
    assert f"{FIRST} {LAST}" in (await anonymous.get(feed)).text  # the body is now cached
    network = await reader.client.get("/api/v1/network/report", params={"level": "contacts"})
    assert network.status_code == 200
    exports = kept_exports_dir(data_dir)
    exports.mkdir(exist_ok=True)
    for fmt in ("csv", "xlsx", "vcf"):
        (exports / f"contacts.{fmt}").write_bytes(await export_bytes("contacts", fmt))
    backups = data_dir / "sauvegardes"
    backups.mkdir(exist_ok=True)
    for old in backups.glob("*.bak"):  # the data folder is the session's: another test's
        old.unlink()
    (backups / "maillage-2026-12-01-020000.bak").write_bytes(b"a backup holding her")
    assert await _every_column() and await _every_file(data_dir)  # she is everywhere before

    erased = await admin.client.post(f"/api/v1/rgpd/contacts/{pid}/anonymise")

    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert [b["fichier"] for b in report["sauvegardes"]] == ["maillage-2026-12-01-020000.bak"]
    assert report["sauvegardes"][0]["expire_le"]
    assert await _every_column() == {}
    assert await _every_file(data_dir) == {}
    for link in [*links, feed]:
        answer = await anonymous.get(link)
        assert answer.status_code in (404, 410), (link, answer.status_code)
        assert not found(answer.text)
    answers = [
        await reader.client.get(f"/api/v1/{resource}", params={"q": query, "limit": 200})
        for resource in (
            "contacts",
            "interactions",
            "organisations",
            "groups",
            "meetings",
            "actions",
        )
        for query in (LAST, normalise(LAST), f"{FIRST} {LAST}", EMAIL)
    ]
    answers += [
        await reader.client.get(f"/api/v1/contacts/{pid}"),
        await reader.client.get("/api/v1/interactions", params={"limit": 200}),
        await reader.client.get("/api/v1/outbox", params={"limit": 200}),
        await reader.client.get("/api/v1/network/report", params={"level": "contacts"}),
        await admin.client.get("/api/v1/audit", params={"limit": 200}),
        await admin.client.get(f"/api/v1/rgpd/contacts/{pid}"),
    ]
    for row in (await reader.client.get("/api/v1/outbox", params={"limit": 200})).json()["items"]:
        answers.append(await reader.client.get(f"/api/v1/outbox/{row['id']}"))
    for answer in answers:
        assert answer.status_code in (200, 404), (answer.request.url, answer.status_code)
        assert not found(answer.text), (answer.request.url, found(answer.text))
    attendance = await Invitation.select(Invitation.response).where(Invitation.contact == pid)
    assert len(attendance) == 1  # the figures stay
    await _others_keep_theirs(person["colleague"], data_dir)


async def _others_keep_theirs(colleague: dict[str, Any], data_dir: Path) -> None:
    """Marc was created after the duplicate's deletion: on SQLite he may hold its id, and the
    journal's events under that id are his, not hers."""
    card = await Contact.select().where(Contact.id == colleague["id"]).first()
    assert (card["first_name"], card["email"]) == ("Marc", "marc.durand@caf.example")
    events = await AuditEvent.select(AuditEvent.changes).where((AuditEvent.entity == "contact") & (AuditEvent.entity_id == colleague["id"]) & (AuditEvent.action == "create")).output(load_json=True)  # fmt: skip
    assert events[-1]["changes"]["email"] == "marc.durand@caf.example"
    sent_to_marc = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.recipient == "marc.durand@caf.example")  # fmt: skip
    assert len(sent_to_marc) >= 3 and all(m["status"] == "envoye" for m in sent_to_marc)
    contents = await OutboxContent.select(OutboxContent.content).where(OutboxContent.message.is_in([m["id"] for m in sent_to_marc]))  # fmt: skip
    assert all("effacé" not in _decoded_message(c["content"].encode()) for c in contents)
    marc_files = [p for p in (data_dir / "outbox").glob("*.eml") if b"marc.durand@caf.example" in p.read_bytes()]  # fmt: skip
    assert len(marc_files) >= 3


def _who() -> Identifiers:
    person = Person(contact_id=1, names={(FIRST, LAST)}, emails={EMAIL}, phones={"+33299876543"})
    return Identifiers(person)


def test_the_quick_look_finds_every_encoding_maillage_writes():
    """``might_hold`` only lets a message skip the full MIME parse: it must never miss."""
    who = _who()
    qp = f"Bonjour {FIRST} {LAST}".encode().hex("=", 1).upper()
    folded_qp = ("=" + qp[:20] + "=\r\n" + qp[20:]).encode()
    word = b"To: =?utf-8?b?" + base64.b64encode(f"{FIRST} {LAST}".encode()) + b"?= <x@y.fr>"
    ics = f"DESCRIPTION:Ordre du jour : intervention de {FIRST} {LAST}".encode()
    folded_ics = base64.b64encode(ics[:40] + b"\r\n " + ics[40:])
    for raw in (
        folded_qp,
        word,
        b"Content-Transfer-Encoding: base64\r\n\r\n" + folded_ics + b"\r\n",
        b"Appelez le 02.99.87.65.43",
        b"Appelez le +33 2 99 87 65 43",
        EMAIL.upper().encode(),
    ):
        assert might_hold(raw, who), raw
    assert not might_hold(b"Bonjour Marc Durand, 02 99 00 00 00", who)


def test_a_boundary_that_looks_like_the_phone_number_is_left_alone():
    """Found by Schemathesis: a multipart boundary holding the person's phone digits had its
    Content-Type rewritten, the parts lost their boundary and the erasure answered 500."""
    who = _who()
    raw = (
        'Content-Type: multipart/alternative; boundary="===0299876543=="\r\n'
        "MIME-Version: 1.0\r\n"
        f"To: {FIRST} {LAST} <{EMAIL}>\r\n\r\n"
        "--===0299876543==\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Bonjour {FIRST} {LAST}\r\n"
        "--===0299876543==--\r\n"
    ).encode()
    scrubbed = scrub_mime(raw, who)
    assert scrubbed is not None
    assert b'boundary="===0299876543=="' in scrubbed
    assert LAST.encode() not in scrubbed and EMAIL.encode() not in scrubbed
    parsed = email.message_from_bytes(scrubbed, policy=policy.default)
    assert parsed.is_multipart() and len(parsed.get_payload()) == 1


def test_a_message_id_holding_the_phone_number_is_rewritten_in_ascii():
    """Found by Schemathesis: a Message-ID whose digits held the person's phone number was
    rewritten with « [anonymisé] », which the email package cannot write in that header
    (UnicodeEncodeError: the erasure answered 500)."""
    who = _who()
    raw = (
        "Message-ID: <0299876543.1@maillage.example>\r\n"
        "References: <0299876543.0@maillage.example>\r\n"
        "MIME-Version: 1.0\r\n"
        f"To: {FIRST} {LAST} <{EMAIL}>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Bonjour {FIRST} {LAST}\r\n"
    ).encode()
    scrubbed = scrub_mime(raw, who)
    assert scrubbed is not None and scrubbed.isascii()
    parsed = email.message_from_bytes(scrubbed, policy=policy.default)
    assert "0299876543" not in parsed["Message-ID"] and "0299876543" not in parsed["References"]
    assert LAST not in parsed.get_content()


def test_a_phone_without_digits_or_a_name_without_letters_finds_nothing():
    """Found by Schemathesis: a phone recorded without digits made an empty pattern, found
    between every two characters, and the erasure rewrote every text column of the database
    (« acceptee » became « [anonymisé]a[anonymisé]c… »)."""
    person = Person(
        contact_id=1,
        names={("\u0301", "\u0301"), (FIRST, LAST)},
        emails={EMAIL},
        phones={"+", "n/a", "12", "+33299876543"},
    )
    who = Identifiers(person)
    for text in ("acceptee", "Salle des fêtes", "le 12 mars", "a ; b", " "):
        assert not who.found_in(text), text
        assert who.scrub(text) == text
    assert who.scrub(f"{FIRST} {LAST}, 02 99 87 65 43") == "[anonymisé], [anonymisé]"
