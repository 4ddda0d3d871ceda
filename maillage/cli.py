"""The ``maillage`` command: French help, one service layer with the API.

Each part of the product defines its subcommands next to its own code (``maillage/crm/cli.py``…);
this module only assembles them.
"""

from __future__ import annotations

import click

from maillage.clikit import HELP, FrenchGroup


@click.group(cls=FrenchGroup, context_settings=HELP)
@click.version_option(
    package_name="maillage", message="maillage %(version)s", help="Afficher la version et quitter."
)
def main() -> None:
    """maillage : le réseau partenarial de la Convention territoriale globale.

    Configuration par variables d'environnement (voir le README) : MAILLAGE_DATA_DIR,
    MAILLAGE_DATABASE_URL, MAILLAGE_SECRET_KEY, MAILLAGE_BASE_URL, MAILLAGE_SMTP_URL,
    MAILLAGE_MAIL_FROM, MAILLAGE_SMTP_CONNECTIONS, MAILLAGE_SMTP_RATE,
    MAILLAGE_SMTP_TOKEN_COMMAND, MAILLAGE_REMINDER_DAYS.
    """


def add_command_groups() -> None:
    """Attach the subcommands each part of the product defines next to its own code."""
    from maillage.calendar import cli as calendar_cli
    from maillage.crm import cli as crm_cli
    from maillage.exchange import cli as exchange_cli
    from maillage.graph import cli as graph_cli
    from maillage.mailing import cli as mailing_cli
    from maillage.ops import cli as ops_cli
    from maillage.reports import cli as reports_cli

    modules = (
        calendar_cli,
        crm_cli,
        exchange_cli,
        graph_cli,
        mailing_cli,
        ops_cli,
        reports_cli,
    )
    for module in modules:
        for command in module.COMMANDS:
            main.add_command(command)


add_command_groups()


if __name__ == "__main__":
    main()
