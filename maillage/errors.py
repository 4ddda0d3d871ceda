"""Errors the service layer raises; handlers turn them into HTTP answers or CLI messages.

Every message is French and addressed to the person: what is wrong, where, and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def _rebuilt(cls: type[ServiceError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ServiceError(Exception):
    status_code = 400
    headers: dict[str, str] = {}  # noqa: RUF012 - read only; a subclass may set its own

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a worker process (``offloop.in_process``), rebuilt as it was in the
        # serving process: the subclasses' ``__init__`` take other arguments than ``args``.
        return (_rebuilt, (type(self), self.args, self.__dict__))

    def to_dict(self) -> dict[str, Any]:
        return {"detail": self.message}


class InvalidData(ServiceError):
    """One or more fields break a rule; nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("Les données envoyées ne sont pas valides.")
        self.errors = errors

    @classmethod
    def one(cls, field_name: str, message: str) -> InvalidData:
        return cls([FieldError(field_name, message)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "errors": [{"field": e.field, "message": e.message} for e in self.errors],
        }


class NotFound(ServiceError):
    status_code = 404

    def __init__(self, label: str, record_id: int | str) -> None:
        super().__init__(f"{label} n° {record_id} introuvable.")


@dataclass
class ConflictingRecord:
    entity: str
    id: int | None
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Conflict(ServiceError):
    """The write would contradict the database: a stale version or a duplicate identifier."""

    status_code = 409

    def __init__(self, message: str, record: ConflictingRecord | None = None) -> None:
        super().__init__(message)
        self.record = record

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.message}
        if self.record is not None:
            body["conflict"] = {
                "entity": self.record.entity,
                "id": self.record.id,
                "label": self.record.label,
                **self.record.extra,
            }
        return body


class Forbidden(ServiceError):
    status_code = 403
