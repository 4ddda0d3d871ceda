"""Error bodies and the declaration of every error status in the OpenAPI schema."""

from __future__ import annotations

from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from msgspec import Struct

from maillage import __version__


class FieldErrorBody(Struct):
    field: str
    message: str


class ConflictBody(Struct):
    entity: str
    id: int | None
    label: str = ""
    version: int | None = None


class ErrorBody(Struct):
    """Every error answer: a French sentence, and the fields at fault when there are some."""

    detail: str
    errors: list[FieldErrorBody] | None = None
    conflict: ConflictBody | None = None


ERROR_DESCRIPTIONS = {
    400: "Données invalides : la liste `errors` nomme chaque champ en faute",
    401: "Authentification requise ou jeton invalide",
    403: "Rôle insuffisant pour cette action",
    404: "Enregistrement introuvable",
    409: "Conflit : version périmée ou identifiant déjà utilisé (l'enregistrement en conflit est nommé)",
    413: "Corps de requête trop volumineux",
    429: "Trop de calculs lourds en cours pour cet utilisateur : réessayez après `Retry-After` secondes",
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(data_container=ErrorBody, description=ERROR_DESCRIPTIONS[code])
        for code in codes
    }


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="maillage — API",
        version=__version__,
        description=(
            "API du réseau partenarial de la Convention territoriale globale. "
            "Authentification : en-tête `Authorization: Bearer <jeton>`."
        ),
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin()],
        use_handler_docstrings=False,
    )
