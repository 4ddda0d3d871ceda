"""Fictitious but valid identifiers for the demo: SIREN/SIRET with their Luhn key, RNA, UAI,
phone numbers from the ranges ARCEP reserves for fiction, e-mail addresses under ``.example``.

Each draw comes from the generator's own ``random.Random``, so a seed gives the same identifiers.
"""

from __future__ import annotations

import random
import re
import string
import uuid

from stdnum import luhn

from maillage.crm.text import normalise

# ARCEP keeps 02 61 91 xx xx and 01 99 00 xx xx for films and books; the mobile fiction range
# (06 39 98) is refused by phonenumbers' metadata, so the demo uses landlines only.
FICTION_PREFIXES = ("+3326191", "+3319900")
UAI_KEYS = "ABCDEFGHJKLMNPRSTUVWXYZ"
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"
# La Poste's SIREN follows another checksum rule: never draw it.
LA_POSTE_SIREN = "356000000"


def slug(text: str) -> str:
    """« Saint-Aubin-d'Ardoise » → « saint-aubin-d-ardoise » (for e-mail domains)."""
    return re.sub(r"[^a-z0-9]+", "-", normalise(text)).strip("-")


class Identifiers:
    """Draws identifiers that are valid, and unique where the schema wants them unique."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._sirens: set[str] = {LA_POSTE_SIREN}
        self._rnas: set[str] = set()
        self._uais: set[str] = set()
        self._nics: dict[str, int] = {}

    def siren(self, first_digit: str = "") -> str:
        while True:
            body = first_digit + "".join(self.rng.choices(string.digits, k=8 - len(first_digit)))
            number = body + luhn.calc_check_digit(body)
            if number not in self._sirens and number[0] != "0":
                self._sirens.add(number)
                return number

    def siret(self, siren: str) -> str:
        """The next establishment of ``siren`` (NIC 00010, 00028…), with a valid key."""
        index = self._nics.get(siren, 0) + 1
        self._nics[siren] = index
        body = siren + f"{index:04d}"
        return body + luhn.calc_check_digit(body)

    def rna(self) -> str:
        while True:
            number = "W35" + "".join(self.rng.choices(string.digits, k=7))
            if number not in self._rnas:
                self._rnas.add(number)
                return number

    def uai(self) -> str:
        """A school code of département 35 in the 09xxx range no real school uses."""
        while True:
            digits = "0359" + "".join(self.rng.choices(string.digits, k=3))
            code = digits + UAI_KEYS[int(digits) % 23]
            if code not in self._uais:
                self._uais.add(code)
                return code

    def phone(self) -> str:
        return self.rng.choice(FICTION_PREFIXES) + f"{self.rng.randrange(10_000):04d}"

    def token(self) -> str:
        return "".join(self.rng.choices(TOKEN_ALPHABET, k=22))

    def uid(self) -> str:
        return f"{uuid.UUID(int=self.rng.getrandbits(128), version=4)}@maillage.example"


def person_email(first_name: str, last_name: str, domain: str) -> str:
    return f"{slug(first_name)}.{slug(last_name)}@{domain}".replace("-.", ".")
