"""Shared pieces of the command line: French help formatting, French errors, async bodies.

Every subcommand module (``maillage/*/cli.py``) builds on these, so that each command loads the
settings, connects to the database and reports failures the same way.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click

from maillage import clifrench
from maillage.errors import ServiceError
from maillage.messages import system_error
from maillage.settings import Settings, SettingsError, load_settings

clifrench.install()

_HEADINGS = {"Options": "Options", "Commands": "Commandes", "Arguments": "Arguments"}


class FrenchHelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="Utilisation : ")

    def write_heading(self, heading: str) -> None:
        super().write_heading(_HEADINGS.get(heading, heading))


class FrenchContext(click.Context):
    formatter_class = FrenchHelpFormatter


def _french_help_option(option: click.Option | None) -> click.Option | None:
    if option is not None:
        option.help = "Afficher cette aide et quitter."
    return option


class FrenchCommand(click.Command):
    context_class = FrenchContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _french_help_option(super().get_help_option(ctx))


class FrenchGroup(click.Group):
    context_class = FrenchContext
    command_class = FrenchCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_class = FrenchGroup

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _french_help_option(super().get_help_option(ctx))


HELP = {"help_option_names": ["-h", "--help"]}


def fail(message: str) -> None:
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
            lines = [error.message] + [f"  - {e.field} : {e.message}" for e in details]
            fail("\n".join(lines))
        except db.DatabaseError as error:
            fail(f"base de données inaccessible ({error}).")
        except OSError as error:
            fail(f"base de données inaccessible ({system_error(error)}).")
        except Exception as error:  # a person reads this: no traceback, but what went wrong
            if os.environ.get("MAILLAGE_DEBUG"):
                raise
            fail(
                f"erreur inattendue ({type(error).__name__} : {error}). "
                "Relancez avec MAILLAGE_DEBUG=1 pour le détail technique."
            )

    return wrapper


def current_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        fail(str(error))
        raise  # unreachable: fail() exits
