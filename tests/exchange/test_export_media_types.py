"""Downloads carry one ``charset`` in their Content-Type (#16): Litestar appends
« ; charset=utf-8 » to every text/* media type itself, so a media type that already said it
went out as ``text/csv; charset=utf-8; charset=utf-8``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import maillage

TEXT_DOWNLOADS = [
    ("/api/v1/exports/contacts.csv?preset=caf", "text/csv; charset=utf-8"),
    ("/api/v1/exports/organisations.csv", "text/csv; charset=utf-8"),
    ("/api/v1/exports/contacts.vcf", "text/vcard; charset=utf-8"),
    ("/api/v1/rgpd/notice", "text/plain; charset=utf-8"),
    ("/api/v1/rgpd/register", "text/markdown; charset=utf-8"),
]


@pytest.mark.parametrize(("path", "expected"), TEXT_DOWNLOADS)
async def test_a_text_download_names_its_charset_once(world, coordinator, path, expected):
    response = await coordinator.client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == expected


async def test_a_spreadsheet_export_has_no_charset(world, coordinator):
    response = await coordinator.client.get("/api/v1/exports/contacts.xlsx?preset=caf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


def test_no_text_media_type_of_the_application_spells_its_charset():
    """Every other download of the application (reports, pages' CSV, the network's files)
    goes through the same Litestar door: a text/* media type must leave the charset to it."""
    spelled = re.compile(r"""["']text/[\w.+-]+;\s*charset=""", re.IGNORECASE)
    package = Path(maillage.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.parts[-2] != "mailing"  # messages' MIME parts are not HTTP answers
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if spelled.search(line)
    ]
    assert offenders == []
