"""« de » elides before a vowel or a mute h (#21: « Rôle de Étienne »)."""

from __future__ import annotations

import pytest

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
