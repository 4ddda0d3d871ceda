"""The ``maillage`` command: French help, one service layer with the API.

Each part of the product defines its subcommands next to its own code (``maillage/crm/cli.py``…);
this module only names them. A subcommand's module is imported when the subcommand runs (or
its help is asked), not at start: importing them all costs about a second of CPU (Piccolo,
NetworkX, openpyxl…), which ``maillage --help`` should not pay.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING

import click

from maillage.clikit import HELP, PROGRAM, FrenchGroup

if TYPE_CHECKING:
    from maillage.actor import Actor
    from maillage.mailing.messages import Attachment

# Subcommand → (its module, the short help `maillage --help` lists without importing it;
# tests/test_cli.py checks that each matches the command's own).
COMMANDS: dict[str, tuple[str, str]] = {
    "backup": (
        "maillage.ops.cli",
        "Sauvegarder toute la base (possible pendant que le service tourne).",
    ),
    "calendar": (
        "maillage.calendar.cli",
        "Calendrier : import de fichiers .ics, réunions récurrentes, liens d'abonnement.",
    ),
    "consultation": (
        "maillage.crm.consultation_cli",
        "Consultations des habitants : par réunion publique ou par thème.",
    ),
    "demo": (
        "maillage.crm.cli",
        "Charger le territoire de démonstration (fictif, reproductible).",
    ),
    "duplicates": (
        "maillage.exchange.cli",
        "Lister les doublons probables, ou fusionner deux fiches.",
    ),
    "export": (
        "maillage.exchange.cli",
        "Exporter organisations, contacts, participations, réunions ou l'annuaire complet.",
    ),
    "import": (
        "maillage.exchange.cli",
        "Importer un fichier CSV ou XLSX (20 Mo au plus) ; tout ou rien par défaut.",
    ),
    "inhabitants": (
        "maillage.crm.cli",
        "Inscriptions des habitants aux réunions publiques : liste, effacement.",
    ),
    "init": (
        "maillage.crm.cli",
        "Créer ou mettre à jour la base de données (sans risque si elle existe déjà).",
    ),
    "mail": ("maillage.mailing.cli", "Invitations et file d'envoi des messages."),
    "migrate": ("maillage.crm.cli", "Appliquer les migrations de schéma en attente."),
    "network": (
        "maillage.graph.cli",
        "Analyser le réseau : peu reliés, suggestions, dessin.",
    ),
    "report": (
        "maillage.reports.cli",
        "Produire le bilan annuel pour la Caf et le diagnostic territorial.",
    ),
    "restore": (
        "maillage.ops.cli",
        "Restaurer une sauvegarde, service arrêté (remplace toute la base actuelle).",
    ),
    "rgpd": (
        "maillage.exchange.cli",
        "Droits des personnes (RGPD) : accès, effacement, information, conservation, registre.",
    ),
    "serve": ("maillage.crm.cli", "Démarrer le service web (pages, API, flux d'agenda)."),
    "territory": (
        "maillage.opendata.cli",
        "Territoires : charger un EPCI depuis les répertoires publics, chercher son SIREN, "
        "fixer son département.",
    ),
    "token": ("maillage.crm.cli", "Gérer les jetons d'accès à l'API."),
    "user": ("maillage.crm.cli", "Gérer les comptes utilisateurs."),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name: every name known at once, each command imported (with
    the rest of its module's ``COMMANDS``) the first time it is looked up."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module = importlib.import_module(self._modules[name])
            for command in module.COMMANDS:
                self._loaded.setdefault(command.name, command)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._modules.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._modules[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


class LazyGroup(FrenchGroup):
    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of subcommands from their static short help: no module imported."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commandes"):
            formatter.write_dl(rows)


@click.group(
    PROGRAM,
    cls=LazyGroup,
    context_settings=HELP,
    commands=LazyCommands({name: module for name, (module, _) in COMMANDS.items()}),
)
@click.version_option(
    package_name="maillage", message="maillage %(version)s", help="Afficher la version et quitter."
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """maillage : le réseau partenarial de la Convention territoriale globale.

    Configuration par variables d'environnement (voir le README) : MAILLAGE_DATA_DIR,
    MAILLAGE_DATABASE_URL, MAILLAGE_SECRET_KEY, MAILLAGE_BASE_URL, MAILLAGE_SMTP_URL,
    MAILLAGE_MAIL_FROM, MAILLAGE_SMTP_CONNECTIONS, MAILLAGE_SMTP_RATE,
    MAILLAGE_SMTP_TOKEN_COMMAND, MAILLAGE_REMINDER_DAYS.
    """
    # Everything maillage writes holds personal data: the data directory, the database, backups,
    # outbox messages and exports are for the service's account only (0700 / 0600).
    os.umask(0o077)
    # The packages of one layer do not import each other: the invitations (mailing) receive
    # the pack (reports) from here, the layer that assembles them, as the web does.
    ctx.ensure_object(dict)["pack_attachment"] = pack_attachment


async def pack_attachment(actor: Actor, meeting_id: int) -> Attachment:
    """The meeting's pack as the DOCX joined to its invitations (``mail invite --dossier``)."""
    # Imported when used: the reports cost a second of imports that other commands skip.
    from maillage.mailing.messages import Attachment
    from maillage.reports.files import MEDIA_TYPES
    from maillage.reports.service import pack_download

    content, name = await pack_download(actor, meeting_id, "docx", dt.date.today())
    return Attachment(name, content, MEDIA_TYPES["docx"])


if __name__ == "__main__":
    main()
