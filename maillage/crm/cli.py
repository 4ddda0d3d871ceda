"""Commands of the registry: database set-up, demo territory, users, API tokens, serving."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from typing import Any

import click

from maillage import db, french
from maillage.actor import CLI
from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.crm import auth
from maillage.crm import inhabitants as inhabitant_registrations
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import Role, UserIn
from maillage.crm.seed import ensure_axes
from maillage.french import plural
from maillage.settings import Settings, base_url_warning_at_start
from maillage.tables import ROW_ID_MAX, Organisation, User
from maillage.vocabulary import COORDINATOR, REGISTRATION_STATUSES, USER_ROLES

DEMO_ADMIN_EMAIL = "admin@maillage.example"


async def prepare_database() -> list[str]:
    applied = await db.migrate()
    await ensure_axes()
    return applied


@click.command(cls=FrenchCommand)
@click.option(
    "--with-demo",
    is_flag=True,
    help="Charger le territoire de démonstration si la base est vide, et créer un compte "
    "administrateur s'il n'en existe aucun.",
)
@run_async
async def init(settings: Settings, with_demo: bool) -> None:
    """Créer ou mettre à jour la base de données (sans risque si elle existe déjà)."""
    applied = await prepare_database()
    click.echo(
        f"Base de données prête ({plural(len(applied), 'migration appliquée', 'migrations appliquées')})."
    )
    if with_demo:
        await _load_demo_if_empty()
        await _ensure_demo_admin()


async def _load_demo_if_empty() -> None:
    from maillage.crm.demo import load_demo

    if await Organisation.count().run() > 0:
        click.echo("Données existantes conservées (pas de rechargement de la démonstration).")
        return
    summary = await load_demo(seed=1, today=dt.date.today())
    click.echo(f"Territoire de démonstration chargé : {summary}.")


async def _ensure_demo_admin() -> None:
    if await User.exists().where(User.role == "admin").run():
        click.echo(
            "Compte administrateur existant conservé "
            "(mot de passe oublié : « maillage user password COURRIEL »)."
        )
        return
    password = secrets.token_urlsafe(12)
    await SERVICES["users"].create(
        CLI, UserIn(email=DEMO_ADMIN_EMAIL, role="admin", name="Administrateur", password=password)
    )
    click.secho("Compte administrateur créé :", bold=True)
    click.echo(f"  identifiant : {DEMO_ADMIN_EMAIL}")
    click.echo(f"  mot de passe : {password}")
    click.echo("  (notez-le : il ne sera plus affiché)")


@click.command(cls=FrenchCommand)
@run_async
async def migrate(settings: Settings) -> None:
    """Appliquer les migrations de schéma en attente."""
    applied = await prepare_database()
    if applied:
        click.echo("Migrations appliquées : " + ", ".join(applied))
    else:
        click.echo("Aucune migration en attente.")
    if await db.trigram_missing():
        click.echo(
            "Attention : l'extension PostgreSQL pg_trgm n'a pas pu être créée (elle n'est pas "
            "installée sur le serveur, ou le rôle de l'application n'est pas propriétaire de "
            "la base) : les recherches lisent les tables entières. Demandez à l'administrateur "
            "du serveur d'exécuter « CREATE EXTENSION pg_trgm; » dans cette base, puis relancez "
            "« maillage migrate »."
        )
    role = await db.search_functions_unowned()
    if role is not None:
        click.echo(
            f"Attention : le rôle {role} ne peut pas créer d'objets dans le schéma public, et "
            "les recherches limitées à des territoires ne passent pas par leurs index "
            "trigrammes. Demandez à l'administrateur du serveur d'exécuter « GRANT CREATE ON "
            f"SCHEMA public TO {role}; » dans cette base, puis relancez « maillage migrate »."
        )


@click.command(cls=FrenchCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port d'écoute.")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processus."
)
def serve(host: str, port: int, workers: int) -> None:
    """Démarrer le service web (pages, API, flux d'agenda)."""
    import uvicorn

    from maillage.clikit import current_settings

    settings = current_settings()
    click.echo(f"maillage écoute sur http://{host}:{port} (base : {_describe(settings)}).")
    warning = base_url_warning_at_start(settings.base_url, host, port)
    if warning:
        click.echo("Attention : " + warning, err=True)
    if workers > 1:
        # The workers share one listening socket, and each accepted every connection waiting
        # when it woke: the 50 connections of a burst (a load, a proxy opening its pool) went
        # to one worker, the others idle (#16, bench/load.py). With this libuv setting (uvloop)
        # a worker accepts one connection at a time and lets the others take their share.
        os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
    uvicorn.run(
        "maillage.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


def _describe(settings: Settings) -> str:
    return "SQLite " + str(settings.sqlite_path) if settings.is_sqlite else "PostgreSQL"


@click.command(cls=FrenchCommand)
@click.option("--seed", default=1, show_default=True, type=int, help="Graine du tirage.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date de référence (par défaut : aujourd'hui).",
)
@click.option(
    "--scale",
    type=click.Choice(["territoire", "departement"]),
    default="territoire",
    show_default=True,
    help="« departement » : une trentaine de territoires, pour les mesures de performance.",
)
@click.option("--force", is_flag=True, help="Vider la base avant de charger la démonstration.")
@run_async
async def demo(
    settings: Settings, seed: int, today: dt.datetime | None, scale: str, force: bool
) -> None:
    """Charger le territoire de démonstration (fictif, reproductible)."""
    from maillage.crm.demo import clear_database, load_demo

    await prepare_database()
    if await Organisation.count().run() > 0:
        if not force:
            fail("la base contient déjà des données ; relancez avec --force pour la vider d'abord.")
        await clear_database()
        await ensure_axes()
    day = today.date() if today else dt.date.today()
    summary = await load_demo(seed=seed, today=day, scale=scale)
    click.echo(f"Démonstration chargée : {summary}.")
    if scale == "departement":
        await _ensure_demo_admin()
        await _demo_accounts()


async def _demo_accounts() -> None:
    """A coordinator per territory and the Caf's adviser on ten (#20), one password for all."""
    from maillage.crm.demo.accounts import create_accounts

    password = secrets.token_urlsafe(12)
    accounts = await create_accounts(password)
    if not accounts:
        return
    click.secho("Comptes limités à leurs territoires créés :", bold=True)
    for account in accounts:
        covered = account.territories
        where = covered[0] if len(covered) == 1 else f"{len(covered)} territoires"
        click.echo(f"  {account.email} : coordination, {where}")
    click.echo(f"  mot de passe de ces comptes : {password}")
    click.echo("  (notez-le : il ne sera plus affiché)")


@click.group(cls=FrenchGroup)
def user() -> None:
    """Gérer les comptes utilisateurs."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt(
        "Mot de passe (10 caractères au moins)",
        hide_input=True,
        confirmation_prompt=True,
        prompt_suffix=" : ",
    )


@user.command("add", cls=FrenchCommand)
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(list(USER_ROLES)),
    default=COORDINATOR,
    show_default=True,
    help="Rôle du compte.",
)
@click.option("--name", default="", help="Nom affiché.")
@click.option(
    "--territory",
    "territories",
    default="",
    metavar="SIREN[,SIREN]",
    help="Limiter le compte à ces territoires, avec ce rôle sur chacun (sans cette option : "
    "tous les territoires).",
)
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
def user_add(email: str, role: Role, name: str, territories: str, password_stdin: bool) -> None:
    """Créer un compte (mot de passe demandé, ou lu avec --password-stdin)."""
    sirens = _sirens(territories)
    if sirens and role == "admin":
        fail("un administrateur couvre tous les territoires : retirez --territory.")
    password = _read_password(password_stdin)

    @run_async
    async def create(settings: Settings) -> None:
        if sirens:  # refused before the account exists
            await territory_scope.territories_by_siren(sirens)
        created = await SERVICES["users"].create(
            CLI, UserIn(email=email, role=role, name=name, password=password)
        )
        click.echo(f"Compte créé : {created['email']} ({created['role']}).")
        if sirens:
            held = await territory_scope.grant(CLI, created["id"], sirens, role)
            click.echo(_describe_territories(held, role))

    create()


def _sirens(value: str) -> list[str]:
    return [siren.strip() for siren in value.split(",") if siren.strip()]


def _describe_territories(held: list[dict[str, Any]], account_role: str) -> str:
    if not held:
        return f"Tous les territoires, rôle « {account_role} » (compte sans territoire attitré)."
    lines = [f"{plural(len(held), 'territoire')} :"]
    lines += [f"  {row['siren'] or '—'}  {row['name']} : {row['role']}" for row in held]
    return "\n".join(lines)


@user.command("territories", cls=FrenchCommand)
@click.argument("email")
@click.option(
    "--add",
    "added",
    default="",
    metavar="SIREN[,SIREN]",
    help="Donner au compte ces territoires (avec --role).",
)
@click.option(
    "--remove",
    "removed",
    default="",
    metavar="SIREN[,SIREN]",
    help="Retirer ces territoires au compte.",
)
@click.option(
    "--role",
    type=click.Choice([code for code in USER_ROLES if code != "admin"]),
    default=COORDINATOR,
    show_default=True,
    help="Rôle sur les territoires ajoutés.",
)
def user_territories(email: str, added: str, removed: str, role: str) -> None:
    """Lister les territoires d'un compte, en ajouter ou en retirer."""

    @run_async
    async def change(settings: Settings) -> None:
        account = await auth.find_user(email)
        if _sirens(added):
            await territory_scope.grant(CLI, account["id"], _sirens(added), role)
        if _sirens(removed):
            await territory_scope.revoke(CLI, account["id"], _sirens(removed))
        held = await territory_scope.territories_of(account["id"])
        if account["role"] == "admin":
            click.echo(f"{account['email']} : administrateur, tous les territoires.")
            return
        click.echo(f"{account['email']} : {_describe_territories(held, account['role'])}")

    change()


@user.command("password", cls=FrenchCommand)
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
def user_password(email: str, password_stdin: bool) -> None:
    """Changer le mot de passe d'un compte."""
    password = _read_password(password_stdin)

    @run_async
    async def change(settings: Settings) -> None:
        account = await auth.find_user(email)
        update = SERVICES["users"].spec.update(version=account["version"], password=password)
        await SERVICES["users"].update(CLI, account["id"], update)
        click.echo(f"Mot de passe changé pour {account['email']}.")

    change()


@user.command("unlock", cls=FrenchCommand)
@click.argument("email")
def user_unlock(email: str) -> None:
    """Débloquer la connexion d'un compte freiné par des mots de passe erronés."""

    @run_async
    async def unlock(settings: Settings) -> None:
        account = await auth.find_user(email)
        if await auth.unlock_sign_in(CLI, account["id"]):
            click.echo(f"Connexion débloquée pour {account['email']}.")
        else:
            click.echo(f"La connexion de {account['email']} n'était pas freinée.")

    unlock()


@click.group(cls=FrenchGroup)
def token() -> None:
    """Gérer les jetons d'accès à l'API."""


@token.command("create", cls=FrenchCommand)
@click.argument("email")
@click.option("--name", default="", help="Nom du jeton (ex. : « script d'export »).")
@run_async
async def token_create(settings: Settings, email: str, name: str) -> None:
    """Créer un jeton pour un compte ; seul le jeton est écrit sur la sortie standard."""
    click.echo(await auth.create_token(CLI, email, name))


@token.command("revoke", cls=FrenchCommand)
@click.argument("email")
@click.option("--token", "token_value", default=None, help="Le jeton à révoquer (sinon : tous).")
@run_async
async def token_revoke(settings: Settings, email: str, token_value: str | None) -> None:
    """Révoquer un jeton, ou tous les jetons d'un compte."""
    count = await auth.revoke_tokens(CLI, email, token_value)
    if count == 0:
        fail("aucun jeton actif ne correspond.")
    click.echo(plural(count, "jeton révoqué", "jetons révoqués") + ".")


@click.group(cls=FrenchGroup)
def inhabitants() -> None:
    """Inscriptions des habitants aux réunions publiques : liste, effacement."""


@inhabitants.command("list", cls=FrenchCommand)
@click.argument("reunion", type=click.IntRange(1, ROW_ID_MAX))
@run_async
async def inhabitants_list(settings: Settings, reunion: int) -> None:
    """Lister les inscriptions à une réunion (ordre d'arrivée), séparées par des tabulations."""
    listing = await inhabitant_registrations.meeting_registrations(reunion)
    for row in listing["items"]:
        click.echo(
            "\t".join(
                [
                    str(row["id"]),
                    REGISTRATION_STATUSES[row["status"]],
                    row["name"],
                    row["commune"],
                    row["email"] or "",
                    french.datetime_fr(row["created_at"]),
                ]
            )
        )
    click.echo(
        f"{listing['summary']} ; effacement le {french.date_fr(listing['expires_at'])}.",
        err=True,
    )


@inhabitants.command("purge", cls=FrenchCommand)
@run_async
async def inhabitants_purge(settings: Settings) -> None:
    """Effacer les inscriptions dont la durée de conservation est passée (le service le fait
    aussi de lui-même)."""
    done = await inhabitant_registrations.purge_expired(CLI)
    total = sum(done.values())
    if not total:
        click.echo("Aucune inscription à effacer : aucune durée de conservation n'est passée.")
        return
    click.echo(
        f"{plural(total, 'inscription effacée', 'inscriptions effacées')}"
        f" ({plural(len(done), 'réunion')})."
    )


COMMANDS = [init, migrate, serve, demo, user, token, inhabitants]
