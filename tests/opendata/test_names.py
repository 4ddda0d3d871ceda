"""Surnames as people write them, on real names of the national register of elected officials."""

from __future__ import annotations

import pytest

from maillage.opendata.names import person_name


@pytest.mark.parametrize(
    ("register", "written"),
    [
        ("DUPONT", "Dupont"),
        ("LE GOFF", "Le Goff"),
        ("N'DIAYE", "N'Diaye"),  # Cavanac (11085)
        ("DUPONT-AIGNAN", "Dupont-Aignan"),
        ("D'ALEMBERT", "D'Alembert"),
        ("MAC MAHON", "Mac Mahon"),
        ("DE LA TOUR", "de La Tour"),
        ("DE LA TOUR DU PIN", "de La Tour du Pin"),  # Arrancy (02024)
        ("DU FORNEL DU ROURE", "du Fornel du Roure"),  # Belley (01034)
        ("DES HAYS DE GASSART", "des Hays de Gassart"),  # Saint-Hymer (14593)
        ("D'ESTIENNE D'ORVES", "D'Estienne d'Orves"),  # Paradou (13068)
        ("GIROD DE L'AIN", "Girod de l'Ain"),  # Crozet (01135)
        ("PRUD'HOMME", "Prud'homme"),
        ("L'HELGOUALC'H", "L'Helgoualc'h"),  # Chabanne (03050)
        ("PEREZ-Y-GONZALEZ", "Perez-y-Gonzalez"),  # Apremont (01011)
        ("LE DU", "Le Du"),
        ("O'CONNELL", "O'Connell"),  # Moulis (09214)
        ("MAC SWEENEY", "Mac Sweeney"),  # Eymet (24167)
        ("BLANC-TAILLEUR", "Blanc-Tailleur"),
        ("ANDROUËT", "Androuët"),
        ("VAN ETTINGER", "Van Ettinger"),  # Échenevex (01153)
    ],
)
def test_it_writes_register_capitals_as_people_do(register: str, written: str) -> None:
    assert person_name(register) == written


def test_it_keeps_a_name_already_in_mixed_case() -> None:
    assert person_name("Golliot") == "Golliot"
    assert person_name("de Courson") == "de Courson"


def test_it_collapses_spaces() -> None:
    assert person_name("  LE   GOFF ") == "Le Goff"
