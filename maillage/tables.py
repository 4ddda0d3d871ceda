"""Piccolo tables of the partner registry (CONTRIBUTING.md, « Le modèle de données »).

Choices worth knowing:
- every foreign key states its ``on_delete``: people's data never disappears by cascade, except
  pure link rows (axes of a record, tokens of a user) that mean nothing without their owner;
- optional identifiers (SIRET, SIREN, email…) default to ``None``, not ``''``, so that unique
  indexes only compare real values;
- composite and partial unique indexes are created in the migrations with raw SQL, because
  Piccolo's ``Unique`` constraint is emitted in a form SQLite rejects.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# PostgreSQL's integer (SQLite's is wider): an id or offset beyond it names no row, so the
# doors refuse it before it reaches a query (where PostgreSQL would answer an error).
ROW_ID_MAX = 2**31 - 1


class Versioned(Table):
    """Columns shared by every mutable record: optimistic concurrency and timestamps."""

    id = Serial(primary_key=True)  # Piccolo's default, declared so type checkers see it
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Territory(Versioned):
    name = Varchar(length=200)
    siren = Varchar(length=9, null=True, default=None, unique=True)
    ctg_start = Date(null=True, default=None)
    ctg_end = Date(null=True, default=None)
    school_zone = Varchar(length=1, null=True, default=None)
    search = Varchar(length=400, index=True)
    # Provenance of a record written from a public register (#18), e.g. « Répertoire national
    # des élus, octobre 2026 »; empty for what people typed or imported.
    source = Varchar(length=200, default="")
    # The département of most of its communes (INSEE code: 2 characters, 3 for 97x), None
    # without communes; what its scoped users see of the shared records (#20, crm.scope).
    departement = Varchar(length=3, null=True, default=None)


class Commune(Versioned):
    insee_code = Varchar(length=5, unique=True)
    name = Varchar(length=200)
    population = Integer(null=True, default=None)
    territory = ForeignKey(Territory, null=True, on_delete=OnDelete.restrict, index=True)
    search = Varchar(length=400, index=True)
    source = Varchar(length=200, default="")  # provenance: see Territory.source


class CommuneOutline(Table):
    """A commune's outline from the public registers (#18): WKB (hex) in WGS 84 longitude and
    latitude. Apart from the commune so that lists of communes never read kilobytes of
    coordinates; derived data, gone with its commune."""

    id = Serial(primary_key=True)
    commune = ForeignKey(Commune, on_delete=OnDelete.cascade, unique=True)
    wkb = Text(default="")
    source = Varchar(length=200, default="")


class CommuneChildcare(Versioned):
    """What the coordinator knows of a commune's duties under the service public de la petite
    enfance (#18): whether its schéma pluriannuel de l'offre d'accueil and its relais petite
    enfance exist. ``None``: not recorded yet (not the same as « no »)."""

    commune = ForeignKey(Commune, on_delete=OnDelete.cascade, unique=True)
    schema_exists = Boolean(null=True, default=None)
    relais_exists = Boolean(null=True, default=None)
    note = Text(default="")


class CommuneIndicator(Versioned):
    """A commune-level figure imported from a file (#18): places in EAJE, children under 3,
    allocataires… keyed by ``code``, dated and sourced. One value per commune, code and date;
    a newer file adds a date, it does not erase the older one."""

    commune = ForeignKey(Commune, on_delete=OnDelete.cascade, index=True)
    code = Varchar(length=40)
    value = DoublePrecision()
    measured_on = Date()
    source = Varchar(length=200, default="")


class Axis(Versioned):
    code = Varchar(length=40, unique=True)
    name = Varchar(length=100)
    description = Text(default="")
    position = Integer(default=0)
    search = Varchar(length=400, index=True)


class Organisation(Versioned):
    name = Varchar(length=300)
    kind = Varchar(length=20, index=True)
    category = Varchar(length=100, default="", index=True)
    parent: ForeignKey[Organisation] = ForeignKey(
        "self", null=True, on_delete=OnDelete.set_null, index=True
    )
    siret = Varchar(length=14, null=True, default=None, unique=True)
    siren = Varchar(length=9, null=True, default=None)
    rna = Varchar(length=10, null=True, default=None)
    uai = Varchar(length=8, null=True, default=None)
    address = Text(default="")
    commune = ForeignKey(Commune, null=True, on_delete=OnDelete.set_null, index=True)
    email = Varchar(length=254, null=True, default=None)
    phone = Varchar(length=20, null=True, default=None)
    website = Varchar(length=500, null=True, default=None)
    notes = Text(default="")
    archived = Boolean(default=False, index=True)
    search = Varchar(length=700, index=True)
    source = Varchar(length=200, default="")  # provenance: see Territory.source
    # The register's key of the record (« mairie:35238 »), so that a refresh finds what it
    # wrote before; None for what people typed (unique index in the migration).
    source_ref = Varchar(length=200, null=True, default=None)
    # Local to one territory, or shared when None (#20; the rule is in maillage.crm.scope).
    territory = ForeignKey(Territory, null=True, on_delete=OnDelete.restrict, index=True)
    # Derived (maillage.departements): a shared one is seen by the scoped users of this
    # département only; None, by everyone.
    departement = Varchar(length=3, null=True, default=None)


class Contact(Versioned):
    civility = Varchar(length=10, default="")
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    email = Varchar(length=254, null=True, default=None, index=True)
    phone = Varchar(length=20, null=True, default=None)
    commune = ForeignKey(Commune, null=True, on_delete=OnDelete.set_null, index=True)
    notes = Text(default="")
    legal_basis = Varchar(length=30, default="mission_interet_public")
    consent_date = Date(null=True, default=None)
    mailing_opt_out = Boolean(default=False)
    archived = Boolean(default=False, index=True)
    search = Varchar(length=700, index=True)
    # A permanent delivery failure (#19): set by the mailbox reader, cleared when the address
    # changes; invitations and mailings skip the address meanwhile.
    email_bounced_at = Timestamptz(null=True, default=None)
    email_bounce_reason = Varchar(length=500, null=True, default=None)
    # Signed into unsubscribe links: a new value revokes every link of the person.
    link_nonce = Varchar(length=64, default="")
    source = Varchar(length=200, default="")  # provenance: see Territory.source
    # Local to one territory, or shared when None (#20): follows the person's ties.
    territory = ForeignKey(Territory, null=True, on_delete=OnDelete.restrict, index=True)
    # Derived (maillage.departements), as an organisation's.
    departement = Varchar(length=3, null=True, default=None)


class Affiliation(Versioned):
    contact = ForeignKey(Contact, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    function = Varchar(length=200, default="")
    elected_mandate = Boolean(default=False)
    start_date = Date(null=True, default=None)
    end_date = Date(null=True, default=None)
    is_primary = Boolean(default=False)
    source = Varchar(length=200, default="")  # provenance: see Territory.source
    source_ref = Varchar(length=200, null=True, default=None)  # see Organisation.source_ref


class WorkingGroup(Versioned):
    name = Varchar(length=200)
    kind = Varchar(length=30, index=True)
    territory = ForeignKey(Territory, null=True, on_delete=OnDelete.restrict, index=True)
    description = Text(default="")
    default_location = Varchar(length=300, default="")
    rrule = Varchar(length=500, null=True, default=None)
    active = Boolean(default=True)
    archived = Boolean(default=False, index=True)
    search = Varchar(length=400, index=True)


class Membership(Versioned):
    contact = ForeignKey(Contact, on_delete=OnDelete.restrict, index=True)
    working_group = ForeignKey(WorkingGroup, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=20, default="membre")
    organisation = ForeignKey(Organisation, null=True, on_delete=OnDelete.set_null, index=True)
    start_date = Date()
    end_date = Date(null=True, default=None)
    substitute: ForeignKey[Membership] = ForeignKey("self", null=True, on_delete=OnDelete.set_null)


class Meeting(Versioned):
    working_group = ForeignKey(WorkingGroup, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=300)
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    location = Varchar(length=300, default="")
    video_url = Varchar(length=500, null=True, default=None)
    agenda = Text(default="")
    status = Varchar(length=20, default="planifiee", index=True)
    minutes = Text(default="")
    is_public = Boolean(default=False)
    attendance_count = Integer(null=True, default=None)
    # Inhabitants register on /participer/{id} while the meeting is public and this is on (#22).
    registration_open = Boolean(default=False)
    capacity = Integer(null=True, default=None)
    retention_days = Integer(default=365)
    consultation_open = Boolean(default=False)
    ical_uid = Varchar(length=255, unique=True)
    ical_sequence = Integer(default=0)
    recurrence_id = Timestamptz(null=True, default=None)
    search = Varchar(length=700, index=True)


class Invitation(Versioned):
    meeting = ForeignKey(Meeting, on_delete=OnDelete.restrict, index=True)
    contact = ForeignKey(Contact, on_delete=OnDelete.restrict, index=True)
    response = Varchar(length=20, default="en_attente")
    attendance = Varchar(length=20, null=True, default=None)
    token_nonce = Varchar(length=64)
    replaces: ForeignKey[Invitation] = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    sent_at = Timestamptz(null=True, default=None)
    answered_at = Timestamptz(null=True, default=None)
    # The meeting's SEQUENCE last queued to this invitee: lower than the meeting's, an update
    # (or a cancellation) is due; NULL, the invitation itself has not been queued yet.
    sent_sequence = Integer(null=True, default=None)
    # « lien » (the answer link) or « agenda » (an iTIP REPLY); NULL while unanswered.
    response_source = Varchar(length=20, null=True, default=None)
    # The return date an automatic reply gave (« absent jusqu'au … », #19).
    absent_until = Date(null=True, default=None)


class Partnership(Versioned):
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    partner = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=30, default="partenariat")
    description = Text(default="")
    start_date = Date(null=True, default=None)
    end_date = Date(null=True, default=None)
    contract_reference = Varchar(length=100, null=True, default=None)
    delegated_service = ForeignKey(Organisation, null=True, on_delete=OnDelete.set_null, index=True)


class User(Versioned, tablename="app_user"):
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=200, default="")
    role = Varchar(length=20, default="lecteur")
    active = Boolean(default=True)
    must_change_password = Boolean(default=False)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    search = Varchar(length=500, index=True)


class Interaction(Versioned):
    occurred_on = Date(index=True)
    kind = Varchar(length=20, default="appel")
    summary = Text(default="")
    follow_up_on = Date(null=True, default=None, index=True)
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    # The territory whose exchange this is (#20); none: shared with every territory.
    territory = ForeignKey(Territory, null=True, on_delete=OnDelete.restrict, index=True)
    search = Varchar(length=700, index=True)


class Action(Versioned):
    title = Varchar(length=300)
    axis = ForeignKey(Axis, null=True, on_delete=OnDelete.set_null, index=True)
    objective = Text(default="")
    pilot = ForeignKey(Organisation, null=True, on_delete=OnDelete.set_null, index=True)
    working_group = ForeignKey(WorkingGroup, null=True, on_delete=OnDelete.set_null)
    # The territory whose CTG plan holds this fiche (#20); none: shared with every territory.
    territory = ForeignKey(Territory, null=True, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=20, default="a_lancer", index=True)
    start_date = Date(null=True, default=None)
    end_date = Date(null=True, default=None)
    indicators = JSON(default=[])
    evaluations = JSON(default=[])  # one per year: what was done, results, budget (#22)
    notes = Text(default="")
    search = Varchar(length=400, index=True)


class Decision(Versioned):
    """What a body decided, who carries it and by when, followed until done (#22)."""

    summary = Text()
    working_group = ForeignKey(WorkingGroup, on_delete=OnDelete.cascade, index=True)
    meeting = ForeignKey(Meeting, null=True, on_delete=OnDelete.set_null, index=True)
    carrier_contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null, index=True)
    carrier_organisation = ForeignKey(
        Organisation, null=True, on_delete=OnDelete.set_null, index=True
    )
    action = ForeignKey(Action, null=True, on_delete=OnDelete.set_null, index=True)
    due_on = Date(null=True, default=None, index=True)
    status = Varchar(length=20, default="a_faire", index=True)
    done_on = Date(null=True, default=None)
    notes = Text(default="")
    search = Varchar(length=700, index=True)


class UserTerritory(Table):
    """A user's role on one territory (#20). A user without any sees every territory with the
    role of their account, as before; an administrator always sees everything."""

    id = Serial(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    territory = ForeignKey(Territory, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=20, default="lecteur")
    created_at = Timestamptz(default=TimestamptzNow())


class InhabitantRegistration(Versioned):
    """An inhabitant registered to a public meeting (#22): kept apart from partners' contacts,
    nothing beyond what the page asks, deleted ``meeting.retention_days`` after the meeting."""

    meeting = ForeignKey(Meeting, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    commune = Varchar(length=100)
    email = Varchar(length=254, null=True, default=None)
    consent_text = Varchar(length=40)
    consent_at = Timestamptz(default=TimestamptzNow())
    status = Varchar(length=20, default="inscrit", index=True)
    # What was mailed to them, so that each notice goes once.
    reminded_at = Timestamptz(null=True, default=None)
    cancel_notified_at = Timestamptz(null=True, default=None)


class Consultation(Table):
    """A consultation on a theme of the CTG rather than a meeting (#22): its questions and
    answers are those of ``ConsultationQuestion`` and ``ConsultationAnswer`` that name it."""

    id = Serial(primary_key=True)
    axis = ForeignKey(Axis, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=200)
    is_open = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class ConsultationQuestion(Table):
    """A question of a meeting's consultation or of a theme's (#22): a choice, a 1-to-5 scale
    or free text. Exactly one of ``meeting`` and ``consultation`` is set."""

    id = Serial(primary_key=True)
    meeting = ForeignKey(Meeting, null=True, default=None, on_delete=OnDelete.cascade, index=True)
    consultation = ForeignKey(
        Consultation, null=True, default=None, on_delete=OnDelete.cascade, index=True
    )
    position = Integer(default=0)
    kind = Varchar(length=10, default="choix")
    label = Varchar(length=300)
    choices = JSON(default=[])


class ConsultationAnswer(Table):
    """One answer to one question. Anonymous: no person, no address, no time; ``submission``
    is a random number grouping the answers sent together (one row of the export)."""

    id = Serial(primary_key=True)
    meeting = ForeignKey(Meeting, null=True, default=None, on_delete=OnDelete.cascade, index=True)
    consultation = ForeignKey(
        Consultation, null=True, default=None, on_delete=OnDelete.cascade, index=True
    )
    question = ForeignKey(ConsultationQuestion, on_delete=OnDelete.cascade, index=True)
    submission = Varchar(length=32, index=True)
    value = Text()


class ApiToken(Table):
    id = Serial(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100, default="")
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class FeedToken(Table):
    """A secret that opens one calendar feed without login (the token is the permission)."""

    id = Serial(primary_key=True)

    scope = Varchar(length=20)
    target_id = Integer(null=True, default=None)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class AuditEvent(Table):
    id = Serial(primary_key=True)
    occurred_at = Timestamptz(default=TimestamptzNow(), index=True)
    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    actor = Varchar(length=254)
    action = Varchar(length=30)
    entity = Varchar(length=40, index=True)
    entity_id = Integer(null=True, default=None, index=True)
    changes = JSON(default={})


# Link tables: many-to-many relations, one row per pair (unique indexes in the migrations).
class OrganisationAxis(Table):
    id = Serial(primary_key=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.cascade, index=True)
    axis = ForeignKey(Axis, on_delete=OnDelete.restrict, index=True)


class ContactAxis(Table):
    id = Serial(primary_key=True)
    contact = ForeignKey(Contact, on_delete=OnDelete.cascade, index=True)
    axis = ForeignKey(Axis, on_delete=OnDelete.restrict, index=True)


class GroupAxis(Table):
    id = Serial(primary_key=True)
    working_group = ForeignKey(WorkingGroup, on_delete=OnDelete.cascade, index=True)
    axis = ForeignKey(Axis, on_delete=OnDelete.restrict, index=True)


class GroupCommune(Table):
    id = Serial(primary_key=True)
    working_group = ForeignKey(WorkingGroup, on_delete=OnDelete.cascade, index=True)
    commune = ForeignKey(Commune, on_delete=OnDelete.restrict, index=True)


class PartnershipAxis(Table):
    id = Serial(primary_key=True)
    partnership = ForeignKey(Partnership, on_delete=OnDelete.cascade, index=True)
    axis = ForeignKey(Axis, on_delete=OnDelete.restrict, index=True)


class InteractionOrganisation(Table):
    id = Serial(primary_key=True)
    interaction = ForeignKey(Interaction, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)


class InteractionContact(Table):
    id = Serial(primary_key=True)
    interaction = ForeignKey(Interaction, on_delete=OnDelete.cascade, index=True)
    contact = ForeignKey(Contact, on_delete=OnDelete.restrict, index=True)


class ActionPartner(Table):
    id = Serial(primary_key=True)
    action = ForeignKey(Action, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)


class OutboxMessage(Table):
    """A message written before any sending attempt (the durable outbox of the mailing issue)."""

    id = Serial(primary_key=True)

    created_at = Timestamptz(default=TimestamptzNow())
    kind = Varchar(length=20, default="invitation")
    recipient = Varchar(length=254)
    subject = Varchar(length=500)
    message_id = Varchar(length=255, unique=True)
    # status and next_attempt_at: indexed together by outbox_message_due (a raw migration).
    status = Varchar(length=20, default="en_attente")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    lease_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    sent_at = Timestamptz(null=True, default=None)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null, index=True)
    invitation = ForeignKey(Invitation, null=True, on_delete=OnDelete.set_null, index=True)


class OutboxContent(Table):
    """The bytes of an outbox message, apart from its status: SQLite rewrites a whole row at each
    update, so a 10 kB message beside the status it changes twice was written three times."""

    message = ForeignKey(OutboxMessage, on_delete=OnDelete.cascade, unique=True)
    content = Text()


class InboundMessage(Table):
    """A message the mailbox reader acted on (#19), one row per Message-ID (or digest of the
    bytes when it has none): written in the transaction of what it did, so a message fetched
    again after a crash is moved, never acted on twice. ``moved_at`` is NULL until it left the
    inbox for ``folder``."""

    id = Serial(primary_key=True)
    message_key = Varchar(length=255, unique=True)
    outcome = Varchar(length=20)
    reason = Text(default="")
    sender = Varchar(length=254, default="")
    subject = Varchar(length=500, default="")
    folder = Varchar(length=200, default="")
    received_at = Timestamptz(default=TimestamptzNow())
    moved_at = Timestamptz(null=True, default=None)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null, index=True)
    outbox_message = ForeignKey(OutboxMessage, null=True, on_delete=OnDelete.set_null)


class InboundItem(Table):
    """What the mailbox reader shows on a meeting page for the coordinator to decide (#19): an
    answer it could not attach by itself (« a_rattacher »: another address than the
    invitee's, a delegation to an unknown person) or a proposed new time
    (« contre_proposition »). ``status``: « ouvert », then « rattache » or « ignore »."""

    id = Serial(primary_key=True)
    meeting = ForeignKey(Meeting, null=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=20, default="a_rattacher")
    status = Varchar(length=20, default="ouvert")
    sender = Varchar(length=254, default="")
    sender_name = Varchar(length=200, default="")
    on_behalf_of = Varchar(length=254, default="")  # DELEGATED-FROM, or the delegator
    response = Varchar(length=20, default="en_attente")
    comment = Text(default="")
    reason = Text(default="")
    message_key = Varchar(length=255, default="")
    message_date = Timestamptz(null=True, default=None)
    proposed_start = Timestamptz(null=True, default=None)
    proposed_end = Timestamptz(null=True, default=None)
    invitation = ForeignKey(Invitation, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = Varchar(length=254, null=True, default=None)


class SignInThrottle(Table):
    """One counter of password attempts (an account, an address, or both), shared by every
    worker (#23). ``key`` and ``account`` are SHA-256 digests: neither addresses nor emails are
    stored here. ``version`` makes each count a compare-and-swap, so parallel attempts cannot
    all be counted as the first."""

    id = Serial(primary_key=True)
    key = Varchar(length=64, unique=True)
    account = Varchar(length=64, null=True, default=None, index=True)
    failures = Integer(default=0)
    next_allowed_at = Timestamptz(default=TimestamptzNow())
    succeeded_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=0)


class DuplicateDismissal(Table):
    """Two records a coordinator said are not duplicates (#21): never offered again.
    ``first`` is the smaller id, so a pair is stored once whichever way it was shown."""

    id = Serial(primary_key=True)
    entity = Varchar(length=20)
    first = Integer()
    second = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class DataChange(Table):
    """A counter of writes per territory (#20): database triggers add one on every write of a
    content table (``maillage.crm.versions``), for the territory of the row, ``territory`` 0
    for the shared rows. Memoised answers are keyed by the counters of what they read."""

    id = Serial(primary_key=True)
    territory = Integer(unique=True)
    counter = BigInt(default=0)


TABLES: list[type[Table]] = [
    Territory,
    Commune,
    CommuneOutline,
    CommuneChildcare,
    CommuneIndicator,
    Axis,
    Organisation,
    Contact,
    Affiliation,
    WorkingGroup,
    Membership,
    Meeting,
    Invitation,
    Partnership,
    User,
    UserTerritory,
    Interaction,
    Action,
    Decision,
    InhabitantRegistration,
    Consultation,
    ConsultationQuestion,
    ConsultationAnswer,
    ApiToken,
    FeedToken,
    AuditEvent,
    OrganisationAxis,
    ContactAxis,
    GroupAxis,
    GroupCommune,
    PartnershipAxis,
    InteractionOrganisation,
    InteractionContact,
    ActionPartner,
    OutboxMessage,
    OutboxContent,
    SignInThrottle,
    DuplicateDismissal,
    InboundMessage,
    InboundItem,
    DataChange,
]
