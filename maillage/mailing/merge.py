"""Merge fields: ``{{ prenom }}`` replaced by the contact's first name, and nothing else.

A template language, even sandboxed, lets whoever writes a mailing run loops, calls and
arithmetic (``range(10000)``, ``'x'*10**8``, ``2**(10**5)``), read globals (``{{ lipsum }}``
printed a memory address) or ask for files (``{% include %}``): the cost is unbounded and the
errors are English. A mailing only needs names, so only names are read: ``{{ name }}`` with
optional spaces; any other ``{{ … }}``, any ``{% … %}`` or ``{# … #}`` is refused in French,
with its line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from maillage.errors import InvalidData

_OPENER = re.compile(r"\{[{%#]")
_CLOSER = {"{{": "}}", "{%": "%}", "{#": "#}"}
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")


@dataclass(frozen=True)
class Field:
    name: str
    line: int


Piece = str | Field


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _where(field_name: str, line: int) -> str:
    """« à la ligne N » for the body, nothing for the one-line subject."""
    return f" à la ligne {line}" if field_name == "body" else ""


def _field(name: str) -> str:
    return "{{ " + name + " }}"


def _allowed(fields: Mapping[str, str]) -> str:
    return ", ".join(_field(name) for name in fields)


def _normalised(template: str) -> str:
    """Line breaks as ``\\n``, less one final line break, as the Jinja2 rendering gave them."""
    text = template.replace("\r\n", "\n").replace("\r", "\n")
    return text[:-1] if text.endswith("\n") else text


def parse(template: str, field_name: str, fields: Mapping[str, str]) -> list[Piece]:
    """The template as text and fields, or ``InvalidData`` saying in French what is wrong."""
    text = _normalised(template)
    pieces: list[Piece] = []
    position = 0
    for opener in _OPENER.finditer(text):
        if opener.start() < position:
            continue
        pieces.append(text[position : opener.start()])
        line = _line(text, opener.start())
        end = text.find(_CLOSER[opener[0]], opener.end())
        if end < 0:
            raise _unreadable(field_name, line)
        inside = text[opener.end() : end]
        name = _NAME.fullmatch(inside)
        if opener[0] != "{{" or name is None:
            raise _refused(field_name, line, text[opener.start() : end + 2], fields)
        pieces.append(Field(name[1], line))
        position = end + 2
    pieces.append(text[position:])
    _check_names(pieces, field_name, fields)
    return [piece for piece in pieces if piece != ""]


def _unreadable(field_name: str, line: int) -> InvalidData:
    return InvalidData.one(
        field_name,
        f"Modèle illisible{_where(field_name, line)} : un champ de fusion s'écrit entre "
        f"doubles accolades, par exemple {_field('prenom')}.",
    )


def _refused(field_name: str, line: int, found: str, fields: Mapping[str, str]) -> InvalidData:
    shown = found if len(found) <= 40 else found[:37] + "…"
    return InvalidData.one(
        field_name,
        f"Modèle refusé{_where(field_name, line)} : « {shown} » n'est pas un champ de fusion. "
        "Seuls les noms de champs sont permis, sans calcul, boucle, appel ni instruction "
        f"« {{% … %}} » : {_allowed(fields)}.",
    )


def _check_names(pieces: list[Piece], field_name: str, fields: Mapping[str, str]) -> None:
    unknown = [p for p in pieces if isinstance(p, Field) and p.name not in fields]
    if unknown:
        names = ", ".join(_field(name) for name in sorted({p.name for p in unknown}))
        where = _where(field_name, unknown[0].line)
        raise InvalidData.one(
            field_name,
            f"Champ de fusion inconnu{where} : {names}. Champs permis : {_allowed(fields)}.",
        )


def render(pieces: list[Piece], values: Mapping[str, str]) -> str:
    """The text with each field replaced by its value (missing values read as empty)."""
    return "".join(p if isinstance(p, str) else values.get(p.name) or "" for p in pieces)
