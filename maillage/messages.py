"""Validation and system messages in French, for every door into the service layer.

msgspec and Litestar report validation problems in English (« Expected `int`, got `str` »); the
API, the pages and the imports show them to a person who reads French, so they are translated
here, field by field. The operating system's own words (``strerror``, « Connect call failed »)
are English too: ``system_error`` says them in French. No web dependency: `maillage.exchange`
uses it too.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from typing import Any

_TYPE_NAMES = {
    "int": "un nombre entier",
    "str": "un texte",
    "bool": "vrai ou faux (true/false)",
    "float": "un nombre",
    "array": "une liste",
    "object": "un objet JSON",
    "null": "rien (null)",
    "date": "une date AAAA-MM-JJ",
    "datetime": "une date et heure avec fuseau (AAAA-MM-JJTHH:MM:SS+01:00)",
}

_TRANSLATIONS: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"Object missing required field `(?P<f>[^`]+)`"),
        lambda m: (m["f"], "Champ obligatoire manquant."),
    ),
    (
        re.compile(r"Object contains unknown field `(?P<f>[^`]+)`"),
        lambda m: (m["f"], "Champ inconnu : retirez-le (voir le schéma de l'API)."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` of length >= (?P<n>\d+)"),
        lambda m: (
            None,
            f"Texte trop court (au moins {m['n']} caractère{'s' if int(m['n']) > 1 else ''}).",
        ),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` of length <= (?P<n>\d+)"),
        lambda m: (None, f"Trop long (au plus {m['n']} caractères ou éléments)."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` (?:>=|>) (?P<n>-?[\d.]+)"),
        lambda m: (None, f"Valeur trop petite (minimum {m['n']})."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)` (?:<=|<) (?P<n>-?[\d.]+)"),
        lambda m: (None, f"Valeur trop grande (maximum {m['n']})."),
    ),
    (
        re.compile(r"Expected `str` matching regex"),
        lambda m: (None, "Format invalide (lettres minuscules, chiffres et « _ » seulement)."),
    ),
    (
        re.compile(r"Invalid enum value (?P<v>.+?)(?: - at `[^`]*`)?$"),
        lambda m: (None, f"Valeur non reconnue {m['v']} : voir les valeurs permises."),
    ),
    (
        re.compile(r"Invalid RFC3339 encoded (?P<t>date|datetime)"),
        lambda m: (None, f"Date invalide : attendu {_TYPE_NAMES[m['t']]}."),
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`"),
        lambda m: (None, f"Type invalide : attendu {_type_label(m['want'])}."),
    ),
    (
        re.compile(r"(?:JSON is malformed|Input data was truncated|trailing characters)"),
        lambda m: ("corps", "Le corps de la requête n'est pas un JSON valide."),
    ),
]


def _type_label(names: str) -> str:
    parts = [_TYPE_NAMES.get(part.strip(), part.strip()) for part in names.split("|")]
    return " ou ".join(dict.fromkeys(parts))


def translate_message(message: str, key: str | None) -> dict[str, str]:
    """One Litestar/msgspec validation message as a French ``{field, message}``."""
    location = re.search(r"at `\$\.(?P<path>[^`]+)`", message)
    field = key or (location["path"] if location else "corps")
    for pattern, render in _TRANSLATIONS:
        match = pattern.search(message)
        if match:
            named_field, text = render(match)
            return {"field": named_field or field, "message": text}
    return {"field": field, "message": "Valeur invalide."}


_SYSTEM_ERRORS = {
    errno.ENOENT: "introuvable",
    errno.EACCES: "accès refusé",
    errno.EPERM: "opération non permise",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota de disque dépassé",
    errno.EROFS: "disque en lecture seule",
    errno.EISDIR: "c'est un dossier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EEXIST: "existe déjà",
    errno.ECONNREFUSED: "connexion refusée",
    errno.ECONNRESET: "connexion coupée par l'autre partie",
    errno.ECONNABORTED: "connexion interrompue",
    errno.EPIPE: "connexion coupée par l'autre partie",
    errno.ETIMEDOUT: "pas de réponse dans le délai",
    errno.EHOSTUNREACH: "machine injoignable",
    errno.ENETUNREACH: "réseau injoignable",
}

_CERTIFICATE_PROBLEMS = {
    "certificate has expired": "il a expiré",
    "self-signed certificate": "il est auto-signé",
    "self signed certificate": "il est auto-signé",
    "Hostname mismatch": "il ne porte pas le nom du serveur",
    "unable to get local issuer certificate": "son autorité de certification est inconnue",
}


def system_error(error: BaseException) -> str:
    """What went wrong, in French, for a system or network error (or one wrapping it, as
    aiosmtplib's do): ``strerror`` and the libraries' messages are English."""
    root = _root_cause(error)
    if isinstance(root, ssl.SSLCertVerificationError):
        reason = next(
            (said for key, said in _CERTIFICATE_PROBLEMS.items() if key in str(root)),
            "il n'est pas reconnu",
        )
        return f"certificat du serveur refusé : {reason}"
    if isinstance(root, ssl.SSLError):
        return "échec de la négociation TLS"
    if isinstance(root, socket.gaierror):
        return "nom de machine introuvable"
    if isinstance(root, TimeoutError):
        return "pas de réponse dans le délai"
    if isinstance(root, OSError) and root.errno in _SYSTEM_ERRORS:
        return _SYSTEM_ERRORS[root.errno]
    if isinstance(root, ConnectionError):
        return "connexion coupée"
    if isinstance(root, OSError) and root.errno:
        return f"erreur système {errno.errorcode.get(root.errno, root.errno)}"
    return "erreur système"


def _root_cause(error: BaseException) -> BaseException:
    """The innermost system error under ``error``, following ``raise … from``."""
    found = error
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, OSError | TimeoutError):
            found = current
        current = current.__cause__
    return found
