"""The page of commune indicators (#18): what /api/v1/indicators does, by hand, through the
page's own form — coordinators add, correct and delete, readers read; the same rules and French
errors next to the fields, and the same audit as the API."""

from __future__ import annotations

import re

import pytest

from maillage.tables import AuditEvent, CommuneIndicator
from tests.web.helpers import create, html_text

PAGE = "/diagnostic/indicateurs"


@pytest.fixture
async def commune(database, admin) -> dict:
    territory = await create(admin.client, "territories", {"name": "CC des Essais"})
    return await create(
        admin.client,
        "communes",
        {"insee_code": "73187", "name": "La Léchère", "territory": territory["id"]},
    )


def _form_fields(page: str) -> set[str]:
    """The names of the fields of the page's « Ajouter une valeur » form."""
    form = page[page.index('id="ajouter"') :]
    form = form[: form.index("</form>")]
    return set(re.findall(r'name="([a-z_]+)"', form))


async def test_a_coordinator_adds_corrects_and_deletes_a_value_through_the_form(
    commune, coordinator_web
):
    page = await coordinator_web.get(PAGE)
    assert page.status_code == 200, page.text
    assert _form_fields(page.text) == {
        "_csrf_token",
        "commune",
        "code",
        "value",
        "measured_on",
        "source",
    }
    assert "Places en EAJE" in page.text  # the indicators by their French names

    added = await coordinator_web.post(
        PAGE,
        {
            "commune": commune["id"],
            "code": "places_eaje",
            "value": "12,5",
            "measured_on": "2025-12-31",
            "source": "Cafdata 2025",
        },
    )

    assert added.status_code == 303, added.text
    row = await CommuneIndicator.select().first()
    assert (row["code"], row["value"], str(row["measured_on"])) == (
        "places_eaje",
        12.5,
        "2025-12-31",
    )
    listed = html_text(await coordinator_web.get(added.headers["location"]))
    assert "Valeur enregistrée : Places en EAJE de La Léchère au 31 décembre 2025." in listed
    assert "Places en EAJE 12,5 31 décembre 2025 Cafdata 2025" in listed
    event = await AuditEvent.select().where(AuditEvent.entity == "commune_indicator").first()
    assert event["action"] == "create" and event["entity_id"] == row["id"]

    edit = await coordinator_web.get(f"{PAGE}/{row['id']}/modifier")
    assert 'value="12.5"' in edit.text or 'value="12,5"' in edit.text
    # « Annuler » goes back to the commune's values (the shared record form, told where).
    assert f'<a href="{PAGE}?territoire=' in edit.text
    assert f'commune={commune["id"]}">Annuler</a>' in edit.text
    corrected = await coordinator_web.post(
        f"{PAGE}/{row['id']}/modifier",
        {
            "version": row["version"],
            "commune": commune["id"],
            "code": "places_eaje",
            "value": "14",
            "measured_on": "2025-12-31",
            "source": "Cafdata 2025",
        },
    )
    assert corrected.status_code == 303, corrected.text
    assert (await CommuneIndicator.select().first())["value"] == 14

    deleted = await coordinator_web.post(f"{PAGE}/{row['id']}/supprimer", {})
    assert deleted.status_code == 303
    assert await CommuneIndicator.count() == 0
    actions = [e["action"] for e in await AuditEvent.select().where(AuditEvent.entity == "commune_indicator").order_by(AuditEvent.id)]  # fmt: skip
    assert actions == ["create", "update", "delete"]


async def test_bad_values_are_refused_next_to_their_fields_in_french(commune, coordinator_web):
    response = await coordinator_web.post(
        PAGE,
        {"commune": commune["id"], "code": "places_eaje", "value": "douze", "measured_on": ""},
    )

    assert response.status_code == 400
    text = html_text(response)
    assert "Valeur : Saisissez un nombre positif (par exemple 12 ou 12,5)." in text
    assert "Date de la mesure : Ce champ est obligatoire." in text
    negative = await coordinator_web.post(
        PAGE,
        {
            "commune": commune["id"],
            "code": "places_eaje",
            "value": "-3",
            "measured_on": "2025-12-31",
        },
    )
    assert negative.status_code == 400
    assert 'aria-invalid="true"' in negative.text
    assert await CommuneIndicator.count() == 0


async def test_a_reader_reads_the_values_without_the_form(commune, coordinator, reader_web):
    await create(
        coordinator.client,
        "indicators",
        {
            "commune": commune["id"],
            "code": "enfants_moins_3_ans",
            "value": 80,
            "measured_on": "2025-01-01",
        },
    )

    page = await reader_web.get(PAGE)

    assert page.status_code == 200
    assert "Enfants de moins de 3 ans 80 1er janvier 2025" in html_text(page)
    assert 'id="ajouter"' not in page.text and "/supprimer" not in page.text
    refused = await reader_web.post(
        PAGE,
        {
            "commune": commune["id"],
            "code": "allocataires",
            "value": "3",
            "measured_on": "2025-01-01",
        },
    )
    assert refused.status_code == 403
    diagnostic = await reader_web.get("/diagnostic")
    assert 'href="/diagnostic/indicateurs' in diagnostic.text
