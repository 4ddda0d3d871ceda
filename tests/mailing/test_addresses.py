"""The quick acceptance of common addresses never disagrees with ``email_validator``."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given
from hypothesis import strategies as st

from maillage.mailing.addresses import InvalidAddress, _common, checked_address

LOCAL = st.text(alphabet="abcXYZ019_+-.", min_size=1, max_size=70)
LABEL = st.text(alphabet="abz09-", min_size=1, max_size=66)
TLD = st.sampled_from(["fr", "example", "test", "invalid", "local", "c", "x1", "onion", "Fr"])


def full_check(address: str) -> str | None:
    try:
        valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return valid.ascii_email or valid.normalized


@given(local=LOCAL, labels=st.lists(LABEL, min_size=0, max_size=4), tld=TLD)
@example(local="prenom.nom", labels=["mairie-ardoise"], tld="fr")
@example(local="a..b", labels=["x"], tld="fr")
@example(local="a", labels=["xn--caf-dma"], tld="fr")
@example(local="a", labels=["xn--zz"], tld="fr")
@example(local="a" * 65, labels=["x"], tld="fr")
@example(local="a", labels=["a" * 63] * 4, tld="fr")
def test_a_quickly_accepted_address_is_what_email_validator_returns(local, labels, tld):
    address = f"{local}@{'.'.join([*labels, tld])}"
    if _common(address):
        assert full_check(address) == address


@pytest.mark.parametrize(
    "address",
    ["helene.lefevre@caf.example", "accueil+ctg@mairie-ardoise.fr", "J.Dupont_2@cc-val.bzh"],
)
def test_common_addresses_take_the_quick_path(address):
    assert _common(address)
    assert checked_address(address) == address


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Helene@CAF.Example", "Helene@caf.example"),  # the domain is normalised
        (" marc@mairie.example ", "marc@mairie.example"),
        ("chloé@caf.example", None),  # SMTPUTF8 refused: no quick path lets it through
        ("x@ctg.invalid", None),
        ("x@localhost", None),
        ("a..b@caf.example", None),
        ("x@xn--zz.fr", None),
    ],
)
def test_other_addresses_get_the_full_check(address, expected):
    assert not _common(address)
    if expected is None:
        with pytest.raises(InvalidAddress):
            checked_address(address)
    else:
        assert checked_address(address) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("jean", "il manque le @"),
        ("@mairie.fr", "rien avant le @"),
        ("jean@localhost", "le domaine après le @ n'a pas de point"),
        ("jé@mairie.fr", "lettres accentuées avant le @ non acceptées"),
        ("jean dupont@mairie.fr", "caractère interdit avant le @ : une espace"),
        ("jean@mairie.invalid", "domaine réservé, qui ne reçoit pas de courrier"),
        ("jean..dupont@mairie.fr", "deux points de suite"),
    ],
)
def test_an_invalid_address_is_explained_in_french(raw, reason):
    """email_validator's reasons are English; the coordinator reads them beside a name."""
    with pytest.raises(InvalidAddress) as refused:
        checked_address(raw)
    assert str(refused.value) == f"adresse invalide « {raw} » ({reason})"
