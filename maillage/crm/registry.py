"""The resources of the registry: what each one is, and the rules that apply to it.

API controllers, pages and the command line all go through ``SERVICES[name]``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from msgspec import Struct

from maillage.crm import rules
from maillage.crm import scope as territory_scope
from maillage.crm.auth import check_password_strength, hash_user_password, keep_an_admin
from maillage.crm.resources import (
    REFERENCE_LABELS,
    Filter,
    Link,
    ResourceService,
    ResourceSpec,
    Territorial,
    Unique,
)
from maillage.crm.schemas import (
    ActionIn,
    AffiliationIn,
    AxisIn,
    CommuneIn,
    ContactIn,
    DecisionIn,
    IndicatorIn,
    InteractionIn,
    InvitationIn,
    MeetingIn,
    MembershipIn,
    OrganisationIn,
    PartnershipIn,
    TerritoryIn,
    UserIn,
    WorkingGroupIn,
    derive_page,
    derive_read,
    derive_update,
)
from maillage.db import is_sqlite
from maillage.tables import (
    ROW_ID_MAX,
    Action,
    ActionPartner,
    Affiliation,
    Axis,
    Commune,
    CommuneIndicator,
    Contact,
    ContactAxis,
    Decision,
    GroupAxis,
    GroupCommune,
    Interaction,
    InteractionContact,
    InteractionOrganisation,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    Partnership,
    PartnershipAxis,
    Territory,
    User,
    WorkingGroup,
)
from maillage.vocabulary import ENTITIES

REFERENCE_LABELS.update(ENTITIES)  # « Organisation n° 12 introuvable »

ORGANISATION_AXES = Link("axes", OrganisationAxis, "organisation", "axis")
CONTACT_AXES = Link("axes", ContactAxis, "contact", "axis")
# Filters only (never written through the contact): where a person works, what they do there,
# which bodies they sit on.
CONTACT_ORGANISATIONS = Link("organisations", Affiliation, "contact", "organisation")
CONTACT_FUNCTIONS = Link("functions", Affiliation, "contact", "function")
# The name of the organisations a person is tied to: the contacts list filters on part of it,
# where a choice among every partner (5,000 in one département) would weigh the page (#20).
CONTACT_ORGANISATION_NAMES = Link("organisation_names", Affiliation, "contact", "organisation.name")
CONTACT_GROUPS = Link("groups", Membership, "contact", "working_group")
GROUP_AXES = Link("axes", GroupAxis, "working_group", "axis")
GROUP_COMMUNES = Link("communes", GroupCommune, "working_group", "commune")
PARTNERSHIP_AXES = Link("axes", PartnershipAxis, "partnership", "axis")
INTERACTION_ORGANISATIONS = Link(
    "organisations", InteractionOrganisation, "interaction", "organisation"
)
INTERACTION_CONTACTS = Link("contacts", InteractionContact, "interaction", "contact")
ACTION_PARTNERS = Link("partners", ActionPartner, "action", "organisation")

TEXT_FIELDS = frozenset(
    {"notes", "description", "agenda", "minutes", "summary", "objective", "address"}
)


def _spec(
    name: str,
    input_struct: type[Struct],
    read_extra: tuple[Any, ...] = (),
    hidden: tuple[str, ...] = (),
    **kwargs: Any,
) -> ResourceSpec:
    prefix = input_struct.__name__.removesuffix("In")
    return ResourceSpec(
        name=name,
        input=input_struct,
        update=derive_update(input_struct, f"{prefix}Update"),
        read=(read := derive_read(input_struct, f"{prefix}Read", hidden, read_extra)),
        page=derive_page(read, f"{prefix}Page"),
        multiline=TEXT_FIELDS,
        **kwargs,
    )


def _named(row: dict[str, Any]) -> str:
    return f"« {row.get('name') or row.get('title')} » (n° {row['id']})"


def _person(row: dict[str, Any]) -> str:
    return f"« {row['first_name']} {row['last_name']} » (n° {row['id']})"


ARCHIVED = (("archived", bool),)
# Read-only: written by the mailbox reader (#19), cleared when the address changes.
BOUNCE = (("email_bounced_at", dt.datetime | None), ("email_bounce_reason", str | None))
# Provenance of what the public registers wrote (#18): read-only, empty for typed records.
SOURCE = (("source", str),)

# How each local record belongs to a territory (#20; the rule is in `maillage.crm.scope`).
OWN_TERRITORY = Territorial("territory")
# Organisations and contacts: a shared one is seen by the scoped users of its département
# (`maillage.departements`) only, or by all when it has none.
PARTNER_TERRITORY = Territorial("territory", departement="departement")
BY_GROUP = Territorial("working_group", via=WorkingGroup, then=OWN_TERRITORY)
BY_MEETING = Territorial("meeting", via=Meeting, then=BY_GROUP)
BY_ORGANISATION = Territorial("organisation", via=Organisation, then=PARTNER_TERRITORY)
# An affiliation is seen with its contact and its organisation; written with its contact.
BY_CONTACT = Territorial("contact", via=Contact, then=PARTNER_TERRITORY, also=BY_ORGANISATION)
# A partnership is seen when both its organisations are; it belongs to the territory of its
# organisation, or of its partner when the organisation is shared (the Caf's partnership with a
# local association is the association's territory's).
BY_PARTNERS = Territorial(
    "organisation",
    via=Organisation,
    then=PARTNER_TERRITORY,
    also=Territorial("partner", via=Organisation, then=PARTNER_TERRITORY),
    either=True,
)


async def _settle_people(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """An affiliation or a membership written: its people are placed again."""
    await territory_scope.settle_contacts(
        [row["contact"] for row in (before, after) if row is not None]
    )


def _settle_people_of(field: str) -> Any:
    """An organisation or a body moved to another territory: its people are placed again."""

    async def settle(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        if before is None or after is None or before.get("territory") == after.get("territory"):
            return
        tied = await territory_scope.contacts_tied_to(**{field: [before["id"]]})
        await territory_scope.settle_contacts(tied)

    return settle


async def _settle_territory_departement(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    """A commune written: the département of its territories (before and after) may change,
    and with it that of their partners (`scope.settle_territory_departements`); given to
    another territory or to none, or another INSEE code, its own partners are placed again
    even when no territory's changes (`scope.settle_commune_partners`)."""
    await territory_scope.settle_territory_departements(
        [row["territory"] for row in (before, after) if row is not None]
    )
    if before is not None and after is not None:
        fields = ("territory", "insee_code")
        if any(before.get(f) != after.get(f) for f in fields):
            await territory_scope.settle_commune_partners([after["id"]])


async def _settle_typed_departement(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    """A territory written with another département (typed while it has no communes:
    `rules.check_departement` refuses it otherwise), or deleted: its partners are placed
    again (#20)."""
    was = None if before is None else before.get("departement")
    if after is None:
        await territory_scope.settle_deleted_territory(was)
        return
    if after.get("departement") == was:
        return
    await territory_scope.settle_territory_departements([after["id"]], was={after["id"]: was})


def _settle_organisations_of(*fields: str) -> Any:
    """A membership or a partnership written: the organisations it names may take, or lose,
    the département where they work (`maillage.departements`), and their people with them."""

    async def settle(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        named = {row.get(f) for row in (before, after) if row is not None for f in fields}
        organisations = sorted(i for i in named if isinstance(i, int))
        if not organisations:
            return
        await territory_scope.settle_departements(organisations=organisations)
        tied = await territory_scope.contacts_tied_to(organisations=organisations)
        await territory_scope.settle_departements(contacts=tied)

    return settle


def _settle_departement(fields: tuple[str, ...], organisations: bool) -> Any:
    """An organisation or a contact written whose département may change (created, or one of
    ``fields`` changed): it is placed again (`scope.settle_departements`), an organisation's
    people with it."""

    async def settle(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        if after is None or (
            before is not None and all(before.get(f) == after.get(f) for f in fields)
        ):
            return
        if not organisations:
            await territory_scope.settle_departements(contacts=[after["id"]])
            return
        await territory_scope.settle_departements(organisations=[after["id"]])
        tied = await territory_scope.contacts_tied_to(organisations=[after["id"]])
        await territory_scope.settle_departements(contacts=tied)

    return settle


SPECS: list[ResourceSpec] = [
    _spec(
        "territories",
        TerritoryIn,
        read_extra=SOURCE,
        entity="territory",
        label="Territoire",
        table=Territory,
        lifecycle="none",
        search_fields=("name", "siren"),
        sortable=("id", "name"),
        default_sort="name",
        unique=(Unique("siren", "Un territoire a déjà ce SIREN"),),
        validators=[
            rules.check_territory_identifiers,
            rules.ordered_dates("ctg_start", "ctg_end"),
            rules.check_departement,
        ],
        preparers=[rules.compact_identifiers, rules.normalise_departement],
        after_write=[_settle_typed_departement],
        describe=_named,
        write_role="admin",
    ),
    _spec(
        "communes",
        CommuneIn,
        read_extra=SOURCE,
        entity="commune",
        label="Commune",
        table=Commune,
        lifecycle="none",
        search_fields=("name", "insee_code"),
        filters=(Filter("territory", int, "Territoire", column="territory"),),
        sortable=("id", "name", "insee_code", "population"),
        default_sort="name",
        unique=(Unique("insee_code", "Une commune a déjà ce code INSEE"),),
        validators=[rules.check_insee_code],
        after_write=[_settle_territory_departement],
        describe=_named,
    ),
    _spec(
        "indicators",
        IndicatorIn,
        entity="commune_indicator",
        label="Indicateur communal",
        table=CommuneIndicator,
        lifecycle="delete",
        filters=(
            Filter("commune", int, "Commune", column="commune"),
            Filter("code", str, "Indicateur", column="code"),
        ),
        sortable=("id", "measured_on", "code", "value"),
        default_sort="id",
        validators=[rules.check_indicator_code],
        describe=lambda row: f"« {row['code']} » du {row['measured_on']} (n° {row['id']})",
    ),
    _spec(
        "axes",
        AxisIn,
        entity="axis",
        label="Axe",
        table=Axis,
        lifecycle="none",
        search_fields=("name", "code"),
        sortable=("id", "position", "name"),
        default_sort="position",
        unique=(Unique("code", "Un axe a déjà ce code"),),
        describe=_named,
    ),
    _spec(
        "organisations",
        OrganisationIn,
        read_extra=ARCHIVED + SOURCE,
        entity="organisation",
        label="Organisation",
        table=Organisation,
        lifecycle="archive",
        search_fields=("name", "category", "siret", "siren", "rna", "email"),
        filters=(
            Filter("kind", str, "Type d'organisation", column="kind"),
            Filter("category", str, "Catégorie", column="category"),
            Filter("commune", int, "Commune", column="commune"),
            Filter("parent", int, "Organisation parente", column="parent"),
            Filter("axis", int, "Axe de la CTG", link=ORGANISATION_AXES),
        ),
        sortable=("id", "name", "kind", "category", "updated_at"),
        default_sort="name",
        unique=(Unique("siret", "Une organisation a déjà ce SIRET"),),
        links=(ORGANISATION_AXES,),
        validators=[
            rules.check_organisation_identifiers,
            rules.check_email,
            rules.check_phone,
            rules.check_web_addresses("website"),
        ],
        preparers=[
            rules.compact_identifiers,
            rules.normalise_email,
            rules.normalise_phone,
            territory_scope.place_organisation,
        ],
        after_write=[
            _settle_departement(("territory", "commune", "parent"), organisations=True),
            _settle_people_of("organisations"),
        ],
        describe=_named,
        territorial=PARTNER_TERRITORY,
    ),
    _spec(
        "contacts",
        ContactIn,
        read_extra=ARCHIVED + BOUNCE + SOURCE,
        entity="contact",
        label="Contact",
        table=Contact,
        lifecycle="archive",
        search_fields=("first_name", "last_name", "email"),
        filters=(
            Filter("commune", int, "Commune", column="commune"),
            Filter("email", str, "Adresse électronique exacte", column="email"),
            Filter("mailing_opt_out", bool, "Opposé aux envois groupés", column="mailing_opt_out"),
            Filter("axis", int, "Axe de la CTG", link=CONTACT_AXES),
            Filter("organisation", int, "Organisation de rattachement", link=CONTACT_ORGANISATIONS),
            Filter(
                "organisation_name",
                str,
                "Nom de l'organisation de rattachement (une partie suffit, majuscules indifférentes)",
                link=CONTACT_ORGANISATION_NAMES,
                contains=True,
            ),
            Filter(
                "function",
                str,
                "Fonction (une partie suffit, majuscules indifférentes)",
                link=CONTACT_FUNCTIONS,
                contains=True,
            ),
            Filter("group", int, "Instance dont la personne est membre", link=CONTACT_GROUPS),
        ),
        sortable=("id", "last_name", "first_name", "updated_at"),
        default_sort="last_name",
        links=(CONTACT_AXES,),
        validators=[rules.check_email, rules.check_phone],
        preparers=[
            rules.normalise_email,
            rules.normalise_phone,
            rules.forget_bounce_of_old_email,
            territory_scope.place_contact,
        ],
        after_write=[_settle_departement(("territory", "commune"), organisations=False)],
        describe=_person,
        territorial=PARTNER_TERRITORY,
    ),
    _spec(
        "affiliations",
        AffiliationIn,
        read_extra=SOURCE,
        entity="affiliation",
        label="Rattachement",
        table=Affiliation,
        lifecycle="delete",
        filters=(
            Filter("contact", int, "Contact", column="contact"),
            Filter("organisation", int, "Organisation", column="organisation"),
            Filter("elected_mandate", bool, "Mandat électif", column="elected_mandate"),
        ),
        sortable=("id", "start_date", "end_date"),
        validators=[rules.ordered_dates("start_date", "end_date"), rules.check_single_primary],
        after_write=[_settle_people],
        territorial=BY_CONTACT,
    ),
    _spec(
        "groups",
        WorkingGroupIn,
        read_extra=ARCHIVED,
        entity="working_group",
        label="Instance",
        table=WorkingGroup,
        lifecycle="archive",
        search_fields=("name", "description"),
        filters=(
            Filter("kind", str, "Type d'instance", column="kind"),
            Filter("territory", int, "Territoire", column="territory"),
            Filter("active", bool, "Instance active", column="active"),
            Filter("axis", int, "Axe de la CTG", link=GROUP_AXES),
            Filter("commune", int, "Commune couverte", link=GROUP_COMMUNES),
        ),
        sortable=("id", "name", "kind"),
        default_sort="name",
        links=(GROUP_AXES, GROUP_COMMUNES),
        describe=_named,
        preparers=[territory_scope.place_group],
        after_write=[_settle_people_of("groups")],
        territorial=OWN_TERRITORY,
    ),
    _spec(
        "memberships",
        MembershipIn,
        entity="membership",
        label="Participation",
        table=Membership,
        lifecycle="delete",
        filters=(
            Filter("contact", int, "Contact", column="contact"),
            Filter("working_group", int, "Instance", column="working_group"),
            Filter("organisation", int, "Organisation représentée", column="organisation"),
            Filter("role", str, "Rôle", column="role"),
        ),
        sortable=("id", "start_date", "role"),
        validators=[rules.ordered_dates("start_date", "end_date"), rules.check_membership],
        preparers=[rules.default_start_today],
        after_write=[_settle_people, _settle_organisations_of("organisation")],
        territorial=BY_GROUP,
    ),
    _spec(
        "meetings",
        MeetingIn,
        read_extra=(("ical_uid", str), ("ical_sequence", int)),
        entity="meeting",
        label="Réunion",
        table=Meeting,
        lifecycle="delete",
        search_fields=("title", "location"),
        filters=(
            Filter("working_group", int, "Instance", column="working_group"),
            Filter("status", str, "Statut", column="status"),
        ),
        sortable=("id", "starts_at", "title"),
        default_sort="starts_at",
        validators=[
            rules.check_meeting_times,
            rules.check_meeting_group,
            rules.check_meeting_held,
            rules.check_meeting_registration,
            rules.check_web_addresses("video_url"),
        ],
        preparers=[rules.ensure_meeting_uid, rules.bump_meeting_sequence],
        describe=_named,
        territorial=BY_GROUP,
    ),
    _spec(
        "invitations",
        InvitationIn,
        read_extra=(
            ("sent_at", dt.datetime | None),
            ("answered_at", dt.datetime | None),
            ("response_source", str | None),
            ("absent_until", dt.date | None),
        ),
        entity="invitation",
        label="Invitation",
        table=Invitation,
        lifecycle="delete",
        filters=(
            Filter("meeting", int, "Réunion", column="meeting"),
            Filter("contact", int, "Contact", column="contact"),
            Filter("response", str, "Réponse", column="response"),
        ),
        sortable=("id", "sent_at", "answered_at"),
        preparers=[rules.ensure_token_nonce],
        territorial=BY_MEETING,
    ),
    _spec(
        "partnerships",
        PartnershipIn,
        entity="partnership",
        label="Partenariat",
        table=Partnership,
        lifecycle="delete",
        filters=(
            Filter("organisation", int, "Organisation", column="organisation"),
            Filter("partner", int, "Partenaire", column="partner"),
            Filter("kind", str, "Type de partenariat", column="kind"),
            Filter("axis", int, "Axe de la CTG", link=PARTNERSHIP_AXES),
        ),
        sortable=("id", "start_date", "end_date"),
        links=(PARTNERSHIP_AXES,),
        validators=[rules.ordered_dates("start_date", "end_date")],
        after_write=[_settle_organisations_of("organisation", "partner")],
        territorial=BY_PARTNERS,
    ),
    _spec(
        "interactions",
        InteractionIn,
        entity="interaction",
        label="Échange",
        table=Interaction,
        lifecycle="delete",
        search_fields=("summary",),
        filters=(
            Filter("kind", str, "Type d'échange", column="kind"),
            Filter("organisation", int, "Organisation", link=INTERACTION_ORGANISATIONS),
            Filter("contact", int, "Contact", link=INTERACTION_CONTACTS),
            Filter("territory", int, "Territoire", column="territory"),
        ),
        sortable=("id", "occurred_on", "follow_up_on"),
        default_sort="-occurred_on",
        links=(INTERACTION_ORGANISATIONS, INTERACTION_CONTACTS),
        validators=[rules.ordered_dates("occurred_on", "follow_up_on", "La date de relance")],
        territorial=OWN_TERRITORY,
    ),
    _spec(
        "actions",
        ActionIn,
        entity="action",
        label="Fiche action",
        table=Action,
        lifecycle="delete",
        search_fields=("title", "objective"),
        filters=(
            Filter("axis", int, "Axe de la CTG", column="axis"),
            Filter("status", str, "Statut", column="status"),
            Filter("pilot", int, "Organisation pilote", column="pilot"),
            Filter("territory", int, "Territoire", column="territory"),
        ),
        sortable=("id", "title", "status"),
        default_sort="title",
        links=(ACTION_PARTNERS,),
        validators=[rules.ordered_dates("start_date", "end_date"), rules.one_evaluation_per_year],
        describe=_named,
        territorial=OWN_TERRITORY,
    ),
    _spec(
        "decisions",
        DecisionIn,
        entity="decision",
        label="Décision",
        table=Decision,
        lifecycle="delete",
        search_fields=("summary", "notes"),
        filters=(
            Filter("meeting", int, "Réunion", column="meeting"),
            Filter("working_group", int, "Instance", column="working_group"),
            Filter("status", str, "Statut", column="status"),
            Filter("carrier_contact", int, "Porteur (contact)", column="carrier_contact"),
            Filter(
                "carrier_organisation", int, "Porteur (organisation)", column="carrier_organisation"
            ),
            Filter("action", int, "Fiche action", column="action"),
        ),
        sortable=("id", "due_on", "status", "created_at"),
        default_sort="id",
        preparers=[rules.decision_group_and_dates],
        validators=[rules.check_decision],
        describe=lambda row: f"« {row['summary'][:60]} » (n° {row['id']})",
        territorial=BY_GROUP,
    ),
    _spec(
        "users",
        UserIn,
        hidden=("password",),
        read_extra=(("must_change_password", bool),),
        entity="user",
        label="Utilisateur",
        table=User,
        lifecycle="none",
        search_fields=("email", "name"),
        filters=(
            Filter("role", str, "Rôle", column="role"),
            Filter("active", bool, "Compte actif", column="active"),
        ),
        sortable=("id", "email", "name"),
        default_sort="email",
        unique=(Unique("email", "Un compte existe déjà avec cette adresse"),),
        validators=[rules.check_email, check_password_strength, keep_an_admin],
        preparers=[rules.lowercase_email, hash_user_password],
        describe=lambda row: f"« {row['email']} » (n° {row['id']})",
        write_role="admin",
        read_role="admin",
    ),
]

SERVICES: dict[str, ResourceService] = {spec.name: ResourceService(spec) for spec in SPECS}


def scoped(query: Any, resource: str) -> Any:
    """``query`` (on the table of ``resource``) limited to what the request's user sees of it:
    the rule of the generic services, for the services that read the tables themselves (#20)."""
    visible = SERVICES[resource].scope_clause()
    return query if visible is None else query.where(visible)


async def visible_meeting(meeting_id: int, *columns: Any, lock: bool = False) -> Any:
    """The meeting's ``columns`` if the request's user sees it (anyone on public pages, which
    run without a user), else None; ``lock`` takes the row for an update on PostgreSQL
    (SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    if not 1 <= meeting_id <= ROW_ID_MAX:
        return None
    query = scoped(Meeting.select(*columns), "meetings").where(Meeting.id == meeting_id)
    if lock and not is_sqlite():
        query = query.lock_rows("UPDATE", of=(Meeting,))
    return await query.first()
