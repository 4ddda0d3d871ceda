"""The hostile corpus through every text field into every output: iCalendar feeds and files,
invitation emails, CSV and XLSX exports, the DOCX and XLSX annual report, GEXF, the network
drawing. Each output is parsed back and must be well-formed, complete and inert."""

from __future__ import annotations

import csv
import datetime as dt
import email
import io
import json
import zipfile
from email import policy
from html.parser import HTMLParser

import docx
import icalendar
import networkx as nx
import openpyxl
import pytest
from lxml import etree

from tests.hardening.corpus import ALWAYS_REFUSED, HOSTILE
from tests.support import outbox_rows

BREAKS = ("\r", "\n", "\t")
# field: (maximum length, several lines allowed)
FIELDS = {
    "name": (300, False),
    "last_name": (100, False),
    "title": (300, False),
    "location": (300, False),
    "default_location": (300, False),
    "address": (300, True),
    "notes": (20_000, True),
    "description": (20_000, True),
    "agenda": (20_000, True),
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def refused(key: str, field: str) -> bool:
    value = HOSTILE[key]
    limit, multiline = FIELDS[field]
    if key in ALWAYS_REFUSED or len(value) > limit:
        return True
    return not multiline and any(c in value for c in BREAKS)


class World:
    def __init__(self) -> None:
        self.stored: dict[str, list[str]] = {}  # field -> values accepted
        self.meetings: list[int] = []
        self.organisations: list[int] = []
        self.contacts: list[int] = []
        self.groups: list[int] = []

    def keep(self, field: str, value: str) -> None:
        self.stored.setdefault(field, []).append(value)


async def _create(client, path: str, body: dict, text_fields: dict[str, str], world: World):
    """Create with each hostile field; a field that must be refused is checked alone first."""
    key = text_fields.pop("_key")
    for field in list(text_fields):
        if refused(key, field):
            response = await client.post(path, json={**body, field: HOSTILE[key]})
            assert response.status_code == 400, (path, field, key, response.status_code)
            del text_fields[field]
    response = await client.post(path, json={**body, **text_fields})
    assert response.status_code == 201, (path, key, response.text[:500])
    record = response.json()
    for field, value in text_fields.items():
        assert record[field] == value, (path, field, key)  # stored exactly, not « cleaned »
        world.keep(field, value)
    return record


@pytest.fixture
async def world(coordinator) -> World:
    client = coordinator.client
    world = World()
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10)
    for number, key in enumerate(HOSTILE):
        value = HOSTILE[key]
        org = await _create(
            client,
            "/api/v1/organisations",
            {"name": f"Organisation {key}", "kind": "association"},
            {"_key": key, "name": value, "notes": value, "address": value},
            world,
        )
        contact = await _create(
            client,
            "/api/v1/contacts",
            {
                "first_name": "Camille",
                "last_name": f"Contact {key}",
                "email": f"p{number}@commune.example",
            },
            {"_key": key, "last_name": value, "notes": value},
            world,
        )
        await client.post(
            "/api/v1/affiliations",
            json={"contact": contact["id"], "organisation": org["id"], "function": "présidente"},
        )
        group = await _create(
            client,
            "/api/v1/groups",
            {"name": f"Instance {key}", "kind": "commission_thematique"},
            {"_key": key, "name": value, "description": value, "default_location": value},
            world,
        )
        membership = await client.post(
            "/api/v1/memberships",
            json={
                "contact": contact["id"],
                "working_group": group["id"],
                "organisation": org["id"],
            },
        )
        assert membership.status_code == 201, membership.text
        meeting = await _create(
            client,
            "/api/v1/meetings",
            {
                "working_group": group["id"],
                "title": f"Réunion {key}",
                "starts_at": (start + dt.timedelta(hours=number)).isoformat(),
                "ends_at": (start + dt.timedelta(hours=number, minutes=90)).isoformat(),
            },
            {"_key": key, "title": value, "location": value, "agenda": value},
            world,
        )
        world.meetings.append(meeting["id"])
        world.organisations.append(org["id"])
        world.contacts.append(contact["id"])
        world.groups.append(group["id"])
        invited = await client.post(
            f"/api/v1/meetings/{meeting['id']}/invitations", json={"contacts": [contact["id"]]}
        )
        assert invited.status_code in (200, 201), invited.text
        sent = await client.post(f"/api/v1/meetings/{meeting['id']}/invitations/send")
        assert sent.status_code in (200, 202), sent.text
    return world


PAYLOAD_CALLS = ("alert('maillage')", "alert(1)", "alert(2)", "alert(document.cookie)")


def _assert_inert_text(text: str) -> None:
    """The markup of the corpus never appears unescaped (escaped, it is harmless text)."""
    assert "<script>alert" not in text
    assert "<img src=x onerror" not in text


async def check_ical_feeds(coordinator, world):
    body = (await coordinator.client.get("/calendar/territory.ics")).content
    calendar = icalendar.Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert len(events) == len(world.meetings)  # no event smuggled in or cut short
    summaries = {str(event["SUMMARY"]) for event in events}
    assert set(world.stored["title"]) <= summaries
    for event in events:
        attendees = event.get("ATTENDEE", [])
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert all("pirate.example" not in str(a) for a in attendees)
        assert len(attendees) <= 1
    for line in body.split(b"\r\n"):
        assert not line.startswith(b"ATTENDEE:mailto:espion"), line
    # Every meeting's own file parses too, with a second, stricter reader.
    from ical.calendar_stream import IcsCalendarStream

    IcsCalendarStream.calendar_from_ics(body.decode())
    for meeting_id in world.meetings[:5]:
        single = await coordinator.client.get(f"/calendar/meetings/{meeting_id}.ics")
        assert len(icalendar.Calendar.from_ical(single.content).walk("VEVENT")) == 1


async def check_invitation_emails(coordinator, world):
    rows = await outbox_rows()
    assert len(rows) == len(world.meetings)
    titles = set(world.stored["title"])
    for row in rows:
        message = email.message_from_string(row["raw_message"], policy=policy.default)
        assert message["Bcc"] is None and message["X-Injecte"] is None
        assert len(message.get_all("To")) == 1
        assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
        assert any(title in str(message["Subject"]) for title in titles) or "Réunion" in str(
            message["Subject"]
        )
        parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert parts, "une invitation sans partie iCalendar"
        for part in parts:
            invitation = icalendar.Calendar.from_ical(part.get_content())
            assert len(invitation.walk("VEVENT")) == 1
            assert str(invitation["METHOD"]) == part.get_param("method")
        for part in message.walk():
            if part.get_content_type() == "text/html":
                _assert_parsed_html_is_inert(part.get_content())


async def check_csv_exports(coordinator, world):
    for entity in ("contacts", "organisations", "memberships", "meetings"):
        await _check_csv(coordinator, world, entity)


async def _check_csv(coordinator, world, entity):
    response = await coordinator.client.get(f"/api/v1/exports/{entity}.csv")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
    assert len(rows) >= 1 + len(HOSTILE) - len(ALWAYS_REFUSED)
    width = len(rows[0])
    for row in rows:
        assert len(row) == width  # a line break or a quote inside a value broke no row
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell[:40]


def _delimiter(text: str) -> str:
    header = text.splitlines()[0]
    return ";" if header.count(";") > header.count(",") else ","


async def check_xlsx_exports(coordinator, world):
    for entity in ("contacts", "organisations", "meetings", "annuaire"):
        response = await coordinator.client.get(f"/api/v1/exports/{entity}.xlsx")
        assert response.status_code == 200
        _assert_workbook_inert(response.content)


def _assert_workbook_inert(content: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(content))
    cells = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                cells += 1
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    # (#21) Stored as text with Excel's own guard, no visible apostrophe.
                    assert cell.data_type == "s" and cell.quotePrefix, cell.value[:40]
    assert cells > 0


async def check_annual_report(coordinator, world):
    year = dt.date.today().year
    docx_file = await coordinator.client.get(
        "/api/v1/reports/annual", params={"year": year, "format": "docx"}
    )
    assert docx_file.status_code == 200, docx_file.text[:300]
    document = docx.Document(io.BytesIO(docx_file.content))
    assert document.paragraphs
    _assert_every_xml_part_parses(docx_file.content)
    xlsx_file = await coordinator.client.get(
        "/api/v1/reports/annual", params={"year": year, "format": "xlsx"}
    )
    assert xlsx_file.status_code == 200
    _assert_workbook_inert(xlsx_file.content)
    _assert_every_xml_part_parses(xlsx_file.content)


def _assert_every_xml_part_parses(content: bytes) -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(archive.read(name), parser)


async def check_gexf(coordinator, world):
    response = await coordinator.client.get("/api/v1/network/export/gexf")
    assert response.status_code == 200
    graph = nx.read_gexf(io.BytesIO(response.content))
    labels = {str(data.get("label", "")) for _, data in graph.nodes(data=True)}
    for name in world.stored["name"]:
        assert name in labels or any(name in label for label in labels), name[:40]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self.data_islands: list[str] = []
        self._into: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            is_data = dict(attrs).get("type") == "application/json"
            self._into = self.data_islands if is_data else self.scripts
            self._into.append("")

    def handle_endtag(self, tag):
        self._into = None

    def handle_data(self, data):
        if self._into is not None:
            self._into[-1] += data


def _assert_parsed_html_is_inert(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag != "img" or all(name != "onerror" for name, _ in attrs), attrs
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name in ("href", "src", "action") and value:
                assert not value.strip().lower().startswith("javascript:"), (tag, value)
    for script in parser.scripts:
        assert not any(call in script for call in PAYLOAD_CALLS), script[:200]
    # Values travel to the page's script as JSON data islands: each must still parse whole,
    # so that no « </script> » inside a value closed the island early.
    for island in parser.data_islands:
        json.loads(island)


async def check_network_drawing(coordinator, world):
    for standalone in ("false", "true"):
        response = await coordinator.client.get(
            "/api/v1/network/graph.html", params={"standalone": standalone}
        )
        assert response.status_code == 200
        _assert_parsed_html_is_inert(response.text)
        _assert_inert_text(response.text)


async def check_pages(coordinator, world):
    """Every page that shows the hostile records, read as a browser would parse it."""
    paths = ["/", "/partenaires", "/contacts", "/instances", "/reunions", "/bilan"]
    paths += [f"/partenaires/{i}" for i in world.organisations]
    paths += [f"/reunions/{i}" for i in world.meetings]
    paths += [f"/contacts/{i}" for i in world.contacts] + [f"/instances/{i}" for i in world.groups]
    for path in paths:
        response = await coordinator.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        _assert_parsed_html_is_inert(response.text)
        _assert_inert_text(response.text)


OUTPUTS = {
    "pages HTML": check_pages,
    "iCalendar": check_ical_feeds,
    "courriels": check_invitation_emails,
    "CSV": check_csv_exports,
    "XLSX": check_xlsx_exports,
    "bilan DOCX et XLSX": check_annual_report,
    "GEXF": check_gexf,
    "dessin du réseau": check_network_drawing,
}


async def test_every_output_stays_well_formed_and_inert(coordinator, world):
    """One world (built once: it takes a few seconds), every output read back from it."""
    for check in OUTPUTS.values():
        await check(coordinator, world)


async def test_address_fields_refuse_anything_but_http_links(coordinator):
    """Websites and video links end up in href attributes: only http(s) gets in."""
    group = await coordinator.client.post("/api/v1/groups", json={"name": "COPIL", "kind": "copil"})
    for url in (
        HOSTILE["lien-javascript"],
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
    ):
        org = await coordinator.client.post(
            "/api/v1/organisations", json={"name": "Club", "kind": "association", "website": url}
        )
        assert org.status_code == 400, url
        meeting = await coordinator.client.post(
            "/api/v1/meetings",
            json={
                "working_group": group.json()["id"],
                "title": "COPIL",
                "starts_at": "2030-01-10T10:00:00+01:00",
                "ends_at": "2030-01-10T12:00:00+01:00",
                "video_url": url,
            },
        )
        assert meeting.status_code == 400, url
