"""« de » elides before a vowel or a mute h (#21: « Rôle de Étienne »)."""

from __future__ import annotations

import pytest

from maillage.french import of


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
