"""Shared pieces of the command line: French help formatting, French errors, async bodies.

Every subcommand module (``maillage/*/cli.py``) builds on these, so that each command loads the
settings, connects to the database and reports failures the same way.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NoReturn

import click

from maillage import clifrench
from maillage.errors import ServiceError
from maillage.messages import system_error
from maillage.settings import Settings, SettingsError, load_settings

clifrench.install()

PROGRAM = "maillage"

_HEADINGS = {"Options": "Options", "Commands": "Commandes", "Arguments": "Arguments"}

# An argument's metavar is its parameter's name, upper-cased: the French one a person reads in
# « Utilisation : maillage mail invite [OPTIONS] RÉUNION » and in « argument manquant ».
ARGUMENTS = {
    "file": "FICHIER",
    "email": "COURRIEL",
    "meeting_id": "RÉUNION",
    "contact_id": "CONTACT",
    "token_id": "LIEN",
}


class FrenchHelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="Utilisation : ")

    def write_heading(self, heading: str) -> None:
        # French puts a space before the colon.
        self.write(f"{'':>{self.current_indent}}{_HEADINGS.get(heading, heading)} :\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        # Click joins an option's notes with « ; » : « [par défaut : 60 ; de 0 à 100] ».
        french = [(term, _NOTES.sub(_french_notes, text)) for term, text in rows]
        super().write_dl(french, col_max, col_spacing)


_NOTES = re.compile(r"\[([^\[\]]*)\]$")


def _french_notes(notes: re.Match[str]) -> str:
    return "[" + notes[1].replace("; ", " ; ") + "]"


class FrenchContext(click.Context):
    formatter_class = FrenchHelpFormatter


def _french_help_option(option: click.Option | None) -> click.Option | None:
    if option is not None:
        option.help = "Afficher cette aide et quitter."
    return option


def _name_arguments(params: list[click.Parameter]) -> None:
    for param in params:
        if isinstance(param, click.Argument) and param.metavar is None:
            param.metavar = ARGUMENTS.get(param.name or "")


def typed_name(param: click.Parameter, ctx: click.Context, args: list[str]) -> str:
    """The parameter as the person wrote it: « --seuil » rather than « --threshold », an
    argument by its metavar (« FICHIER »)."""
    if not isinstance(param, click.Option):
        return f"« {param.make_metavar(ctx)} »"
    names = [*param.opts, *param.secondary_opts]
    typed = None
    for arg in args:
        if arg == "--":
            break
        for name in names:
            if (
                arg == name
                or arg.startswith(name + "=")
                or (len(name) == 2 and arg.startswith(name) and not arg.startswith("--"))
            ):
                typed = name
    longs = [name for name in param.opts if name.startswith("--")]
    return f"« {typed or (longs or param.opts)[0]} »"


# The service layer names a refused value by its field (``target_id``, ``email``): the command
# line names it by the option or argument that gave it (« --target », « COURRIEL »), or else by
# these labels; a field known to neither is left unnamed rather than shown as a code.
FIELD_LABELS = {
    "password": "mot de passe",
    "new_password": "mot de passe",
    "name": "nom",
    "email": "adresse électronique",
    "fichier": "fichier",
    "id": "fiches",
    "until": "horizon",
    "first_start": "première réunion",
    "rrule": "récurrence",
    "filters": "filtres",
    "territory": "territoire",
    "role": "rôle",
}

_TYPED = "maillage.typed_args"


def field_name(field: str) -> str | None:
    """How the person knows the field ``field`` of the running command, in French."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        option = "--" + field.replace("_", "-")
        for param in ctx.command.params:
            names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            if param.name == field or option in names:
                return typed_name(param, ctx, ctx.meta.get(_TYPED, []))
    return FIELD_LABELS.get(field)


def _field_line(field: str, message: str) -> str:
    name = field_name(field)
    return f"  - {name} : {message}" if name else f"  - {message}"


class _FrenchParsing:
    """Usage errors name a parameter the way the person typed it, in French quotes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        typed = list(args)
        ctx.meta[_TYPED] = typed
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc, no-any-return]  # a mixin: the Click class it is mixed into has parse_args
        except click.BadParameter as error:
            if error.param_hint is None and error.param is not None:
                error.param_hint = typed_name(error.param, ctx, typed)
            raise


class FrenchCommand(_FrenchParsing, click.Command):
    context_class = FrenchContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_arguments(self.params)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _french_help_option(super().get_help_option(ctx))


class FrenchGroup(_FrenchParsing, click.Group):
    context_class = FrenchContext
    command_class = FrenchCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("subcommand_metavar", "COMMANDE [ARGUMENTS]...")
        super().__init__(*args, **kwargs)
        self.group_class = FrenchGroup
        _name_arguments(self.params)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _french_help_option(super().get_help_option(ctx))

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # `python -m maillage` would otherwise call itself « python -m maillage ».
        kwargs.setdefault("prog_name", PROGRAM)
        return super().main(*args, **kwargs)


HELP = {"help_option_names": ["-h", "--help"]}


def confirm(question: str) -> None:
    """Ask a yes-or-no question the French way (« [o/N] », « oui »); any other answer stops
    the command (« Interrompu. »). Click's own ``confirm`` asks « [y/N] »."""
    answer = click.prompt(f"{question} [o/N]", default="", show_default=False, prompt_suffix=" : ")
    if answer.strip().lower() not in ("o", "oui", "y", "yes"):
        raise click.Abort()


def fail(message: str) -> NoReturn:
    click.secho(f"Erreur : {message}", fg="red", err=True)
    sys.exit(1)


def run_async(func: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Run an async command body with the database connected; French errors, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Imported here: Piccolo and its migrations cost most of a second, which `--help`
        # should not pay.
        from maillage import db

        settings = current_settings()

        async def body() -> Any:
            await db.connect(settings.database_url)
            await db.start_pool()
            try:
                return await func(settings, *args, **kwargs)
            finally:
                await db.close_pool()

        try:
            return asyncio.run(body())
        except ServiceError as error:
            details = getattr(error, "errors", [])
            lines = [error.message] + [_field_line(e.field, e.message) for e in details]
            fail("\n".join(lines))
        except db.DatabaseError as error:
            fail(f"base de données inaccessible ({error}).")
        except OSError as error:
            fail(f"base de données inaccessible ({system_error(error)}).")
        except Exception as error:  # a person reads this: no traceback, but what went wrong
            if os.environ.get("MAILLAGE_DEBUG"):
                raise
            if _tables_missing(error):
                fail(
                    "la base de données n'est pas encore prête (tables absentes) : lancez "
                    "« maillage migrate » (ou « make run »), puis recommencez."
                )
            fail(
                f"erreur inattendue ({type(error).__name__} : {error}). "
                "Relancez avec MAILLAGE_DEBUG=1 pour le détail technique."
            )

    return wrapper


def _tables_missing(error: BaseException) -> bool:
    """A command run before ``maillage migrate``: SQLite's « no such table », PostgreSQL's
    undefined table (SQLSTATE 42P01)."""
    text = str(error)
    return "no such table" in text or getattr(error, "sqlstate", None) == "42P01"


def current_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        fail(str(error))
        raise  # unreachable: fail() exits
