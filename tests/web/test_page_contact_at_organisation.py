"""« Ajouter un contact » from an organisation's page (#21): the person, their function and
their primary affiliation in one form, written together or not at all."""

from __future__ import annotations

from maillage.tables import Affiliation, Contact
from tests.web.helpers import create, html_text

FORM = {"first_name": "Nadia", "last_name": "Benali", "email": "nadia.benali@amicale.example",
        "function": "Présidente", "is_primary": "on", "legal_basis": "mission_interet_public"}  # fmt: skip


async def test_a_contact_is_added_from_the_organisation_page(admin, coordinator_web):
    amicale = await create(admin.client, "organisations", {"name": "Amicale laïque", "kind": "association"})  # fmt: skip
    page = await coordinator_web.get(f"/partenaires/{amicale['id']}")
    url = f"/partenaires/{amicale['id']}/contacts/nouveau"
    assert f'href="{url}"' in page.text
    form = await coordinator_web.get(url)
    assert "Fonction dans l'organisation" in html_text(form)
    saved = await coordinator_web.post(url, FORM)
    assert saved.status_code == 303, html_text(saved)
    shown = html_text(await coordinator_web.get(saved.headers["location"]))
    assert "Contact « Nadia Benali » ajouté à « Amicale laïque »." in shown
    assert "Nadia Benali principal Présidente" in shown
    link = await Affiliation.select().where(Affiliation.organisation == amicale["id"]).first()
    assert link["function"] == "Présidente" and link["is_primary"]


async def test_a_refused_form_keeps_what_was_typed_and_writes_nothing(admin, coordinator_web):
    amicale = await create(admin.client, "organisations", {"name": "Amicale laïque", "kind": "association"})  # fmt: skip
    url = f"/partenaires/{amicale['id']}/contacts/nouveau"
    refused = await coordinator_web.post(url, {**FORM, "email": "pas-une-adresse"})
    assert refused.status_code == 400
    assert "Adresse électronique" in html_text(refused)
    assert 'value="Présidente"' in refused.text and 'value="Nadia"' in refused.text
    assert await Contact.count() == 0 and await Affiliation.count() == 0


async def test_the_affiliation_refused_leaves_no_contact_behind(admin, coordinator_web):
    """The affiliation is checked after the contact is written: the transaction undoes both."""
    amicale = await create(admin.client, "organisations", {"name": "Amicale laïque", "kind": "association"})  # fmt: skip
    url = f"/partenaires/{amicale['id']}/contacts/nouveau"
    refused = await coordinator_web.post(url, {**FORM, "function": "x" * 201})
    assert refused.status_code == 400
    assert await Contact.count() == 0


async def test_a_reader_cannot_add(admin, reader_web):
    amicale = await create(admin.client, "organisations", {"name": "Amicale laïque", "kind": "association"})  # fmt: skip
    url = f"/partenaires/{amicale['id']}/contacts/nouveau"
    assert (await reader_web.post(url, FORM)).status_code == 403
    assert 'contacts/nouveau"' not in (await reader_web.get(f"/partenaires/{amicale['id']}")).text


async def test_the_service_undoes_the_contact_when_the_affiliation_is_refused(admin):
    """A role built by hand (no validation on the way in) is checked inside the transaction,
    after the contact is written: both go, or neither."""
    import pytest

    from maillage.actor import CLI
    from maillage.crm.people import Affiliated, add_contact_to_organisation
    from maillage.crm.schemas import ContactIn
    from maillage.errors import InvalidData

    amicale = await create(admin.client, "organisations", {"name": "Amicale laïque", "kind": "association"})  # fmt: skip
    person = ContactIn(first_name="Nadia", last_name="Benali")
    with pytest.raises(InvalidData):
        await add_contact_to_organisation(
            CLI, amicale["id"], person, Affiliated(function="x" * 201)
        )
    assert await Contact.count() == 0 and await Affiliation.count() == 0
