"""Click's own messages in French (usage errors, prompts, help notes).

Click translates its messages with the standard ``gettext`` functions, bound as module globals
(``_`` and ``ngettext``) and looked up at each call, but ships no French catalogue. Rather than
compile and install a ``.mo`` file for a few dozen sentences, the catalogue lives here and
replaces those two names in Click's modules. Placeholders keep Click's names; where Click
formats a value with ``!r`` the French text quotes it with « » instead. A message missing from
the catalogue stays in English (``tests/test_cli.py`` checks the common ones, and walks every
help page for English words).

A few of Click's words are not messages: the names of its parameter types (the ``ENTIER`` of
``--port ENTIER``), the strftime formats of dates, ranges (« 1<=x<=64 ») and the quoted lists of a refused choice
or of the names a person may have meant. Those
are set here too, on Click's classes, so that no command has to spell a metavar.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

_CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.termui",
    "click.types",
    "click.utils",
)

MESSAGES: dict[str, str] = {
    # Usage errors, the ones a person meets.
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Pour l'aide : « {command} {option} ».",
    "No such command {name!r}.": "commande inconnue : « {name} ».",
    "No such option {name!r}.": "option inconnue : « {name} ».",
    "No such option: {name}": "option inconnue : « {name} ».",
    "Missing command.": "commande manquante.",
    "Missing argument": "argument manquant :",
    "Missing option": "option manquante :",
    "Missing parameter": "paramètre manquant :",
    "Missing {param_type}": "{param_type} manquant :",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "argument": "argument",
    "option": "option",
    "parameter": "paramètre",
    "Invalid value for {param_hint}: {message}": "valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "valeur invalide : {message}",
    "Option {name!r} does not take a value.": "l'option « {name} » ne prend pas de valeur.",
    "Argument {name!r} takes {nargs} values.": "l'argument « {name} » prend {nargs} valeurs.",
    "Aborted!": "Interrompu.",
    "unknown error": "erreur inconnue",
    # Values refused by a parameter type.
    "{value!r} is not a valid {number_type}.": "« {value} » n'est pas un {number_type} valide.",
    "{value} is not in the range {range}.": "{value} n'est pas permis ({range}).",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "« {value} » n'est pas un booléen valide. Valeurs reconnues : {states}"
    ),
    "{value!r} is not a valid UUID.": "« {value} » n'est pas un UUID valide.",
    "Value must be an iterable.": "La valeur doit être une liste.",
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "{name} {filename!r} does not exist.": "{name} « {filename} » introuvable.",
    "{name} {filename!r} is a file.": "{name} « {filename} » est un fichier.",
    "{name} {filename!r} is a directory.": "{name} « {filename} » est un dossier.",
    "{name} {filename!r} is not readable.": "{name} « {filename} » n'est pas lisible.",
    "{name} {filename!r} is not writable.": "{name} « {filename} » n'est pas modifiable.",
    "{name} {filename!r} is not executable.": "{name} « {filename} » n'est pas exécutable.",
    "Could not open file {filename!r}: {message}": (
        "Impossible d'ouvrir le fichier « {filename} » : {message}"
    ),
    "Choose from:\n\t{choices}": "Choisir parmi :\n\t{choices}",
    # Prompts.
    "Do you want to continue?": "Continuer ?",
    "Repeat for confirmation": "Répéter pour confirmer",
    "Error: The two entered values do not match.": "Erreur : les deux valeurs diffèrent.",
    "Error: invalid input": "Erreur : saisie invalide",
    "Press any key to continue...": "Appuyer sur une touche pour continuer…",
    "Confirm the action without prompting.": "Confirmer sans poser la question.",
    # Help pages.
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "default: {default}": "par défaut : {default}",
    "env var: {var}": "variable d'environnement : {var}",
    "required": "obligatoire",
    "(dynamic)": "(calculé)",
    "deprecated": "obsolète",
}

PLURAL_MESSAGES: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "argument en trop : {args}",
        "arguments en trop : {args}",
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "l'option « {name} » demande une valeur.",
        "l'option « {name} » demande {nargs} valeurs.",
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "« {value} » n'est pas {choice}.",
        "« {value} » n'est pas parmi {choices}.",
    ),
    (
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ): (
        "« {value} » ne suit pas le format {format}.",
        "« {value} » ne suit aucun des formats {formats}.",
    ),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "{nargs} valeurs attendues, 1 donnée.",
        "{nargs} valeurs attendues, {len} données.",
    ),
}


def french_gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def french_ngettext(singular: str, plural: str, count: int) -> str:
    french = PLURAL_MESSAGES.get((singular, plural))
    if french is None:
        return singular if count == 1 else plural
    # French treats 0 and 1 as singular.
    return french[0] if count <= 1 else french[1]


# The names of Click's parameter types, in help pages (upper-cased: ``--port ENTIER``) and in
# errors (« « abc » n'est pas un entier valide. »). Click does not pass them through gettext.
TYPE_NAMES: dict[type[click.ParamType[Any, Any]], str] = {
    click.types.StringParamType: "texte",
    click.types.IntParamType: "entier",
    click.types.IntRange: "entier",
    click.types.FloatParamType: "nombre",
    click.types.FloatRange: "nombre",
    click.types.BoolParamType: "booléen",
    click.types.DateTime: "date",
}

# strftime directives as a person writes a date: « AAAA-MM-JJ ».
_DATE_PARTS = {"%Y": "AAAA", "%m": "MM", "%d": "JJ", "%H": "HH", "%M": "MM", "%S": "SS"}


def french_date_format(strftime_format: str) -> str:
    for directive, letters in _DATE_PARTS.items():
        strftime_format = strftime_format.replace(directive, letters)
    return strftime_format


def _date_metavar(self: click.DateTime, param: click.Parameter, ctx: click.Context) -> str:
    formats = [french_date_format(f) for f in self.formats]
    return formats[0] if len(formats) == 1 else f"[{'|'.join(formats)}]"


_click_date_convert = click.DateTime.convert


def _date_convert(
    self: click.DateTime, value: Any, param: click.Parameter | None, ctx: click.Context | None
) -> Any:
    try:
        return _click_date_convert(self, value, param, ctx)
    except click.BadParameter:
        formats = " ou ".join(french_date_format(f) for f in self.formats)
        self.fail(f"« {value} » n'est pas une date valide ({formats}).", param, ctx)


def _choice_message(self: click.Choice[Any], value: Any, ctx: click.Context | None) -> str:
    choices = ", ".join(str(choice) for choice in self.choices)
    if len(self.choices) == 1:
        return f"« {value} » : seule valeur possible, {choices}."
    return f"« {value} » n'est pas parmi : {choices}."


def _describe_range(self: Any) -> str:
    """« de 1 à 64 », « 1 au moins »… rather than Click's « 1<=x<=64 »."""
    if self.min is not None and self.max is not None and not (self.min_open or self.max_open):
        return f"de {self.min} à {self.max}"
    parts = []
    if self.min is not None:
        parts.append(f"plus de {self.min}" if self.min_open else f"{self.min} au moins")
    if self.max is not None:
        parts.append(f"moins de {self.max}" if self.max_open else f"{self.max} au plus")
    return " et ".join(parts)


def _possibilities(possibilities: list[str]) -> str:
    quoted = ", ".join(f"« {p} »" for p in sorted(possibilities))
    if len(possibilities) == 1:
        return f"Vouliez-vous dire {quoted} ?"
    return f"(Vouliez-vous dire : {quoted} ?)"


def install() -> None:
    """Point Click's translation functions at the French catalogue, name Click's parameter
    types in French and word the dates and choices the French way (idempotent)."""
    for name in _CLICK_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = french_gettext  # type: ignore[attr-defined]  # a global of Click's module
        if hasattr(module, "ngettext"):
            module.ngettext = french_ngettext  # type: ignore[attr-defined]  # a global of Click's module
    for param_type, french_name in TYPE_NAMES.items():
        param_type.name = french_name
    click.DateTime.get_metavar = _date_metavar  # type: ignore[method-assign]  # no Click hook for it
    click.DateTime.convert = _date_convert  # type: ignore[method-assign]  # no Click hook for it
    click.Choice.get_invalid_choice_message = _choice_message  # type: ignore[method-assign]  # no Click hook for it
    click.types._NumberRangeBase._describe_range = _describe_range  # type: ignore[method-assign]  # no Click hook for it
    click.exceptions._format_possibilities = _possibilities
