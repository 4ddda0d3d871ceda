"""Return dates read from out-of-office replies, conservatively (#19)."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.mailing.absence import return_date

TODAY = dt.date(2026, 12, 18)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Je suis absente jusqu'au lundi 4 janvier 2027 inclus.", dt.date(2027, 1, 4)),
        ("Absent du bureau, de retour le 4 janvier.", dt.date(2027, 1, 4)),
        (
            "En congés jusqu’au 04/01/2027, je lirai votre message à mon retour.",
            dt.date(2027, 1, 4),
        ),
        ("Retour prévu le 22 décembre.", dt.date(2026, 12, 22)),
        ("I am out of the office until Monday, January 4th, 2027.", dt.date(2027, 1, 4)),
        ("I'm away and will be back on 4 January.", dt.date(2027, 1, 4)),
        ("Out of office until 2027-01-04.", dt.date(2027, 1, 4)),
        # Nothing said, or said in a way that could be read two ways: no date.
        ("Je suis absent. Pour toute urgence, appelez le 02 99 00 00 00.", None),
        ("Out of office until 01/04/2027.", None),  # mm/dd or dd/mm?
        ("Absent jusqu'au 31 février.", None),
        ("Absent jusqu'au 3 mars 2020.", None),  # past
    ],
)
def test_return_dates(text, expected):
    assert return_date(text, TODAY) == expected
