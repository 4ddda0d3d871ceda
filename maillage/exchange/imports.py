"""The import service: a file, a kind, a dry run or a commit, and a French report per line.

A dry run plans every line and writes nothing. A commit plans again inside one write
transaction (so that nobody changes the data between the plan and the writes) and applies it:
all or nothing, unless the person explicitly asked to import only the valid lines. Every record
written is audited, with the file as its source.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.resources import is_reference_gone, is_unique_violation
from maillage.db import read_transaction, retried_on_conflict, write_transaction
from maillage.errors import Conflict, ConflictingRecord, InvalidData, ServiceError
from maillage.exchange import reading
from maillage.exchange.cells import neutralise
from maillage.exchange.mapping import (
    FIELDS,
    KINDS,
    ColumnMap,
    find_header,
    map_columns,
    parse_mapping,
)
from maillage.exchange.plan import LineOutcome, Operation, Problem, Ref
from maillage.exchange.planners import PLANNERS, Index, Line
from maillage.exchange.reading import MAX_COLUMNS, Sheet, UnreadableFile
from maillage.french import plural, quoted
from maillage.tables import AuditEvent

# Rows per multi-row INSERT: far below the engines' limits on bound values (32,766 on SQLite
# ≥ 3.32, 32,767 on PostgreSQL) for the widest table.
BATCH = 500


@dataclass
class ImportReport:
    kind: str
    filename: str
    file_description: str
    header_line: int
    columns: dict[str, str]
    ignored_columns: list[str]
    notes: list[str]
    lines: list[LineOutcome] = field(default_factory=list)
    committed: bool = False
    only_valid: bool = False

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)

    @property
    def warnings(self) -> list[Problem]:
        """Every warning of every line, in the order of the file."""
        return [warning for line in self.lines for warning in line.warnings]

    @property
    def rejected(self) -> list[LineOutcome]:
        return [line for line in self.lines if line.action == "rejet"]

    def summary(self) -> str:
        verb = "Import effectué" if self.committed else "Simulation (rien n'a été écrit)"
        return (
            f"{verb} : {plural(self.count('creation'), 'ligne')} avec création, "
            f"{self.count('mise_a_jour')} avec mise à jour, "
            f"{plural(self.count('inchange'), 'inchangée', 'inchangées')}, "
            f"{plural(self.count('rejet'), 'rejetée', 'rejetées')} sur {len(self.lines)}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "fichier": self.filename,
            "format": self.file_description,
            "ligne_en_tete": self.header_line,
            "colonnes": self.columns,
            "colonnes_ignorees": self.ignored_columns,
            "remarques": self.notes,
            "enregistre": self.committed,
            "seulement_lignes_valides": self.only_valid,
            "resume": self.summary(),
            "totaux": {
                action: self.count(action)
                for action in ("creation", "mise_a_jour", "inchange", "rejet")
            },
            "lignes": [line.to_dict() for line in self.lines],
            "nombre_avertissements": len(self.warnings),
        }


def warnings_csv(report: ImportReport) -> bytes:
    """Every warning of an import as a CSV file a spreadsheet opens (UTF-8 with BOM, « ; »):
    line, column and text; cells are neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Ligne", "Colonne", "Avertissement"])
    for warning in report.warnings:
        writer.writerow(
            [warning.line, neutralise(warning.column or ""), neutralise(warning.message)]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class ImportRefused(ServiceError):
    """A commit asked for with rejected lines: nothing was written."""

    status_code = 400

    def __init__(self, report: ImportReport) -> None:
        rejected = report.rejected
        first = "; ".join(str(p) for line in rejected[:3] for p in line.problems[:1])
        super().__init__(
            f"Import non effectué : {plural(len(rejected), 'ligne rejetée', 'lignes rejetées')} ({first}…). Corrigez-les, "
            "ou importez seulement les lignes valides (option --lignes-valides, "
            "paramètre only_valid=true). Rien n'a été écrit."
        )
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        return {"detail": self.message, "rapport": self.report.to_dict()}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidData.one(
            "kind", f"Type d'import inconnu « {kind} » : choisissez {', '.join(KINDS)}."
        )


def prepare(
    sheet: Sheet, filename: str, kind: str, mapping: bytes | None
) -> tuple[Sheet, ColumnMap, list[tuple[int, list[Any]]]]:
    """Find the file's header; refuse what cannot be imported at all."""
    explicit = parse_mapping(mapping, kind) if mapping else None
    position = find_header(sheet.lines, kind, explicit)
    header_line, headers = sheet.lines[position]
    body = sheet.lines[position + 1 :]
    if len(headers) > MAX_COLUMNS:
        raise UnreadableFile(
            f"Le fichier {quoted(filename)} a {len(headers)} colonnes (limite : {MAX_COLUMNS}) : "
            "vérifiez le séparateur ou retirez les colonnes inutiles."
        )
    columns = map_columns(kind, header_line, [str(h) for h in headers], explicit)
    if not body:
        raise UnreadableFile(
            f"Le fichier {quoted(filename)} ne contient que la ligne d'en-tête (ligne {header_line}) : "
            "aucune ligne à importer."
        )
    return sheet, columns, body


async def plan(
    kind: str, columns: ColumnMap, body: list[tuple[int, list[Any]]]
) -> list[LineOutcome]:
    index = await Index.load(kind)
    planner = PLANNERS[kind](index, columns)
    outcomes = []
    width = len(columns.headers)
    lines = [Line(number, list(cells), columns) for number, cells in body]
    planner.survey(lines)
    for line in lines:
        cells = line.cells
        extra = [c for c in cells[width:] if str(c).strip()]
        if extra:
            line.problem(
                None,
                f"{len(cells)} valeurs pour {width} colonnes d'en-tête : une valeur contient "
                "sans doute le séparateur (mettez-la entre guillemets) — ligne ignorée",
            )
        else:
            await planner.plan_line(line)
        outcome = line.outcome
        if outcome.problems:
            outcome.action = "rejet"
            outcome.operations = []
            outcome.summary = []
        else:
            for action in outcome.on_success:
                action()
        outcomes.append(outcome)
    return outcomes


async def run_import(
    actor: Actor,
    data: bytes,
    filename: str,
    kind: str = "contacts",
    mapping: bytes | None = None,
    commit: bool = False,
    only_valid: bool = False,
) -> ImportReport:
    _check_kind(kind)
    sheet = await reading.read_table_off_loop(data, filename)
    sheet, columns, body = prepare(sheet, filename, kind, mapping)
    labels = {f.name: f.label for f in FIELDS[kind]}
    report = ImportReport(
        kind=kind,
        filename=filename,
        file_description=sheet.describe(),
        header_line=columns.header_line,
        columns={columns.headers[i]: labels[name] for name, i in columns.fields.items()},
        ignored_columns=columns.ignored,
        notes=sheet.notes,
        only_valid=only_valid,
    )
    if not commit:
        async with read_transaction():
            report.lines = await plan(kind, columns, body)
        return report

    async def written() -> None:
        async with write_transaction():
            report.lines = await plan(kind, columns, body)
            if report.rejected and not only_valid:
                raise ImportRefused(report)
            source = {"source": f"import {quoted(filename)}"}
            await apply([op for line in report.lines for op in line.operations], actor, source)

    try:
        # Planned and written again whole when PostgreSQL cancels the transaction for
        # crossing another write (a deadlock): nothing of it was written (#20).
        await retried_on_conflict(written)
    except Exception as error:
        gone = await _record_gone(error, report.lines)
        if gone is None:
            raise
        raise gone from error
    report.committed = True
    return report


async def _record_gone(error: Exception, lines: list[LineOutcome]) -> Conflict | None:
    """A record the plan found, deleted while the import was written (the duplicate a merge
    removed, #20): the write waited for the delete, then failed on its foreign key or its
    trigger, and the whole import was rolled back. Read again once the transaction is over,
    the first line pointing at a record gone is named, with the record. None when the error
    is another."""
    if not is_reference_gone(error):
        return None
    for line in lines:
        for operation in line.operations:
            values = {k: v.id if isinstance(v, Ref) else v for k, v in operation.values.items()}
            existing = {k: v for k, v in values.items() if k not in _created(operation)}
            service = SERVICES[operation.resource]
            missing = await service.references_gone(error, existing, operation.links)
            if missing is not None:
                return Conflict(
                    f"Import interrompu : ligne {line.line} : "
                    f"{missing.errors[0].message.removesuffix('.')} : la fiche a été fusionnée "
                    "ou supprimée pendant l'import. Relancez l'import. Rien n'a été écrit."
                )
    return None


def _created(operation: Operation) -> set[str]:
    """The fields of ``operation`` naming a record the import itself created (rolled back
    with it): not to be looked for again."""
    return {k for k, v in operation.values.items() if isinstance(v, Ref) and v.line is not None}


def _resolved(value: Any) -> Any:
    if isinstance(value, Ref):
        assert value.id is not None, "a reference is created before it is used"
        return value.id
    return value


async def apply(operations: list[Operation], actor: Actor, source: dict[str, Any]) -> None:
    """Write the plan: creations batched per table (multi-row INSERTs), updates one by one, in
    waves that respect what each operation refers to; one audit event per record written."""
    events: list[AuditEvent | None] = [None] * len(operations)
    try:
        for wave in _waves(operations):
            by_resource: dict[str, list[int]] = {}
            for position in wave:
                if operations[position].create:
                    by_resource.setdefault(operations[position].resource, []).append(position)
            for resource, positions in by_resource.items():
                created = await _create_many(resource, [operations[p] for p in positions])
                for position, event in zip(positions, created, strict=True):
                    events[position] = _event(actor, *event, source)
            for position in wave:
                if not operations[position].create:
                    events[position] = await _update(operations[position], actor, source)
    except Exception as error:
        if is_unique_violation(error):
            raise Conflict(
                "Import interrompu : une valeur unique (SIRET, code INSEE…) vient d'être "
                "enregistrée par quelqu'un d'autre. Relancez l'import. Rien n'a été écrit."
            ) from error
        raise
    await _place(operations)
    written = [event for event in events if event is not None]
    for start in range(0, len(written), BATCH):
        await AuditEvent.insert(*written[start : start + BATCH]).run()


async def _place(operations: list[Operation]) -> None:
    """Written in bulk, the partners are placed in their territories afterwards (#20): the
    organisations whose commune this run created, and the people whose ties it wrote."""
    organisations, contacts = [], []
    for operation in operations:
        if operation.resource == "organisations":
            organisations.append(operation.ref.id)
        elif operation.resource == "contacts":
            contacts.append(operation.ref.id)
        elif operation.resource in ("affiliations", "memberships"):
            contacts.append(_resolved(operation.ref.values.get("contact")))
    await territory_scope.place_written(organisations, contacts)


def _waves(operations: list[Operation]) -> list[list[int]]:
    """Positions of the operations in waves: an operation comes in a later wave than the
    creation of any record it refers to, and never before an earlier operation on the same
    record (updates count versions); within a wave the original order is kept."""
    created_in: dict[int, int] = {}  # id(ref) → wave of its creation
    last_in: dict[int, int] = {}  # id(ref) → wave of the last operation on it
    waves: list[list[int]] = []
    for position, operation in enumerate(operations):
        refs = [v for v in operation.values.values() if isinstance(v, Ref)]
        if not operation.create:
            refs.append(operation.ref)
        wave = max((created_in[id(r)] + 1 for r in refs if id(r) in created_in), default=0)
        wave = max(wave, last_in.get(id(operation.ref), 0))
        if operation.create:
            created_in[id(operation.ref)] = wave
        last_in[id(operation.ref)] = wave
        while len(waves) <= wave:
            waves.append([])
        waves[wave].append(position)
    return waves


async def _create_many(
    resource: str, operations: list[Operation]
) -> list[tuple[str, str, int, dict[str, Any]]]:
    """Insert the records of ``operations`` (one table) with multi-row INSERTs, then their
    links; returns what each audit event needs."""
    service = SERVICES[resource]
    table = service.table
    pk = table._meta.primary_key
    rows, all_values = [], []
    for operation in operations:
        values = {k: _resolved(v) for k, v in operation.values.items()}
        fields = service.row_values({k: v for k, v in values.items() if k not in operation.links})
        rows.append(table(**fields))
        all_values.append(values)
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        inserted = await table.insert(*chunk).returning(pk).run()
        # A multi-row INSERT numbers its rows in the order of its VALUES on both engines
        # (SQLite: rowid max + 1, PostgreSQL: one nextval per row in turn).
        ids = sorted(r[pk._meta.name] for r in inserted)
        if len(ids) != len(chunk):
            raise RuntimeError(f"{len(ids)} identifiants pour {len(chunk)} lignes insérées")
        for operation, record_id in zip(operations[start : start + BATCH], ids, strict=True):
            operation.ref.id = record_id
            operation.ref.values.update(id=record_id, version=1)
    await _insert_links(service, operations)
    entity = service.spec.entity
    return [
        ("create", entity, operation.ref.id, values)  # type: ignore[misc]  # every ref has its id once inserted, above
        for operation, values in zip(operations, all_values, strict=True)
    ]


async def _insert_links(service: Any, operations: list[Operation]) -> None:
    for link in service.spec.links:
        rows = [
            link.table(**{link.owner_column: operation.ref.id, link.target_column: target})
            for operation in operations
            for target in dict.fromkeys(operation.links.get(link.field) or ())
        ]
        for start in range(0, len(rows), BATCH):
            await link.table.insert(*rows[start : start + BATCH]).run()


def _event(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int,
    changes: dict[str, Any],
    source: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        user=actor.user_id,
        actor=actor.name,
        action=action,
        entity=entity,
        entity_id=entity_id,
        changes=audit.redact({**changes, **(source or {})}),
    )


async def _update(operation: Operation, actor: Actor, source: dict[str, Any]) -> AuditEvent:
    service = SERVICES[operation.resource]
    ref = operation.ref
    record_id, version = ref.id, ref.values.get("version", 1)
    assert record_id is not None  # an update names a record the plan found
    changes = {k: _resolved(v) for k, v in operation.values.items()}
    if not await service.write_versioned(record_id, version, changes, ref.values):
        raise Conflict(
            f"{service.spec.label} n° {record_id} : une autre modification a été enregistrée "
            "pendant l'import ; relancez l'import. Rien n'a été écrit.",
            ConflictingRecord(service.spec.entity, record_id),
        )
    ref.values["version"] = version + 1
    for link in service.spec.links:
        targets = operation.links.get(link.field)
        if targets:
            columns: list[dict[str, Any]] = [
                {link.owner_column: record_id, link.target_column: t} for t in targets
            ]
            rows = [link.table(**c) for c in columns]
            await link.table.insert(*rows).run()
    diff = {k: [_resolved(operation.before.get(k)), v] for k, v in changes.items()}
    diff.update({name: ["+", targets] for name, targets in operation.links.items()})
    return _event(actor, "update", service.spec.entity, record_id, {**diff, **source})


def problems_of(report: ImportReport) -> list[Problem]:
    return [p for line in report.lines for p in line.problems]
