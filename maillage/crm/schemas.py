"""msgspec schemas of the API, one ``…In`` struct per resource.

The update and read structs are derived from the input struct so that a field is declared once:
an update carries every field as optional plus the ``version`` it was read at; a read adds the id,
the version and the timestamps.
"""

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from maillage.tables import ROW_ID_MAX
from maillage.vocabulary import (
    DECISION_TO_DO,
    MEMBER,
    PENDING,
    PLANNED,
    READER,
    TO_START,
    ActionStatus,
    Attendance,
    Civility,
    DecisionStatus,
    EvaluationDecision,
    Financer,
    GroupKind,
    InteractionKind,
    LegalBasis,
    MeetingStatus,
    OrganisationKind,
    PartnershipKind,
    Response,
    SchoolZone,
    UserRole,
)
from maillage.vocabulary import MembershipRole as MembershipRole  # web/network.py imports it

Name = Annotated[str, Meta(min_length=1, max_length=300)]
ShortText = Annotated[str, Meta(max_length=300)]
LongText = Annotated[str, Meta(max_length=20_000)]
Email = Annotated[str, Meta(max_length=254)]
Phone = Annotated[str, Meta(max_length=40)]
Url = Annotated[str, Meta(max_length=500)]
Id = Annotated[int, Meta(ge=1, le=ROW_ID_MAX)]
IdList = Annotated[list[Id], Meta(max_length=200)]

# The stored codes are declared once, with their French labels, in maillage.vocabulary (#17).
Role = UserRole

STRICT: dict[str, Any] = {"forbid_unknown_fields": True, "kw_only": True}


# What a territory's typed département does (#20): the API's description and the form's help.
DEPARTEMENT_RULE = (
    "utilisé tant que le territoire n'a pas de communes ; ensuite, c'est celui de la majorité "
    "de ses communes, qui ne se saisit pas"
)
DEPARTEMENT_HELP = f"Département (code INSEE : 35, 2A, 974) — {DEPARTEMENT_RULE}."


class TerritoryIn(Struct, **STRICT):
    name: Name
    siren: str | None = None
    ctg_start: dt.date | None = None
    ctg_end: dt.date | None = None
    school_zone: SchoolZone | None = None
    # Normalised and checked by `rules.normalise_departement` and `rules.check_departement`.
    departement: Annotated[str, Meta(max_length=10, description=DEPARTEMENT_HELP)] | None = None


class CommuneIn(Struct, **STRICT):
    insee_code: Annotated[str, Meta(max_length=10)]
    name: Name
    population: Annotated[int, Meta(ge=0, le=100_000_000)] | None = None
    territory: Id | None = None


class IndicatorIn(Struct, **STRICT):
    """A commune-level figure (#18): code among ``vocabulary.COMMUNE_INDICATORS``."""

    commune: Id
    code: Annotated[str, Meta(min_length=1, max_length=40)]
    value: Annotated[float, Meta(ge=0, le=1e12)]
    measured_on: dt.date
    source: ShortText = ""


class AxisIn(Struct, **STRICT):
    code: Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    description: LongText = ""
    position: Annotated[int, Meta(ge=0, le=10_000)] = 0


class OrganisationIn(Struct, **STRICT):
    name: Name
    kind: OrganisationKind
    category: Annotated[str, Meta(max_length=100)] = ""
    parent: Id | None = None
    siret: str | None = None
    siren: str | None = None
    rna: str | None = None
    uai: str | None = None
    address: ShortText = ""
    commune: Id | None = None
    email: Email | None = None
    phone: Phone | None = None
    website: Url | None = None
    notes: LongText = ""
    axes: IdList = msgspec.field(default_factory=list)
    territory: Id | UnsetType | None = UNSET
    """Le territoire de l'organisation ; vide : partagée entre les territoires. Absent : déduit
    du type et de la commune (voir « Plusieurs territoires sur une instance »)."""


class ContactIn(Struct, **STRICT):
    first_name: Annotated[str, Meta(min_length=1, max_length=100)]
    last_name: Annotated[str, Meta(min_length=1, max_length=100)]
    civility: Civility = ""
    email: Email | None = None
    phone: Phone | None = None
    commune: Id | None = None
    notes: LongText = ""
    legal_basis: LegalBasis = "mission_interet_public"
    consent_date: dt.date | None = None
    mailing_opt_out: bool = False
    axes: IdList = msgspec.field(default_factory=list)
    territory: Id | UnsetType | None = UNSET
    """Le territoire du contact ; vide : partagé. Suit ses rattachements et participations dès
    qu'il en a ; absent : déduit de la commune."""


class AffiliationIn(Struct, **STRICT):
    contact: Id
    organisation: Id
    function: Annotated[str, Meta(max_length=200)] = ""
    elected_mandate: bool = False
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    is_primary: bool = False


class WorkingGroupIn(Struct, **STRICT):
    name: Name
    kind: GroupKind
    # Absent: placed by the rule (`maillage.crm.scope.place_group`); null: shared (#20).
    territory: Id | UnsetType | None = UNSET
    description: LongText = ""
    default_location: ShortText = ""
    rrule: Annotated[str, Meta(max_length=500)] | None = None
    active: bool = True
    axes: IdList = msgspec.field(default_factory=list)
    communes: IdList = msgspec.field(default_factory=list)


class MembershipIn(Struct, **STRICT):
    contact: Id
    working_group: Id
    role: MembershipRole = MEMBER
    organisation: Id | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    substitute: Id | None = None


class MeetingIn(Struct, **STRICT):
    working_group: Id
    title: Name
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: ShortText = ""
    video_url: Url | None = None
    agenda: LongText = ""
    status: MeetingStatus = PLANNED
    minutes: LongText = ""
    is_public: bool = False
    attendance_count: Annotated[int, Meta(ge=0, le=1_000_000)] | None = None
    registration_open: bool = False
    capacity: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    retention_days: Annotated[int, Meta(ge=1, le=3650)] = 365
    consultation_open: bool = False


class InvitationIn(Struct, **STRICT):
    meeting: Id
    contact: Id
    response: Response = PENDING
    attendance: Attendance | None = None


class PartnershipIn(Struct, **STRICT):
    organisation: Id
    partner: Id
    kind: PartnershipKind = "partenariat"
    description: LongText = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    contract_reference: Annotated[str, Meta(max_length=100)] | None = None
    delegated_service: Id | None = None
    axes: IdList = msgspec.field(default_factory=list)


class InteractionIn(Struct, **STRICT):
    occurred_on: dt.date
    kind: InteractionKind = "appel"
    summary: LongText = ""
    follow_up_on: dt.date | None = None
    organisations: IdList = msgspec.field(default_factory=list)
    contacts: IdList = msgspec.field(default_factory=list)
    territory: Id | None = None


class Indicator(Struct, **STRICT):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    unit: Annotated[str, Meta(max_length=50)] = ""
    targets: dict[str, float] = msgspec.field(default_factory=dict)
    values: dict[str, float] = msgspec.field(default_factory=dict)


Amount = Annotated[float, Meta(ge=0, le=1_000_000_000)]


class BudgetLine(Struct, **STRICT):
    """An amount a financer planned (and spent) for a fiche action in the evaluation's year."""

    financer: Financer
    planned: Amount = 0.0
    spent: Amount | None = None
    note: ShortText = ""
    """Précision sur le financeur ou le dispositif (ex. : « Commune de Lens »)."""


class Evaluation(Struct, **STRICT):
    """The yearly evaluation of a fiche action (#22)."""

    year: Annotated[int, Meta(ge=2000, le=2100)]
    done: LongText = ""
    """Ce qui a été réalisé dans l'année."""
    results: LongText = ""
    """Indicateurs atteints ou non, et pourquoi."""
    partners: LongText = ""
    """Partenaires mobilisés."""
    decision: EvaluationDecision | None = None
    """Poursuivre, ajuster ou arrêter l'action."""
    budget: Annotated[list[BudgetLine], Meta(max_length=30)] = msgspec.field(default_factory=list)


class ActionIn(Struct, **STRICT):
    title: Name
    axis: Id | None = None
    objective: LongText = ""
    pilot: Id | None = None
    working_group: Id | None = None
    status: ActionStatus = TO_START
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    indicators: Annotated[list[Indicator], Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    evaluations: Annotated[list[Evaluation], Meta(max_length=30)] = msgspec.field(
        default_factory=list
    )
    notes: LongText = ""
    partners: IdList = msgspec.field(default_factory=list)
    territory: Id | None = None


class DecisionIn(Struct, **STRICT):
    summary: Annotated[str, Meta(min_length=1, max_length=2000)]
    """Ce qui a été décidé (ou l'action à mener)."""
    meeting: Id | None = None
    """La réunion où la décision a été prise ; son instance devient celle de la décision."""
    working_group: Id | None = None
    """L'instance qui a décidé (déduite de la réunion quand elle est donnée)."""
    carrier_contact: Id | None = None
    carrier_organisation: Id | None = None
    action: Id | None = None
    """La fiche action que la décision sert."""
    due_on: dt.date | None = None
    status: DecisionStatus = DECISION_TO_DO
    done_on: dt.date | None = None
    notes: LongText = ""


class UserIn(Struct, **STRICT):
    email: Email
    role: Role = READER
    name: Annotated[str, Meta(max_length=200)] = ""
    active: bool = True
    contact: Id | None = None
    password: Annotated[str, Meta(min_length=10, max_length=200)] | None = None


def derive_update(source: type[Struct], name: str) -> type[Struct]:
    """Every field of ``source`` optional (absent means unchanged), plus the version read."""
    fields: list[Any] = [("version", Annotated[int, Meta(ge=1)])]
    for info in msgspec.structs.fields(source):
        fields.append((info.name, info.type | UnsetType, UNSET))
    return msgspec.defstruct(name, fields, **STRICT)


_READ_EXTRA: list[Any] = [
    ("id", int),
    ("version", int),
    ("created_at", dt.datetime),
    ("updated_at", dt.datetime),
]


def derive_read(
    source: type[Struct], name: str, hidden: tuple[str, ...] = (), extra: tuple[Any, ...] = ()
) -> type[Struct]:
    fields: list[Any] = list(_READ_EXTRA)
    fields += [(f.name, f.type) for f in msgspec.structs.fields(source) if f.name not in hidden]
    fields += list(extra)
    return msgspec.defstruct(name, fields, kw_only=True)


def derive_page(read: type[Struct], name: str) -> type[Struct]:
    return msgspec.defstruct(
        name,
        [("items", list[read]), ("total", int), ("limit", int), ("offset", int)],  # type: ignore[valid-type]  # a Struct type made at run time
    )
