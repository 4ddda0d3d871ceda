"""Addresses and header values that can never open a header of their own.

Names, subjects and addresses come from people (a contact typed in a form, a CSV import):
every line break or control character becomes a space before it reaches a header, and an
address must pass validation before a message is built for it. Non-ASCII display names are left
to the ``email`` package, which encodes them (RFC 2047) so « Hélène Lefèvre » arrives intact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from maillage.french import date_fr

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class InvalidAddress(ValueError):
    """An address no message can be sent to; the message is meant for the person."""


def one_line(text: str | None) -> str:
    """A header-safe single line: control characters (CR and LF among them) become spaces."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def without_encoded_words(text: str | None) -> str:
    """``one_line`` text that no reader can take for an RFC 2047 encoded word (« =?…?= »),
    for the header values the builders cannot write as encoded words of their own (attachment
    names): ``=?`` becomes ``= ?``."""
    return one_line(text).replace("=?", "= ?")


_COMMON = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)"
    r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})"
)
"""The addresses people have (``prenom.nom@mairie-ardoise.fr``), already in the form
``email_validator`` returns: lower-case ASCII domain ending in letters, dot-atom local part."""


def _common(raw: str) -> bool:
    """True when ``raw`` is certainly valid and normalised: ``email_validator`` would return it
    unchanged (checked against it by the tests). It costs a tenth of a full validation, which
    a queue of 1,000 invitations runs 1,000 times; anything unusual gets the full one."""
    match = _COMMON.fullmatch(raw)
    if match is None or len(raw) > 254 or len(match["local"]) > 64:
        return False
    domain = match["domain"]
    if len(domain) > 253 or "--" in domain:  # « xn-- » (IDNA) needs the full check
        return False
    return not any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES)


def checked_address(raw: str | None) -> str:
    """The ASCII form of a deliverable address, or ``InvalidAddress`` saying what is wrong."""
    if raw is None or not raw.strip():
        raise InvalidAddress("pas d'adresse électronique")
    if _common(raw):
        return raw
    if _CONTROL.search(raw):
        raise InvalidAddress(f"adresse invalide « {one_line(raw)} » (caractère de contrôle)")
    try:
        valid = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidAddress(
            f"adresse invalide « {raw.strip()} » ({_french_reason(str(error))})"
        ) from error
    return valid.ascii_email or valid.normalized


# email_validator explains in English; the coordinator reads this beside the person's name.
# First match wins: the more specific phrases come first.
_REASONS = (
    ("must have an @-sign", "il manque le @"),
    ("exactly one @-sign", "un seul @ est permis"),
    ("something before the @-sign", "rien avant le @"),
    ("something after the @-sign", "rien après le @"),
    ("should have a period", "le domaine après le @ n'a pas de point"),
    ("special-use or reserved name", "domaine réservé, qui ne reçoit pas de courrier"),
    ("Internationalized characters before", "lettres accentuées avant le @ non acceptées"),
    ("invalid characters before", "caractère interdit avant le @"),
    ("invalid characters", "caractère interdit après le @"),
    ("two periods in a row", "deux points de suite"),
    ("period", "point mal placé"),
    ("hyphen", "tiret mal placé"),
    ("too long", "adresse trop longue"),
)


def _french_reason(message: str) -> str:
    reason = next((said for key, said in _REASONS if key in message), "forme incorrecte")
    if "SPACE" in message:
        reason += " : une espace"
    return reason


@dataclass(frozen=True)
class Mailbox:
    """A display name and a checked address, ready for a From: or To: header."""

    address: str
    name: str = ""

    def header(self) -> Address:
        username, _, domain = self.address.rpartition("@")
        return Address(display_name=one_line(self.name), username=username, domain=domain)


def mailbox(address: str | None, name: str = "") -> Mailbox:
    return Mailbox(checked_address(address), one_line(name))


def check_not_bounced(row: Mapping[str, Any]) -> None:
    """An address a server refused for good (#19) is not written to again until it changes:
    ``InvalidAddress`` with the date and the server's words. ``row`` holds
    ``email_bounced_at`` and ``email_bounce_reason`` (a contact's, or selected with it)."""
    since = row.get("email_bounced_at")
    if since is None:
        return
    reason = one_line(str(row.get("email_bounce_reason") or ""))[:200]
    said = f" : {reason}" if reason else ""
    raise InvalidAddress(
        f"adresse en échec depuis le {date_fr(since)}{said} ; corrigez-la sur la fiche du contact"
    )


_PLAIN_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


def sender_mailbox(mail_from: str) -> Mailbox:
    """``MAILLAGE_MAIL_FROM`` may be « ctg@epci.fr » or « CTG du Val <ctg@epci.fr> ».

    Only its syntax is checked: the default ``ctg@maillage.invalid`` (a reserved domain, refused
    for recipients) must keep the file backend of a fresh checkout working."""
    name, address = parseaddr(one_line(mail_from))
    if not _PLAIN_ADDRESS.match(address):
        raise InvalidAddress(f"adresse d'expédition invalide « {one_line(mail_from)} »")
    return Mailbox(address, one_line(name))
