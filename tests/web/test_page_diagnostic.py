"""The « Diagnostic » page (#18): communes coloured by their partners on an axis, zones
blanches hatched, a table for screen readers, partners sized by centrality on a second map, and
the petite enfance duties with the form recording the schéma and the relais."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from maillage.actor import CLI, REGISTERS
from maillage.crm import scope
from maillage.opendata import registers
from maillage.opendata.load import load_territory
from maillage.tables import (
    Axis,
    Commune,
    CommuneChildcare,
    CommuneIndicator,
    Organisation,
    Territory,
    User,
)
from tests.web.helpers import html_text

SIREN = "247300015"  # 3 communes, Savoie


@pytest.fixture(scope="module")
def snapshot() -> registers.Snapshot:
    return registers.read_territory(
        SIREN, key=registers.mandate_key("test-secret-key-not-for-production")
    )


@pytest.fixture
async def territory(database, snapshot) -> dict:
    """The real territory, a partner on the first axis in La Léchère, one big commune."""
    report = await load_territory(REGISTERS, SIREN, dry_run=False, snapshot=snapshot)
    axis = await Axis.select(Axis.id, Axis.name).order_by(Axis.position).first()
    lechere = await Commune.select(Commune.id).where(Commune.insee_code == "73187").first()
    await Commune.update({Commune.population: 12_500}).where(Commune.insee_code == "73187")
    return {"id": report.territory_id, "axis": axis, "lechere": lechere["id"]}


async def _partner(client, name: str, commune: int, axis: int) -> dict:
    response = await client.post(
        "/api/v1/organisations",
        json={"name": name, "kind": "association", "commune": commune, "axes": [axis]},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _svgs(text: str) -> list[str]:
    return re.findall(r"<svg xmlns[^>]*class=\"territory-map\".*?</svg>", text, flags=re.S)


async def test_the_communes_map_hatches_zones_blanches_and_the_table_says_the_same(
    territory, coordinator, reader_web
):
    axis = territory["axis"]
    await _partner(coordinator.client, "Centre social des Cimes", territory["lechere"], axis["id"])

    response = await reader_web.get(f"/diagnostic?axe={axis['id']}")

    assert response.status_code == 200, response.text
    communes_map, partners_map = _svgs(response.text)
    assert communes_map.count("<path ") == 3
    # Two communes without a partner on the axis are hatched, the third is filled.
    assert communes_map.count('fill="url(#carte-communes-hachures)"') == 2
    assert '<pattern id="carte-communes-hachures"' in communes_map
    assert "La Léchère (73187) : 12\u202f500 habitants ; Partenaires sur l&#x27;axe" in communes_map
    text = html_text(response)
    assert "La Léchère 12 500 1" in text
    assert "zone blanche" in text
    assert "Zone blanche : aucun partenaire sur l'axe" in text
    # The partner is drawn at its commune, on the second map, with its centrality.
    assert partners_map.count("<circle ") >= 1
    assert "Centre social des Cimes (La Léchère)" in partners_map
    assert "sous-connecté" in partners_map  # alone: no tie to anyone
    assert "https://" not in response.text.replace("http://www.w3.org/2000/svg", "")


async def test_a_commune_over_10000_inhabitants_must_have_a_schema_and_a_relais(
    territory, coordinator_web, reader_web
):
    page = await reader_web.get("/diagnostic")
    text = html_text(page)
    assert "Plus de 10 000 habitants : schéma pluriannuel" in text
    assert "Schéma et relais" in text
    assert 'action="/diagnostic/communes/' not in page.text  # a reader cannot record

    saved = await coordinator_web.post(
        f"/diagnostic/communes/{territory['lechere']}/petite-enfance",
        {"schema": "oui", "relais": "non", "territoire": str(territory["id"])},
    )

    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"/diagnostic?territoire={territory['id']}")
    row = await CommuneChildcare.select().first()
    assert (row["commune"], row["schema_exists"], row["relais_exists"]) == (
        territory["lechere"],
        True,
        False,
    )


async def test_a_bad_answer_to_the_childcare_form_is_refused_in_french(territory, coordinator_web):
    response = await coordinator_web.post(
        f"/diagnostic/communes/{territory['lechere']}/petite-enfance", {"schema": "peut-être"}
    )
    assert response.status_code == 303
    page = await coordinator_web.get("/diagnostic")
    assert "Réponse attendue : oui, non ou non renseigné." in html_text(page)
    assert await CommuneChildcare.count() == 0


async def test_the_childcare_api_reads_and_records(territory, coordinator, reader):
    url = f"/api/v1/communes/{territory['lechere']}/childcare"
    before = await reader.client.get(url)
    assert before.json()["duty"] == "schema_relais"
    assert before.json()["schema_exists"] is None

    saved = await coordinator.client.put(url, json={"schema_exists": True, "relais_exists": True})
    assert saved.status_code == 200, saved.text
    assert (await reader.client.get(url)).json()["relais_exists"] is True
    assert (await reader.client.put(url, json={"schema_exists": False})).status_code == 403
    wrong = await coordinator.client.put(url, json={"schema_exists": "oui"})
    assert wrong.status_code == 400


async def test_an_unknown_axis_is_a_french_message_not_an_error(territory, reader_web):
    response = await reader_web.get("/diagnostic?axe=9999")
    assert response.status_code == 400
    assert "Axe n° 9999 inconnu." in html_text(response)


async def test_without_outlines_the_page_says_how_to_get_maps(database, coordinator, reader_web):
    commune = await coordinator.client.post(
        "/api/v1/communes", json={"insee_code": "35238", "name": "Rennes", "population": 220_000}
    )
    assert commune.status_code == 201
    await Organisation.count()
    response = await reader_web.get("/diagnostic")
    assert response.status_code == 200
    assert "Aucun contour de commune n'est connu" in html_text(response)


async def test_the_communes_can_be_coloured_by_the_coverage_rate(territory, reader_web):
    for code, value in (("places_eaje", 30), ("enfants_moins_3_ans", 60)):
        await CommuneIndicator.insert(
            CommuneIndicator(
                commune=territory["lechere"],
                code=code,
                value=value,
                measured_on=dt.date(2024, 12, 31),
                source="Cafdata",
            )
        )

    response = await reader_web.get("/diagnostic?mesure=taux_couverture_eaje")

    assert response.status_code == 200, response.text
    assert '<option value="taux_couverture_eaje" selected>' in response.text
    communes_map = _svgs(response.text)[0]
    assert "La Léchère (73187) : 12\u202f500 habitants ; Places en EAJE pour 100 enfants" in (
        communes_map
    )
    assert ": 50" in communes_map and "non renseigné" in communes_map
    text = html_text(response)
    assert "Valeur non renseignée" in text
    assert "La Léchère 12 500 0 zone blanche 50" in text


async def test_an_indicator_absent_from_the_territory_is_refused(territory, reader_web):
    response = await reader_web.get("/diagnostic?mesure=allocataires")
    assert response.status_code == 400
    assert "Indicateur inconnu ou absent de ce territoire : « allocataires »." in html_text(
        response
    )


async def test_partners_are_sized_by_centrality_and_the_isolated_are_marked(
    territory, coordinator, reader_web
):
    axis = territory["axis"]["id"]
    creche = await _partner(coordinator.client, "Crèche des Cimes", territory["lechere"], axis)
    ram = await _partner(coordinator.client, "Relais des Cimes", territory["lechere"], axis)
    tie = await coordinator.client.post(
        "/api/v1/partnerships",
        json={"organisation": creche["id"], "partner": ram["id"], "kind": "partenariat"},
    )
    assert tie.status_code == 201, tie.text

    response = await reader_web.get("/diagnostic")

    partners_map = _svgs(response.text)[1]
    circles = re.findall(r'<circle [^>]*r="([\d.]+)"[^>]*>\s*<title>([^<]*)</title>', partners_map)
    radius = {title.split(" (")[0]: float(r) for r, title in circles}
    assert radius["Crèche des Cimes"] > 3.0 and radius["Relais des Cimes"] > 3.0
    assert radius["Mairie de la Léchère"] == 3.0  # the town hall has no tie: isolated
    dashed = re.findall(
        r"<circle [^>]*stroke-dasharray[^>]*>\s*<title>([^<]*)</title>", partners_map
    )
    assert any(t.startswith("Mairie de la Léchère") for t in dashed)
    text = html_text(response)
    assert "Crèche des Cimes La Léchère 100 1" in text
    assert "Mairie de la Léchère La Léchère 0 0 oui : isolé" in text


async def test_a_coordinator_of_another_territory_cannot_record(territory, coordinator):
    other = await Territory.insert(Territory(name="CC voisine", search="cc voisine")).returning(
        Territory.id
    )
    user = await User.select(User.id).where(User.email == coordinator.email).first()
    await scope.grant_territories(CLI, user["id"], [other[0]["id"]], "coordinateur")

    url = f"/api/v1/communes/{territory['lechere']}/childcare"
    refused = await coordinator.client.put(url, json={"schema_exists": True})

    assert refused.status_code == 403
    assert "n'appartient pas à un territoire où vous êtes coordinateur" in refused.text
    assert await CommuneChildcare.count() == 0


async def test_without_any_axis_the_maps_still_show(territory, reader_web):
    # A fresh database migrated without `maillage init` has no axis (found by bench/maps.py).
    await Axis.delete(force=True)
    response = await reader_web.get("/diagnostic")
    assert response.status_code == 200, response.text
    assert len(_svgs(response.text)) == 2
    assert "url(#carte-communes-hachures)" not in response.text


async def test_an_indicator_can_be_shown_as_measured_on_one_of_its_dates(territory, reader_web):
    for value, day in ((10, dt.date(2023, 12, 31)), (30, dt.date(2024, 12, 31))):
        await CommuneIndicator.insert(
            CommuneIndicator(
                commune=territory["lechere"],
                code="places_eaje",
                value=value,
                measured_on=day,
                source="Cafdata",
            )
        )

    latest = await reader_web.get("/diagnostic?mesure=places_eaje")
    assert latest.status_code == 200, latest.text
    assert '<option value="" selected>La plus récente de chaque commune</option>' in latest.text
    assert '<option value="2024-12-31">31 décembre 2024</option>' in latest.text
    assert '<option value="2023-12-31">31 décembre 2023</option>' in latest.text
    assert "La Léchère 12 500 0 zone blanche 30" in html_text(latest)

    older = await reader_web.get(
        "/diagnostic?mesure=places_eaje&date=2023-12-31&date_de=places_eaje"
    )
    assert older.status_code == 200, older.text
    assert '<option value="2023-12-31" selected>' in older.text
    text = html_text(older)
    assert "Places en EAJE au 31 décembre 2023" in text
    assert "La Léchère 12 500 0 zone blanche 10" in text

    # A date kept from another measure does not apply to the new one.
    switched = await reader_web.get(
        "/diagnostic?mesure=places_eaje&date=2022-01-01&date_de=allocataires"
    )
    assert switched.status_code == 200
    assert "La Léchère 12 500 0 zone blanche 30" in html_text(switched)

    missing = await reader_web.get(
        "/diagnostic?mesure=places_eaje&date=2022-01-01&date_de=places_eaje"
    )
    assert missing.status_code == 400
    assert "Aucune valeur de « Places en EAJE » au 1er janvier 2022 sur ce territoire." in (
        html_text(missing)
    )
    unreadable = await reader_web.get("/diagnostic?mesure=places_eaje&date=hier")
    assert unreadable.status_code == 400
    assert "Date illisible : « hier » (attendu AAAA-MM-JJ)." in html_text(unreadable)
