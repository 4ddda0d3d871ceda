"""JSON API under ``/api/v1``: one router per registry resource, built from its ``ResourceSpec``.

Handlers parse the request, check the role and call the shared ``ResourceService``; they hold no
rule of their own. The list filters of each resource become documented query parameters, which
is why the list handler's signature is assembled from the spec.
"""

import inspect
from typing import Annotated, Any

from litestar import Router, delete, get, patch, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from maillage.crm import auth
from maillage.crm.registry import SERVICES
from maillage.crm.resources import (
    FILTER_BOUNDS,
    MAX_PAGE_SIZE,
    ListQuery,
    ResourceService,
    ResourceSpec,
)
from maillage.mailing import invitations
from maillage.tables import ROW_ID_MAX
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires, settings_of

RecordId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant")]


def _list_parameters(spec: ResourceSpec) -> list[inspect.Parameter]:
    def query(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
        )

    params = [
        query(
            "limit",
            int,
            Parameter(default=50, ge=1, le=MAX_PAGE_SIZE, description="Taille de la page"),
        ),
        query(
            "offset",
            int,
            Parameter(default=0, ge=0, le=ROW_ID_MAX, description="Rang du premier élément"),
        ),
        query(
            "sort",
            str | None,
            Parameter(
                default=None,
                max_length=50,
                description="Tri : " + ", ".join(spec.sortable) + " (préfixe « - » : décroissant)",
            ),
        ),
    ]
    if spec.search_fields:
        params.append(
            query(
                "q",
                str | None,
                Parameter(
                    default=None,
                    max_length=200,
                    description="Recherche sans accents ni majuscules",
                ),
            )
        )
    if spec.lifecycle == "archive":
        params.append(
            query(
                "include_archived",
                bool,
                Parameter(default=False, description="Inclure les fiches archivées"),
            )
        )
    for item in spec.filters:
        params.append(
            query(
                item.name,
                item.type | None,
                Parameter(
                    default=None,
                    description=item.description,
                    **FILTER_BOUNDS.get(item.type, {}),  # type: ignore[arg-type]  # the bounds (ge, le, max_length) fit the filter's type
                ),
            )
        )
    return params


def _with_signature(handler: Any, params: list[inspect.Parameter], returns: Any) -> Any:
    """Give a generated handler the signature Litestar reads to parse and document it."""
    request_param = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=AppRequest
    )
    handler.__signature__ = inspect.Signature([request_param, *params], return_annotation=returns)
    handler.__annotations__ = {
        "request": AppRequest,
        **{p.name: p.annotation for p in params},
        "return": returns,
    }
    return handler


def _list_handler(spec: ResourceSpec, service: ResourceService) -> Any:
    filter_names = [item.name for item in spec.filters]

    async def list_records(request: AppRequest, **params: Any) -> Any:
        query = ListQuery(
            limit=params["limit"],
            offset=params["offset"],
            sort=params["sort"],
            q=params.get("q"),
            include_archived=params.get("include_archived", False),
            filters={name: params[name] for name in filter_names},
        )
        return await service.page(query)

    list_records.__name__ = f"list_{spec.name}"
    return get(
        "/",
        summary=f"Lister : {spec.label.lower()}",
        description=(
            "Liste paginée `{items, total, limit, offset}` (`total` : nombre exact de fiches, "
            "pour paginer tant que `offset < total`), filtrable et triable."
        ),
        guards=[requires(spec.read_role)],
        responses=error_responses(400, 401, 403),
        operation_id=f"list_{spec.name}",
    )(_with_signature(list_records, _list_parameters(spec), spec.page))


def _get_handler(spec: ResourceSpec, service: ResourceService) -> Any:
    async def get_record(request: AppRequest, record_id: RecordId) -> Any:
        return await service.get(record_id)

    return get(
        "/{record_id:int}",
        summary=f"Lire : {spec.label.lower()}",
        guards=[requires(spec.read_role)],
        responses=error_responses(400, 401, 403, 404),
        operation_id=f"get_{spec.entity}",
    )(_with_signature(get_record, [_record_id_param()], spec.read))


def _record_id_param() -> inspect.Parameter:
    return inspect.Parameter(
        "record_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=RecordId
    )


def _data_param(annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(
        "data",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=JSONBody[annotation],  # type: ignore[misc]  # the body's type is chosen at run time
    )


def _create_handler(spec: ResourceSpec, service: ResourceService) -> Any:
    async def create_record(request: AppRequest, data: Any) -> Any:
        return await service.create(request.user, data)

    return post(
        "/",
        summary=f"Créer : {spec.label.lower()}",
        status_code=HTTP_201_CREATED,
        guards=[requires(spec.write_role)],
        responses=error_responses(400, 401, 403, 409, 413),
        operation_id=f"create_{spec.entity}",
    )(_with_signature(create_record, [_data_param(spec.input)], spec.read))


async def _meeting_updated(request: AppRequest, record_id: int) -> None:
    await invitations.queue_changes(request.user, settings_of(request), record_id)


# What follows an update, by resource: a meeting's invitees get its update or cancellation.
AFTER_UPDATE = {"meetings": _meeting_updated}


def _update_handler(spec: ResourceSpec, service: ResourceService) -> Any:
    after = AFTER_UPDATE.get(spec.name)

    async def update_record(request: AppRequest, record_id: int, data: Any) -> Any:
        record = await service.update(request.user, record_id, data)
        if after is not None:
            await after(request, record_id)
        return record

    return patch(
        "/{record_id:int}",
        summary=f"Modifier : {spec.label.lower()}",
        description="Envoyez la `version` lue : si la fiche a changé depuis, la réponse est 409.",
        guards=[requires(spec.write_role)],
        responses=error_responses(400, 401, 403, 404, 409, 413),
        operation_id=f"update_{spec.entity}",
    )(_with_signature(update_record, [_record_id_param(), _data_param(spec.update)], spec.read))


def _archive_handlers(spec: ResourceSpec, service: ResourceService) -> list[Any]:
    def build(archived: bool) -> Any:
        async def set_archived(request: AppRequest, record_id: int) -> Any:
            return await service.set_archived(request.user, record_id, archived)

        verb = "archive" if archived else "restore"
        return post(
            f"/{{record_id:int}}/{verb}",
            summary=f"{'Archiver' if archived else 'Restaurer'} : {spec.label.lower()}",
            status_code=200,
            guards=[requires(spec.write_role)],
            responses=error_responses(400, 401, 403, 404),
            operation_id=f"{verb}_{spec.entity}",
        )(_with_signature(set_archived, [_record_id_param()], spec.read))

    return [build(True), build(False)]


def _delete_handler(spec: ResourceSpec, service: ResourceService) -> Any:
    async def delete_record(request: AppRequest, record_id: int) -> None:
        await service.delete(request.user, record_id)

    return delete(
        "/{record_id:int}",
        summary=f"Supprimer : {spec.label.lower()}",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires(spec.write_role)],
        responses=error_responses(400, 401, 403, 404, 409),
        operation_id=f"delete_{spec.entity}",
    )(_with_signature(delete_record, [_record_id_param()], None))


def resource_router(service: ResourceService) -> Router:
    spec = service.spec
    handlers = [
        _list_handler(spec, service),
        _get_handler(spec, service),
        _create_handler(spec, service),
        _update_handler(spec, service),
    ]
    if spec.lifecycle == "archive":
        handlers += _archive_handlers(spec, service)
    if spec.lifecycle == "delete":
        handlers.append(_delete_handler(spec, service))
    return Router(path=f"/{spec.name}", route_handlers=handlers, tags=[spec.label])


@post(
    "/users/{record_id:int}/unlock",
    summary="Débloquer la connexion d'un compte freiné par des mots de passe erronés",
    description=(
        "Remet à zéro les compteurs de tentatives du compte (par adresse et tous comptes "
        "confondus) : la personne peut se connecter de nouveau sans attendre."
    ),
    guards=[requires("admin")],
    responses=error_responses(400, 401, 403, 404),
    operation_id="unlock_user",
    status_code=200,
)
async def unlock_user(request: AppRequest, record_id: RecordId) -> dict[str, Any]:
    unlocked = await auth.unlock_sign_in(request.user, record_id)
    return {"debloque": unlocked > 0, "compteurs": unlocked}


def resource_routers() -> list[Router | Any]:
    return [*(resource_router(service) for service in SERVICES.values()), unlock_user]
