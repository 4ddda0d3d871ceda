"""The export service: one entity (or the whole « annuaire ») in one format, audited.

``start_export`` checks the request and returns an ``Export`` whose ``chunks`` stream the file;
the audit event (who, when, which filter, how many rows) is written when the last chunk has
been produced, so the row count is the real one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm import scope as territory_scope
from maillage.db import write_transaction
from maillage.errors import InvalidData
from maillage.exchange.sources import (
    ANNUAIRE,
    CAF_PRESET,
    SOURCES,
    Column,
    ExportFilters,
    Lookups,
    Source,
    closing,
    contact_pages,
)
from maillage.exchange.writers import (
    RowCounter,
    contact_uid,
    csv_chunks,
    vcard,
    xlsx_chunks,
)
from maillage.offloop import in_process

FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "vcf": "text/vcard",
}
ENTITIES = (*SOURCES, "annuaire")
PRESETS = ("caf",)


@dataclass
class Export:
    filename: str
    media_type: str
    chunks: AsyncIterator[bytes]
    counter: RowCounter

    @property
    def rows(self) -> int:
        return self.counter.rows


def check_request(entity: str, fmt: str, preset: str | None) -> None:
    if entity not in ENTITIES:
        raise InvalidData.one(
            "entity", f"Export inconnu « {entity} » : choisissez {', '.join(ENTITIES)}."
        )
    if fmt not in FORMATS:
        raise InvalidData.one("format", f"Format inconnu « {fmt} » : choisissez csv, xlsx ou vcf.")
    if preset is not None and preset not in PRESETS:
        raise InvalidData.one(
            "preset", f"Modèle inconnu « {preset} » : le seul modèle est « caf »."
        )
    if preset == "caf" and entity != "contacts":
        raise InvalidData.one("preset", "Le modèle « Export Caf » s'applique aux contacts.")
    if fmt == "vcf" and (entity != "contacts" or preset):
        raise InvalidData.one(
            "format", "Le format vCard (.vcf) ne sert qu'à exporter les contacts."
        )
    if entity == "annuaire" and fmt != "xlsx":
        raise InvalidData.one(
            "format", "L'annuaire complet s'exporte en XLSX (une feuille par type)."
        )


def start_export(
    actor: Actor,
    entity: str,
    fmt: str,
    filters: ExportFilters,
    preset: str | None = None,
    base_url: str = "",
) -> Export:
    check_request(entity, fmt, preset)
    scope = territory_scope.current()
    if scope is not None:
        # A scoped user exports what they see (#20): their territories' records and the shared
        # ones, consolidated when they cover several.
        if filters.territory is not None and filters.territory not in scope.roles:
            raise InvalidData.one("territory", "Territoire hors de votre périmètre.")
        filters.territories = scope.territories
    source = CAF_PRESET if preset == "caf" else SOURCES.get(entity)
    # vCards and the Caf list are for reaching people: those who objected are left out.
    if fmt == "vcf" or (source is not None and source.mailing):
        filters.mailing = True
    counter = RowCounter()
    stem = "export-caf" if preset == "caf" else entity
    filename = f"{stem}-{dt.date.today():%Y-%m-%d}.{fmt}"
    body = _built_off_loop(entity, fmt, preset, filters, base_url, counter)
    details = {"format": fmt, "modele": preset, "filtres": filters.described(), "fichier": filename}
    return Export(filename, FORMATS[fmt], _audited(body, actor, entity, details, counter), counter)


CHUNK_BYTES = 64 * 1024


async def _built_off_loop(
    entity: str,
    fmt: str,
    preset: str | None,
    filters: ExportFilters,
    base_url: str,
    counter: RowCounter,
) -> AsyncIterator[bytes]:
    """The file built whole in a heavy-work process (``offloop.in_process``), then streamed
    from its temporary copy, removed once sent or abandoned. Built here, reading and writing a
    département's 14,000 contacts held the loop for seconds, and ten exports at once for
    everyone (#16). The copy is the worker's own file (mode 600), never kept."""
    path, rows = await in_process(export_job, entity, fmt, preset, filters, base_url)
    try:
        counter.rows = rows
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


async def export_job(
    entity: str, fmt: str, preset: str | None, filters: ExportFilters, base_url: str
) -> tuple[str, int]:
    """Write the export to a temporary file; its path and number of rows."""
    source = CAF_PRESET if preset == "caf" else SOURCES.get(entity)
    counter = RowCounter()
    descriptor, path = tempfile.mkstemp(prefix="maillage-export-", suffix=f".{fmt}")
    try:
        with os.fdopen(descriptor, "wb") as file:
            async with closing(_body(entity, fmt, source, filters, base_url, counter)) as chunks:
                async for chunk in chunks:
                    file.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, counter.rows


def _body(
    entity: str,
    fmt: str,
    source: Source | None,
    filters: ExportFilters,
    base_url: str,
    counter: RowCounter,
) -> AsyncIterator[bytes]:
    if fmt == "vcf":
        return _vcards(filters, base_url, counter)
    if entity == "annuaire":
        sheets = [SOURCES[name] for name in ANNUAIRE]
    else:
        assert source is not None
        sheets = [source]
    if fmt == "csv":
        return _csv(sheets[0], filters, counter)
    return _xlsx(sheets, filters, counter)


# Each layer closes the generators it opened (``aclosing``): when the export is closed early
# (a client that left), the connections and transactions below are released at once, in the
# request's own context, instead of by the garbage collector in another one, where Piccolo
# cannot end a transaction (« created in a different Context ») and the connection leaks.


async def _csv(source: Source, filters: ExportFilters, counter: RowCounter) -> AsyncIterator[bytes]:
    lookups = await Lookups.load()
    async with (
        closing(source.rows(filters, lookups)) as rows,
        closing(csv_chunks(source.columns, rows, counter)) as chunks,
    ):
        async for chunk in chunks:
            yield chunk


async def _xlsx(
    sources: list[Source], filters: ExportFilters, counter: RowCounter
) -> AsyncIterator[bytes]:
    lookups = await Lookups.load()
    async with contextlib.AsyncExitStack() as stack:
        sheets: list[tuple[str, list[Column], AsyncIterator[list[list[Any]]]]] = []
        for s in sources:
            rows = await stack.enter_async_context(closing(s.rows(filters, lookups)))
            sheets.append((s.title, s.columns, rows))
        chunks = await stack.enter_async_context(closing(xlsx_chunks(sheets, counter)))
        async for chunk in chunks:
            yield chunk


async def _vcards(
    filters: ExportFilters, base_url: str, counter: RowCounter
) -> AsyncIterator[bytes]:
    lookups = await Lookups.load()
    async with closing(contact_pages(filters, dt.date.today())) as pages:
        async for page in pages:
            cards = []
            for person in page.rows:
                affiliation = (page.affiliations.get(person["id"]) or [{}])[0]
                extra: dict[str, Any] = {
                    "uid": contact_uid(base_url, person["id"]),
                    "commune": lookups.commune_name(person["commune"]),
                    "axes": [
                        lookups.axes[a]
                        for a in sorted(page.axes.get(person["id"], []))
                        if a in lookups.axes
                    ],
                }
                cards.append(vcard(person, affiliation, extra))
            counter.rows += len(cards)
            yield "".join(cards).encode("utf-8")


async def _audited(
    body: AsyncIterator[bytes],
    actor: Actor,
    entity: str,
    details: dict[str, Any],
    counter: RowCounter,
) -> AsyncIterator[bytes]:
    completed = False
    try:
        async with closing(body) as chunks:
            async for chunk in chunks:
                yield chunk
        completed = True
    finally:
        details = {**details, "lignes": counter.rows}
        if not completed:
            details["interrompu"] = True
        async with write_transaction():
            await audit.record(actor, "export", entity, None, details)


async def write_export(export: Export, path: Path) -> int:
    """Write an export to a file (the command line); returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        async for chunk in export.chunks:
            file.write(chunk)
    return export.rows


def kept_exports_dir(data_dir: Path) -> Path:
    """Where exports kept on the server live (the RGPD erasure scrubs them)."""
    return data_dir / "exports"
