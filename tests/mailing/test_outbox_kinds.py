"""Every kind of queued message has a name a coordinator reads, never its stored code (#21)."""

from __future__ import annotations

import pytest

from maillage.mailing.outbox import kind_label
from maillage.mailing.reminders import kind_for


@pytest.mark.parametrize(
    ("days", "label"),
    [(7, "Rappel 7 jours avant"), (1, "Rappel 1 jour avant"), (0, "Rappel le jour même")],
)
def test_it_names_each_reminder_offset(days: int, label: str):
    assert kind_label(kind_for(days)) == label


def test_it_never_shows_an_unknown_code():
    assert kind_label("compte_rendu") == "Compte rendu"
    assert kind_label("relance") == "Relance des personnes sans réponse"
    assert kind_label("futur_type") == "Autre envoi"
