"""French wording: « de » elides before a vowel or a mute h (#21: « Rôle de Étienne »); numbers
as people type them (#17)."""

from __future__ import annotations

import pytest

from maillage import french
from maillage.french import of, quoted


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Étienne", "d'Étienne"),
        ("Hélène Durand", "d'Hélène Durand"),
        ("anne@ville.fr", "d'anne@ville.fr"),
        ("Marie Dupont", "de Marie Dupont"),
    ],
)
def test_it_elides_de_before_a_vowel(name: str, expected: str):
    assert of(name) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Centre social", "« Centre social »"),
        ('Centre social "La Passerelle"', "« Centre social “La Passerelle” »"),
        ("Amicale « Les « petits » loups »", "« Amicale “Les “petits” loups” »"),
        ("Amicale «\u00a0Les loustics\u00a0»", "« Amicale “Les loustics” »"),
        ('Écran 5" pouces', '« Écran 5" pouces »'),  # an odd quote is not a quotation
    ],
)
def test_quoted_turns_inner_quotes_into_second_level_ones(value: str, expected: str):
    """(#21) A value with its own quotes never reads « … « … » … »."""
    assert quoted(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 000,50 €", 12000.5),
        ("1\u202f200", 1200.0),
        ("1\xa0200", 1200.0),
        ("3,5", 3.5),
        ("-4", -4.0),
        ("  ", None),
        ("", None),
    ],
)
def test_french_numbers_are_read_with_their_spaces_comma_and_euro_sign(text, expected):
    assert french.parse_number(text) == expected


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "douze", "1,2,3"])
def test_what_is_not_a_number_is_named_in_french(text):
    with pytest.raises(ValueError, match=f"« {text} » n'est pas un nombre."):
        french.parse_number(text)
