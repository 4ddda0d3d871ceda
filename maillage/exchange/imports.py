"""The import service: a file, a kind, a dry run or a commit, and a French report per line.

A dry run plans every line and writes nothing. A commit plans again inside one write
transaction (so that nobody changes the data between the plan and the writes) and applies it:
all or nothing, unless the person explicitly asked to import only the valid lines. Every record
written is audited, with the file as its source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from maillage.crm import audit
from maillage.crm.actor import Actor
from maillage.crm.errors import Conflict, ConflictingRecord, InvalidData, ServiceError
from maillage.crm.registry import SERVICES
from maillage.crm.resources import is_unique_violation
from maillage.crm.tables import AuditEvent
from maillage.db import read_transaction, write_transaction
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
from maillage.exchange.reading import MAX_COLUMNS, Sheet, UnreadableFile, read_table

AUDIT_BATCH = 500


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
    def rejected(self) -> list[LineOutcome]:
        return [line for line in self.lines if line.action == "rejet"]

    def summary(self) -> str:
        verb = "Import effectué" if self.committed else "Simulation (rien n'a été écrit)"
        return (
            f"{verb} : {self.count('creation')} ligne(s) avec création, "
            f"{self.count('mise_a_jour')} avec mise à jour, {self.count('inchange')} inchangée(s), "
            f"{self.count('rejet')} rejetée(s) sur {len(self.lines)}."
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
        }


class ImportRefused(ServiceError):
    """A commit asked for with rejected lines: nothing was written."""

    status_code = 400

    def __init__(self, report: ImportReport) -> None:
        rejected = report.rejected
        first = "; ".join(str(p) for line in rejected[:3] for p in line.problems[:1])
        super().__init__(
            f"Import non effectué : {len(rejected)} ligne(s) rejetée(s) ({first}…). Corrigez-les, "
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
    data: bytes, filename: str, kind: str, mapping: bytes | None
) -> tuple[Sheet, ColumnMap, list]:
    """Read the file and its header; refuse what cannot be imported at all."""
    _check_kind(kind)
    sheet = read_table(data, filename)
    explicit = parse_mapping(mapping, kind) if mapping else None
    position = find_header(sheet.lines, kind, explicit)
    header_line, headers = sheet.lines[position]
    body = sheet.lines[position + 1 :]
    if len(headers) > MAX_COLUMNS:
        raise UnreadableFile(
            f"Le fichier « {filename} » a {len(headers)} colonnes (limite : {MAX_COLUMNS}) : "
            "vérifiez le séparateur ou retirez les colonnes inutiles."
        )
    columns = map_columns(kind, header_line, [str(h) for h in headers], explicit)
    if not body:
        raise UnreadableFile(
            f"Le fichier « {filename} » ne contient que la ligne d'en-tête (ligne {header_line}) : "
            "aucune ligne à importer."
        )
    return sheet, columns, body


async def plan(kind: str, columns: ColumnMap, body: list) -> list[LineOutcome]:
    index = await Index.load(kind)
    planner = PLANNERS[kind](index, columns)
    outcomes = []
    width = len(columns.headers)
    for number, cells in body:
        line = Line(number, list(cells), columns)
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
    sheet, columns, body = prepare(data, filename, kind, mapping)
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
    async with write_transaction():
        report.lines = await plan(kind, columns, body)
        if report.rejected and not only_valid:
            raise ImportRefused(report)
        source = {"source": f"import « {filename} »"}
        await apply([op for line in report.lines for op in line.operations], actor, source)
    report.committed = True
    return report


def _resolved(value: Any) -> Any:
    if isinstance(value, Ref):
        assert value.id is not None, "a reference is created before it is used"
        return value.id
    return value


async def apply(operations: list[Operation], actor: Actor, source: dict[str, Any]) -> None:
    events: list[AuditEvent] = []
    for operation in operations:
        try:
            if operation.create:
                events.append(await _create(operation, actor, source))
            else:
                events.append(await _update(operation, actor, source))
        except Exception as error:
            if is_unique_violation(error):
                raise Conflict(
                    "Import interrompu : une valeur unique (SIRET, code INSEE…) vient d'être "
                    "enregistrée par quelqu'un d'autre. Relancez l'import. Rien n'a été écrit."
                ) from error
            raise
        if len(events) >= AUDIT_BATCH:
            await AuditEvent.insert(*events).run()
            events = []
    if events:
        await AuditEvent.insert(*events).run()


def _event(
    actor: Actor, action: str, entity: str, entity_id: int, changes: dict[str, Any]
) -> AuditEvent:
    return AuditEvent(
        user=actor.user_id,
        actor=actor.name,
        action=action,
        entity=entity,
        entity_id=entity_id,
        changes=audit.redact(changes),
    )


async def _create(operation: Operation, actor: Actor, source: dict[str, Any]) -> AuditEvent:
    service = SERVICES[operation.resource]
    table = service.table
    values = {k: _resolved(v) for k, v in operation.values.items()}
    columns = {
        k: v for k, v in values.items() if k in service._columns and k not in operation.links
    }
    row = table(**columns)
    if service.spec.search_fields:
        row.search = service._search_value(values)
    inserted = await table.insert(row).returning(table._meta.primary_key).run()
    record_id = inserted[0]["id"]
    operation.ref.id = record_id
    operation.ref.values.update(id=record_id, version=1)
    await service._write_links(record_id, operation.links)
    return _event(actor, "create", service.spec.entity, record_id, {**values, **source})


async def _update(operation: Operation, actor: Actor, source: dict[str, Any]) -> AuditEvent:
    service = SERVICES[operation.resource]
    table = service.table
    ref = operation.ref
    record_id, version = ref.id, ref.values.get("version", 1)
    changes = {k: _resolved(v) for k, v in operation.values.items()}
    update: dict[Any, Any] = {service._columns[k]: v for k, v in changes.items()}
    update[service._columns["version"]] = version + 1
    update[service._columns["updated_at"]] = dt.datetime.now(dt.UTC)
    if service.spec.search_fields:
        update[service._columns["search"]] = service._search_value(ref.values)
    pk = table._meta.primary_key
    if update:
        done = await (
            table.update(update)
            .where((pk == record_id) & (service._columns["version"] == version))
            .returning(pk)
            .run()
        )
        if not done:
            raise Conflict(
                f"{service.spec.label} n° {record_id} a été modifié(e) pendant l'import : "
                "relancez l'import. Rien n'a été écrit.",
                ConflictingRecord(service.spec.entity, record_id),
            )
    ref.values["version"] = version + 1
    for link in service.spec.links:
        targets = operation.links.get(link.field)
        if targets:
            rows = [
                link.table(**{link.owner_column: record_id, link.target_column: t}) for t in targets
            ]
            await link.table.insert(*rows).run()
    diff = {k: [_resolved(operation.before.get(k)), v] for k, v in changes.items()}
    diff.update({name: ["+", targets] for name, targets in operation.links.items()})
    return _event(actor, "update", service.spec.entity, record_id, {**diff, **source})  # type: ignore[arg-type]


def problems_of(report: ImportReport) -> list[Problem]:
    return [p for line in report.lines for p in line.problems]
