"""JSON API of the mailing part: invitations, minutes, iTIP replies, mass mailings, outbox.

Handlers parse, check the role and call the services of ``maillage.mailing``; the messages
themselves leave through the outbox, sent by the sender running beside the application.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Router, get, post
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import Meta, Struct, field

from maillage.errors import FieldError, InvalidData
from maillage.mailing import invitations, mailings, outbox, reminders, replies, review
from maillage.mailing.invitations import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_LABEL, MAX_ATTACHMENTS
from maillage.mailing.messages import Attachment
from maillage.reports import service as report_service
from maillage.reports.files import MEDIA_TYPES
from maillage.tables import ROW_ID_MAX
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires, settings_of

MeetingId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant de la réunion")]
MessageId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant du message")]
ContactId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant du contact")]
Id = Annotated[int, Meta(ge=1, le=ROW_ID_MAX)]


class Person(Struct):
    contact: int
    name: str
    invitation: int | None = None
    email: str | None = None
    reason: str | None = None


class InviteIn(Struct, forbid_unknown_fields=True, kw_only=True):
    contacts: Annotated[list[Id], Meta(max_length=1000)] = field(default_factory=list)
    group_members: bool = False
    """Inviter tous les membres actuels de l'instance de la réunion."""
    include_substitutes: bool = False
    """Avec ``group_members`` : inviter aussi les suppléants."""


class InviteReport(Struct):
    created: list[Person]
    already_invited: list[Person]
    problems: list[Person]


class QueueReport(Struct):
    meeting: int
    queued: int
    invitation: int
    modification: int
    annulation: int
    problems: list[Person]


class SampleMessage(Struct):
    kind: str
    """invitation, modification ou annulation."""
    to: str
    subject: str
    text: str
    """Le texte du message ; les liens personnels de réponse y sont masqués."""


class Recipient(Struct):
    contact: int
    name: str
    kind: str


class PreviewReport(Struct):
    meeting: int
    queued: int
    invitation: int
    modification: int
    annulation: int
    samples: list[SampleMessage]
    recipients: list[Recipient]
    problems: list[Person]


class RelaunchReport(Struct):
    meeting: int
    queued: int
    recently_relaunched: int
    """Relancées il y a moins de 20 heures : pas relancées à nouveau."""
    not_sent_yet: int
    """Invitations encore dans la file d'envoi : pas de relance avant leur départ."""
    problems: list[Person]


class AttachmentIn(Struct, forbid_unknown_fields=True, kw_only=True):
    filename: Annotated[str, Meta(min_length=1, max_length=200)]
    content_base64: str
    content_type: Annotated[str, Meta(max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")] = (
        "application/octet-stream"
    )


class MinutesIn(Struct, forbid_unknown_fields=True, kw_only=True):
    audience: Literal["invites", "presents_excuses"] = "invites"
    attachments: Annotated[list[AttachmentIn], Meta(max_length=MAX_ATTACHMENTS)] = field(
        default_factory=list
    )


class MinutesReport(Struct):
    meeting: int
    queued: int
    problems: list[Person]


class ReplyResult(Struct, omit_defaults=True):
    status: str
    """« enregistree », « ignoree », « a_rattacher » (à examiner sur la page de la réunion) ou
    « contre_proposition » (nouvel horaire proposé, jamais appliqué)."""
    uid: str | None = None
    attendee: str | None = None
    response: str | None = None
    reason: str | None = None
    meeting: int | None = None
    invitations: list[int] | None = None
    colleague: int | None = None
    """Le contact connu, collègue d'un invité, invité et dont la réponse est enregistrée."""
    delegated_to: str | None = None
    proposed_start: dt.datetime | None = None


class ReplyReport(Struct):
    replies: list[ReplyResult]
    recorded: int


class MailingIn(Struct, forbid_unknown_fields=True, kw_only=True):
    subject: Annotated[str, Meta(max_length=300)]
    body: Annotated[str, Meta(max_length=50_000)]
    axis: Id | None = None
    kind: Annotated[str, Meta(max_length=30)] | None = None
    group: Id | None = None
    commune: Id | None = None
    expected_recipients: Annotated[int, Meta(ge=0, le=1_000_000)] | None = None
    """Nombre de destinataires annoncé par l'aperçu : à l'envoi, 409 et rien n'est envoyé
    s'il a changé depuis (ignoré par l'aperçu)."""

    def filters(self) -> mailings.Filters:
        return mailings.Filters(self.axis, self.kind, self.group, self.commune)


class Sample(Struct):
    to: str
    subject: str
    text: str


class MailingPreview(Struct):
    recipients: int
    addresses: list[str]
    without_email: list[Person]
    invalid: list[Person]
    opted_out: list[Person]
    sample: Sample | None


class MailingReport(Struct):
    recipients: int
    queued: int
    without_email: list[Person]
    invalid: list[Person]
    opted_out: list[Person]


class OutboxRead(Struct):
    id: int
    created_at: dt.datetime
    kind: str
    recipient: str
    subject: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    sent_at: dt.datetime | None
    contact: int | None
    invitation: int | None


class OutboxPage(Struct):
    items: list[OutboxRead]
    total: int
    limit: int
    offset: int


def _people(items: list[dict[str, Any]]) -> list[Person]:
    return [
        Person(
            contact=item["contact"],
            name=item["name"],
            invitation=item.get("invitation"),
            email=item.get("email"),
            reason=item.get("reason"),
        )
        for item in items
    ]


@post(
    "/meetings/{meeting_id:int}/invitations",
    summary="Inviter des contacts ou les membres d'une instance",
    description="Crée les invitations (sans rien envoyer) ; les contacts sans adresse sont signalés.",
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 413),
    tags=["Invitations"],
)
async def invite(
    request: AppRequest, meeting_id: MeetingId, data: JSONBody[InviteIn]
) -> InviteReport:
    report = await invitations.invite(
        request.user,
        meeting_id,
        invitations.InviteRequest(
            tuple(data.contacts), data.group_members, data.include_substitutes
        ),
    )
    return InviteReport(
        _people(report["created"]),
        _people(report["already_invited"]),
        _people(report["problems"]),
    )


@post(
    "/meetings/{meeting_id:int}/invitations/send",
    summary="Envoyer les invitations, modifications ou annulation dues",
    description=(
        "Met en file d'envoi ce que chaque invité n'a pas encore reçu : l'invitation, la "
        "modification (SEQUENCE plus élevée) ou l'annulation. Sans effet si tout est à jour."
    ),
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["Invitations"],
)
async def send_invitations(
    request: AppRequest,
    meeting_id: MeetingId,
    attach_pack: Annotated[
        bool,
        QueryParameter(
            description=(
                "Joindre le dossier de séance (DOCX) aux invitations et aux modifications, "
                "jamais à une annulation."
            )
        ),
    ] = False,
) -> QueueReport:
    files = await pack_attachments(request.user, meeting_id, attach_pack)
    report = await invitations.queue(
        request.user, settings_of(request), meeting_id, attachments=files
    )
    return QueueReport(**{**report, "problems": _people(report["problems"])})


@get(
    "/meetings/{meeting_id:int}/invitations/preview",
    summary="Aperçu de l'envoi des invitations",
    description=(
        "Ce que l'envoi mettrait en file maintenant, sans rien écrire : le nombre de messages "
        "par sorte, un message de chaque sorte tel que le lira son premier destinataire, les "
        "destinataires et les personnes injoignables."
    ),
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["Invitations"],
)
async def preview_invitations(request: AppRequest, meeting_id: MeetingId) -> PreviewReport:
    report = await invitations.preview(settings_of(request), meeting_id)
    return PreviewReport(
        meeting=report["meeting"],
        queued=report["queued"],
        invitation=report["invitation"],
        modification=report["modification"],
        annulation=report["annulation"],
        samples=[SampleMessage(s.kind, s.to, s.subject, s.text) for s in report["samples"]],
        recipients=[Recipient(**item) for item in report["recipients"]],
        problems=_people(report["problems"]),
    )


@post(
    "/meetings/{meeting_id:int}/invitations/relaunch",
    summary="Relancer les invités qui n'ont pas répondu",
    description=(
        "Un message avec les liens de réponse à chaque invité qui a reçu l'invitation et n'a pas "
        "répondu ; pas à ceux relancés il y a moins de 20 heures. Réunion planifiée à venir."
    ),
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["Invitations"],
)
async def relaunch_invitations(request: AppRequest, meeting_id: MeetingId) -> RelaunchReport:
    report = await reminders.relaunch_pending(request.user, settings_of(request), meeting_id)
    return RelaunchReport(**{**report, "problems": _people(report["problems"])})


async def pack_attachments(actor: Any, meeting_id: int, wanted: bool) -> list[Attachment]:
    """The meeting's pack as a DOCX attachment when the coordinator joins it to the
    invitations (#22); its export is journaled like any download of the pack."""
    if not wanted:
        return []
    content, name = await report_service.pack_download(actor, meeting_id, "docx", dt.date.today())
    return [Attachment(name, content, MEDIA_TYPES["docx"])]


def _attachments(items: list[AttachmentIn]) -> list[Attachment]:
    result, errors = [], []
    for position, item in enumerate(items):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            errors.append(FieldError(f"attachments[{position}]", "Contenu base64 illisible."))
            continue
        if len(content) > MAX_ATTACHMENT_BYTES:
            errors.append(
                FieldError(
                    f"attachments[{position}]",
                    f"Pièce jointe trop lourde ({MAX_ATTACHMENT_LABEL} au plus).",
                )
            )
            continue
        result.append(Attachment(item.filename, content, item.content_type))
    if errors:
        raise InvalidData(errors)
    return result


@post(
    "/meetings/{meeting_id:int}/minutes/send",
    summary="Envoyer le compte rendu",
    description="Aux invités, ou aux seuls présents et excusés, avec des pièces jointes (base64).",
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 413),
    tags=["Invitations"],
)
async def send_minutes(
    request: AppRequest, meeting_id: MeetingId, data: JSONBody[MinutesIn]
) -> MinutesReport:
    report = await invitations.queue_minutes(
        request.user,
        settings_of(request),
        meeting_id,
        data.audience,
        _attachments(data.attachments),
    )
    return MinutesReport(report["meeting"], report["queued"], _people(report["problems"]))


@post(
    "/replies",
    summary="Enregistrer une réponse d'agenda (iTIP REPLY)",
    description=(
        "Corps : le fichier .ics (METHOD:REPLY) envoyé par un agenda, ou le message complet "
        "qui le contient. Met à jour la réponse de l'invitation correspondante."
    ),
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 413),
    tags=["Invitations"],
)
async def ingest_reply(request: AppRequest) -> ReplyReport:
    # The body is the file itself (text/calendar, message/rfc822…), whatever its declared type.
    data = await request.body()
    report = await replies.ingest(request.user, data)
    return ReplyReport([ReplyResult(**item) for item in report["replies"]], report["recorded"])


@post(
    "/mailings/preview",
    summary="Prévisualiser un envoi groupé",
    description="Destinataires retenus, contacts sans adresse, désinscrits, et le message du premier.",
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 413),
    tags=["Envois groupés"],
)
async def preview_mailing(request: AppRequest, data: JSONBody[MailingIn]) -> MailingPreview:
    result = await mailings.preview(settings_of(request), data.filters(), data.subject, data.body)
    sample = result["sample"]
    return MailingPreview(
        recipients=result["recipients"],
        addresses=result["addresses"],
        without_email=_people(result["without_email"]),
        invalid=_people(result["invalid"]),
        opted_out=_people(result["opted_out"]),
        sample=Sample(**sample) if sample else None,
    )


@post(
    "/mailings",
    summary="Envoyer un message groupé",
    description=(
        "Un message par destinataire, avec champs de fusion ({{ prenom }}, {{ nom }}, "
        "{{ civilite }}, {{ organisation }}, {{ fonction }}) et lien de désinscription."
    ),
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 409, 413),
    tags=["Envois groupés"],
)
async def send_mailing(request: AppRequest, data: JSONBody[MailingIn]) -> MailingReport:
    result = await mailings.send(
        request.user,
        settings_of(request),
        data.filters(),
        data.subject,
        data.body,
        expected_count=data.expected_recipients,
    )
    return MailingReport(
        recipients=result["recipients"],
        queued=result["queued"],
        without_email=_people(result["without_email"]),
        invalid=_people(result["invalid"]),
        opted_out=_people(result["opted_out"]),
    )


@get(
    "/outbox",
    summary="Lister les messages de la file d'envoi",
    description="Statuts : en_attente, envoi, envoye, echec, annule ; la dernière erreur est lisible.",
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403),
    tags=["File d'envoi"],
)
async def list_outbox(
    limit: int = Parameter(default=50, ge=1, le=500, description="Taille de la page"),
    offset: int = Parameter(default=0, ge=0, description="Rang du premier élément"),
    status: Literal["en_attente", "envoi", "envoye", "echec", "annule"] | None = Parameter(
        default=None, description="Statut"
    ),
    kind: str | None = Parameter(default=None, max_length=20, description="Type de message"),
) -> OutboxPage:
    return await outbox.list_messages(limit, offset, status, kind)  # type: ignore[return-value]  # Litestar encodes the dict the Struct documents


@get(
    "/outbox/{message_id:int}",
    summary="Lire un message de la file d'envoi",
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["File d'envoi"],
)
async def get_outbox_message(message_id: MessageId) -> OutboxRead:
    return await outbox.get_message(message_id)  # type: ignore[return-value]  # Litestar encodes the dict the Struct documents


@post(
    "/outbox/{message_id:int}/retry",
    summary="Renvoyer un message en échec ou annulé",
    description="Le message repart avec le même Message-ID.",
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["File d'envoi"],
)
async def retry_outbox_message(message_id: MessageId) -> OutboxRead:
    return await outbox.retry(message_id)  # type: ignore[return-value]  # Litestar encodes the dict the Struct documents


@post(
    "/outbox/{message_id:int}/cancel",
    summary="Annuler l'envoi d'un message en attente",
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["File d'envoi"],
)
async def cancel_outbox_message(message_id: MessageId) -> OutboxRead:
    return await outbox.cancel(message_id)  # type: ignore[return-value]  # Litestar encodes the dict the Struct documents


@post(
    "/contacts/{contact_id:int}/unsubscribe-links/revoke",
    summary="Révoquer les liens de désinscription d'une personne",
    description="Les liens de désinscription déjà envoyés à cette personne cessent de "
    "fonctionner (message transféré, lien partagé par erreur) ; le prochain envoi en porte un "
    "nouveau. Un lien expire de lui-même 400 jours après l'envoi.",
    status_code=HTTP_204_NO_CONTENT,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["Envois groupés"],
)
async def revoke_unsubscribe_links(request: AppRequest, contact_id: ContactId) -> None:
    await mailings.revoke_unsubscribe_links(request.user, contact_id)


ItemId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant du message")]


class InboundItemOut(Struct):
    id: int
    meeting: int
    kind: Literal["a_rattacher", "contre_proposition"]
    """« a_rattacher » : réponse d'une adresse qui n'est celle d'aucun invité, ou délégation à
    une personne inconnue ; « contre_proposition » : nouvel horaire proposé (jamais appliqué)."""
    status: Literal["ouvert", "rattache", "ignore"]
    sender: str
    sender_name: str
    on_behalf_of: str
    response: str
    comment: str
    reason: str
    message_date: dt.datetime | None
    proposed_start: dt.datetime | None
    proposed_end: dt.datetime | None
    invitation: int | None
    invitee: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class AttachIn(Struct, forbid_unknown_fields=True, kw_only=True):
    invitation: Id | None = None
    """Une invitation de cette réunion, qui reçoit la réponse…"""
    contact: Id | None = None
    """…ou un contact, invité alors à la réunion."""


class AttachOut(Struct):
    item: int
    invitation: int
    response: str


def _item(row: dict[str, Any]) -> InboundItemOut:
    return InboundItemOut(
        **{name: row[name] for name in InboundItemOut.__struct_fields__ if name != "invitee"},
        invitee=row["invitee"],
    )


@get(
    "/meetings/{meeting_id:int}/inbound-items",
    summary="Messages à examiner et contre-propositions d'une réunion",
    description=(
        "Ce que la lecture de la boîte n'a pas rattaché seule : réponses d'une autre adresse "
        "que celle de l'invité, délégations à une personne inconnue, nouveaux horaires "
        "proposés. Ceux déjà traités avec ``tous=true``."
    ),
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["Invitations"],
)
async def list_inbound_items(
    meeting_id: MeetingId, tous: bool = Parameter(default=False)
) -> list[InboundItemOut]:
    await review.checked_meeting(meeting_id)
    return [_item(row) for row in await review.of_meeting(meeting_id, everything=tous)]


@post(
    "/meetings/{meeting_id:int}/inbound-items/{item_id:int}/attach",
    summary="Rattacher une réponse à examiner",
    description=(
        "Enregistre la réponse sur l'invitation choisie, ou invite le contact choisi et "
        "l'enregistre pour lui ; source « message à examiner »."
    ),
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["Invitations"],
)
async def attach_inbound_item(
    request: AppRequest, meeting_id: MeetingId, item_id: ItemId, data: JSONBody[AttachIn]
) -> AttachOut:
    await review.checked_meeting(meeting_id, write=True)
    done = await review.attach(
        request.user,
        item_id,
        invitation_id=data.invitation,
        contact_id=data.contact,
        meeting_id=meeting_id,
    )
    return AttachOut(**done)


@post(
    "/meetings/{meeting_id:int}/inbound-items/{item_id:int}/ignore",
    summary="Ignorer un message à examiner ou une contre-proposition",
    status_code=HTTP_204_NO_CONTENT,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=["Invitations"],
)
async def ignore_inbound_item(request: AppRequest, meeting_id: MeetingId, item_id: ItemId) -> None:
    await review.checked_meeting(meeting_id, write=True)
    await review.ignore(request.user, item_id, meeting_id=meeting_id)


def mailing_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[
            invite,
            send_invitations,
            preview_invitations,
            relaunch_invitations,
            send_minutes,
            ingest_reply,
            preview_mailing,
            send_mailing,
            list_outbox,
            get_outbox_message,
            retry_outbox_message,
            cancel_outbox_message,
            revoke_unsubscribe_links,
            list_inbound_items,
            attach_inbound_item,
            ignore_inbound_item,
        ],
    )
