"""Validation messages in French, for every door into the service layer.

msgspec and Litestar report validation problems in English (« Expected `int`, got `str` »); the
API, the pages and the imports show them to a person who reads French, so they are translated
here, field by field. No web dependency: `maillage.exchange` uses it too.
"""

from __future__ import annotations

import re
from typing import Any

_TYPE_NAMES = {
    "int": "un nombre entier",
    "str": "un texte",
    "bool": "vrai ou faux (true/false)",
    "float": "un nombre",
    "array": "une liste",
    "object": "un objet JSON",
    "null": "rien (null)",
    "date": "une date AAAA-MM-JJ",
    "datetime": "une date et heure avec fuseau (AAAA-MM-JJTHH:MM:SS+01:00)",
}

_TRANSLATIONS: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"Object missing required field `(?P<f>[^`]+)`"),
        lambda m: (m["f"], "Champ obligatoire manquant."),
    ),
    (
        re.compile(r"Object contains unknown field `(?P<f>[^`]+)`"),
        lambda m: (m["f"], "Champ inconnu : retirez-le (voir le schéma de l'API)."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` of length >= (?P<n>\d+)"),
        lambda m: (None, f"Texte trop court (au moins {m['n']} caractère(s))."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` of length <= (?P<n>\d+)"),
        lambda m: (None, f"Trop long (au plus {m['n']} caractères ou éléments)."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` (?:>=|>) (?P<n>-?[\d.]+)"),
        lambda m: (None, f"Valeur trop petite (minimum {m['n']})."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` (?:<=|<) (?P<n>-?[\d.]+)"),
        lambda m: (None, f"Valeur trop grande (maximum {m['n']})."),
    ),
    (
        re.compile(r"Expected `str` matching regex"),
        lambda m: (None, "Format invalide (lettres minuscules, chiffres et « _ » seulement)."),
    ),
    (
        re.compile(r"Invalid enum value (?P<v>.+)"),
        lambda m: (None, f"Valeur non reconnue {m['v']} : voir les valeurs permises."),
    ),
    (
        re.compile(r"Invalid RFC3339 encoded (?P<t>date|datetime)"),
        lambda m: (None, f"Date invalide : attendu {_TYPE_NAMES[m['t']]}."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`"),
        lambda m: (None, f"Type invalide : attendu {_type_label(m['want'])}."),
    ),
    (
        re.compile(r"(?:JSON is malformed|Input data was truncated|trailing characters)"),
        lambda m: ("corps", "Le corps de la requête n'est pas un JSON valide."),
    ),
]


def _type_label(names: str) -> str:
    parts = [_TYPE_NAMES.get(part.strip(), part.strip()) for part in names.split("|")]
    return " ou ".join(dict.fromkeys(parts))


def translate_message(message: str, key: str | None) -> dict[str, str]:
    """One Litestar/msgspec validation message as a French ``{field, message}``."""
    location = re.search(r"at `\$\.(?P<path>[^`]+)`", message)
    field = key or (location["path"] if location else "corps")
    for pattern, render in _TRANSLATIONS:
        match = pattern.search(message)
        if match:
            named_field, text = render(match)
            return {"field": named_field or field, "message": text}
    return {"field": field, "message": "Valeur invalide."}
