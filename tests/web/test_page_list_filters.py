"""The filters of a list page (#16): their options are written in Python (`filter_options`),
not by a loop of the template; the chosen one stays selected and names are escaped."""

from __future__ import annotations

from maillage.web.pages.labels import filter_options
from tests.web.helpers import create


def test_options_from_pairs_and_rows_with_the_current_one_selected():
    assert filter_options([("a", "A & B"), ("b", "<b>")], "b") == (
        '<option value="a">A &amp; B</option><option value="b" selected>&lt;b&gt;</option>'
    )
    rows = [{"id": 3, "name": "Saint-Aubin-d'Ardoise"}, {"id": 12, "name": "Rennes"}]
    assert filter_options(rows, "3") == (
        '<option value="3" selected>Saint-Aubin-d&#39;Ardoise</option>'
        '<option value="12">Rennes</option>'
    )
    assert "selected" not in filter_options(rows, None)
    assert "selected" not in filter_options(rows, "1")  # « 1 » is not the prefix of « 12 »


async def test_the_partner_list_keeps_the_chosen_commune_type_and_axis(admin, coordinator_web):
    commune = await create(admin.client, "communes", {"insee_code": "35001", "name": "L'Hermitage"})
    await create(admin.client, "communes", {"insee_code": "35002", "name": "Acigné"})
    page = await coordinator_web.get(f"/partenaires?commune={commune['id']}&type=association&axe=4")
    assert page.status_code == 200
    assert f'<option value="{commune["id"]}" selected>L&#39;Hermitage</option>' in page.text
    assert '<option value="association" selected>Association</option>' in page.text
    assert '<option value="4" selected>Parentalité</option>' in page.text
    assert page.text.count(" selected>") == 3
    assert (
        '<select id="filtre-commune" name="commune">\n    <option value="">Toutes</option>\n'
        in (page.text)
    )
