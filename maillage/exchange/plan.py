"""The plan of an import: records that exist or will, operations, and the report of each line.

Planning never writes. It validates each line with the registry's own rules (``SERVICES``:
types and lengths of the API schemas, control characters, SIRET/SIREN keys, e-mail, phone, INSEE
code…) and matches it against the database and the lines before it, so that a second line
naming the same organisation updates the one the first line creates.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from maillage.crm.resources import ResourceService
from maillage.errors import FieldError
from maillage.messages import translate_message


@dataclass(eq=False)
class Ref:
    """A record of the database, or one a previous line of the file will create."""

    entity: str
    values: dict[str, Any]
    id: int | None = None
    line: int | None = None  # the line that creates it

    @property
    def is_new(self) -> bool:
        return self.id is None


@dataclass
class Operation:
    resource: str  # a key of SERVICES
    ref: Ref
    values: dict[str, Any]  # create: every value; update: the changed ones
    links: dict[str, list[int]] = field(default_factory=dict)  # added link targets
    create: bool = True
    before: dict[str, Any] = field(default_factory=dict)  # update: the values it replaces


@dataclass
class Problem:
    line: int
    column: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"ligne": self.line, "colonne": self.column, "motif": self.message}

    def __str__(self) -> str:
        where = f"ligne {self.line}" + (f", colonne {self.column}" if self.column else "")
        return f"{where} : {self.message}"


ACTION_LABELS = {
    "creation": "création",
    "mise_a_jour": "mise à jour",
    "inchange": "inchangée",
    "rejet": "rejetée",
}


@dataclass
class LineOutcome:
    line: int
    action: str = "inchange"  # creation, mise_a_jour, inchange, rejet
    summary: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    on_success: list[Callable[[], None]] = field(default_factory=list)

    def created(self, text: str) -> None:
        self.summary.append(text)
        self.action = "creation"

    def updated(self, text: str) -> None:
        self.summary.append(text)
        if self.action == "inchange":
            self.action = "mise_a_jour"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ligne": self.line,
            "action": self.action,
            "resume": " ; ".join(self.summary),
            "problemes": [p.to_dict() for p in self.problems],
            "avertissements": [w.to_dict() for w in self.warnings],
        }


def placeholder(value: Any) -> Any:
    """A reference to a record not created yet validates as an existing id would."""
    if isinstance(value, Ref):
        return value.id or 1
    return value


async def check_values(
    service: ResourceService,
    values: dict[str, Any],
    existing: dict[str, Any] | None,
    rules: bool = True,
) -> list[FieldError]:
    """The registry's rules for ``values`` (prepared in place); reference ids are not looked up
    (the import resolved them itself). ``rules=False`` keeps to types and lengths, for records
    whose rules read rows that earlier lines have not created yet."""
    errors = service.control_character_errors(values)
    if errors:
        return errors
    fields = _input_fields(service.spec.input)
    candidate = {k: placeholder(v) for k, v in values.items() if k in fields}
    try:
        msgspec.convert(candidate, service.spec.input)
    except msgspec.ValidationError as error:
        translated = translate_message(str(error), None)
        return [FieldError(translated["field"], translated["message"])]
    for prepare in service.spec.preparers:
        await prepare(values, existing)
    if not rules:
        return errors
    for validate in service.spec.validators:
        errors += await validate(
            {k: placeholder(v) for k, v in values.items()}, existing
        )  # the validators never keep what they read
    # A SIRET held out of the importer's territories (#20): refused without naming the record.
    record_id = existing.get("id") if existing else None
    errors += await service.hidden_unique_errors(values, record_id)
    return errors


@functools.cache
def _input_fields(struct: type) -> frozenset[str]:
    # msgspec.structs.fields evaluates the type annotations on every call: once per line and
    # record was a tenth of an import's planning.
    return frozenset(f.name for f in msgspec.structs.fields(struct))


def identity(value: Any) -> Any:
    return value.id if isinstance(value, Ref) and value.id is not None else value


def changes_between(existing: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if identity(existing.get(k)) != identity(v)}


def french_list(names: list[str]) -> str:
    return ", ".join(names)


def today() -> dt.date:
    return dt.date.today()
