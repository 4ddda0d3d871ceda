"""Scheduling warnings: French, precise, and never a refusal."""

from __future__ import annotations

from maillage.calendar.scheduling import BusyInvitee, scheduling_warnings
from tests.calendar.calendar_helpers import paris


def kinds(warnings):
    return [w.kind for w in warnings]


def test_it_warns_about_a_public_holiday():
    warnings = scheduling_warnings(paris(2027, 5, 17, 14), paris(2027, 5, 17, 16))
    assert kinds(warnings) == ["jour_ferie"]
    assert warnings[0].message == "Le lundi 17 mai 2027 est un jour férié (Lundi de Pentecôte)."


def test_it_warns_about_school_holidays_of_the_territory_zone_only():
    # 15 February 2027: winter holidays in zones A and C, not in zone B.
    start, end = paris(2027, 2, 15, 14), paris(2027, 2, 15, 16)
    (warning,) = scheduling_warnings(start, end, "A")
    assert warning.kind == "vacances_scolaires"
    assert "zone A (Vacances d'hiver)" in warning.message
    assert scheduling_warnings(start, end, "B") == []
    assert scheduling_warnings(start, end, None) == []


def test_an_ordinary_tuesday_gives_no_warning():
    assert scheduling_warnings(paris(2027, 1, 12, 14), paris(2027, 1, 12, 16), "B") == []


def test_it_names_double_booked_invitees():
    other = ("COTECH CTG — Budget", paris(2027, 1, 12, 15), paris(2027, 1, 12, 17))
    busy = [BusyInvitee("Jean Martin", *other), BusyInvitee("Hélène Lefèvre", *other)]
    (warning,) = scheduling_warnings(paris(2027, 1, 12, 14), paris(2027, 1, 12, 16), "B", busy)
    assert warning.kind == "double_reservation"
    assert warning.message == (
        "Hélène Lefèvre et Jean Martin ont déjà une invitation à « COTECH CTG — Budget » au même "
        "moment (mardi 12 janvier 2027 de 15 h 00 à 17 h 00)."
    )


def test_it_warns_about_a_saturday_holiday_and_the_weekend():
    # Saturday 8 May 2027: Victoire 1945 falls on a Saturday (#21).
    warnings = scheduling_warnings(paris(2027, 5, 8, 10), paris(2027, 5, 8, 12))
    assert kinds(warnings) == ["jour_ferie", "week_end"]
    assert warnings[0].message == "Le samedi 8 mai 2027 est un jour férié (Fête de la Victoire)."
    assert warnings[1].message == (
        "Le samedi 8 mai 2027 tombe un week-end : peu de partenaires seront disponibles."
    )
