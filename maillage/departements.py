"""The département of territories and partners (#20): which shared records a scoped user sees.

One instance serves a Caf and every territory of its département, or several départements, or
the whole country; a departmental institution (kinds ``institution`` and ``operateur_dsp``:
the Caf, the Département, the DDETS…) and its people are shared by the territories of *their*
département, not by every territory of the instance. The rule (`maillage.crm.scope` applies it):

- a territory's département is that of most of its communes, read from their INSEE codes
  (two characters, ``2A`` and ``2B`` for Corsica; three for the overseas ``97x``); a territory
  without communes keeps the one it has: typed by hand (a new EPCI whose communes are not
  loaded yet) or left by its last communes (#20);
- a commune's: its territory's; without a territory, that of its INSEE code when a territory
  of the instance has it (a commune taken out of its territory keeps its partners where they
  were), else none;
- an organisation's: its territory's when it is local, else its commune's, else its
  parent's, else the single département of where it works (the territories' bodies it sits
  in, its local partners: a departmental Caf typed without a commune); none of these, or two
  départements: none;
- a contact's: their territory's when they are local; else the single département of all their
  ties (an affiliation: the organisation's; a membership: the body's territory's, none for a
  shared body), none when two ties differ or one has none; without ties, their commune's;
- a scoped user sees the shared organisations and contacts of no département and of the
  départements of their territories. A user without territories sees everything, as before.

Stored in ``departement`` on the three tables (derived; a territory's is typed only while it has
no communes), so that a list ranges over
an index. On an instance of one département every shared record is of that département or of
none: each scoped user sees what they saw before. The statements here are the same on SQLite
and PostgreSQL (where a function that sees every row runs them: migration
``2026-12-10T01:00:00``, a scoped write must not misplace a person because it does not see all
their ties).
"""

from __future__ import annotations

import re


def of_insee_code(column: str) -> str:
    """The département of a commune by its INSEE code ``column``, in SQL."""
    return (
        f"CASE WHEN substr({column}, 1, 2) = '97' THEN substr({column}, 1, 3) "
        f"ELSE substr({column}, 1, 2) END"
    )


# The département of a commune ``c`` by its INSEE code.
COMMUNE_DEPARTEMENT = of_insee_code("c.insee_code")

# A département's INSEE code: 01 to 95 (no 20), 2A and 2B (Corsica), 971 to 976 (overseas).
CODE = re.compile(r"^(0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-6])$")

# The département of most of a territory's communes (ties: the first by code); without
# communes, the one it has (typed, or left by its last communes: #20).
_OF_COMMUNES = (
    f"COALESCE((SELECT {COMMUNE_DEPARTEMENT} FROM commune c WHERE c.territory = territory.id "
    "GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1), departement)"
)

# Every territory: the département of its communes.
TERRITORIES = f"UPDATE territory SET departement = {_OF_COMMUNES}"

# The territories whose département differs from their communes' (a condition on
# ``territory``): only those are written (a write of ``territory``, shared, moves the shared
# counter of `data_change` on, even when it changes no row).
TERRITORIES_CHANGED = f"COALESCE(departement, '') <> COALESCE({_OF_COMMUNES}, '')"


def normalised(value: str | None) -> str | None:
    """A typed département code as stored: « 2a » → « 2A », « 3 5 » → « 35 », « 1 » → « 01 »;
    empty: None. Not checked (`CODE` does)."""
    if value is None:
        return None
    compact = re.sub(r"\s", "", value).upper()
    if compact.isdigit() and len(compact) == 1:
        compact = "0" + compact
    return compact or None


_OF_TERRITORY = "(SELECT t.departement FROM territory t WHERE t.id = {table}.territory)"
# A commune's département is its territory's (the majority of an EPCI that straddles two
# départements); without a territory, that of its INSEE code when a territory of the instance
# has that département, else none (#20). A commune taken out of its territory so keeps its
# partners in their département, and a record's département is always one of the instance's
# territories': on an instance of one département, the partners of another département's
# commune created by an import stay seen by every territory, as before.
_OF_COMMUNE = (
    "COALESCE((SELECT t.departement FROM commune c JOIN territory t ON t.id = c.territory "
    "WHERE c.id = {table}.commune), "
    f"(SELECT {COMMUNE_DEPARTEMENT} FROM commune c WHERE c.id = {{table}}.commune "
    "AND c.territory IS NULL AND EXISTS (SELECT 1 FROM territory t "
    f"WHERE t.departement = {COMMUNE_DEPARTEMENT})))"
)


def commune_departement(insee_code: str) -> str:
    """`COMMUNE_DEPARTEMENT` in Python."""
    return insee_code[:3] if insee_code.startswith("97") else insee_code[:2]


# ``{where}``: the organisations to place (a condition on ``organisation``).
# Where a shared organisation without commune works: the bodies of a territory it sits in
# (a membership on its behalf), its partnerships with local organisations.
ORGANISATION_TIES = (
    "(SELECT m.organisation AS organisation, t.departement AS departement FROM membership m "
    "JOIN working_group w ON w.id = m.working_group JOIN territory t ON t.id = w.territory "
    "UNION ALL SELECT p.organisation AS organisation, o.departement AS departement "
    "FROM partnership p JOIN organisation o ON o.id = p.partner WHERE o.territory IS NOT NULL "
    "UNION ALL SELECT p.partner AS organisation, o.departement AS departement "
    "FROM partnership p JOIN organisation o ON o.id = p.organisation "
    "WHERE o.territory IS NOT NULL)"
)


def _settled(table: str, value: str) -> str:
    """``UPDATE`` of ``table``'s département to ``value`` (``{where}``: the rows to place),
    written only where it changes: a row left as it was is neither rewritten nor locked, so
    two writes settling the same partners in another order do not wait for each other (on
    PostgreSQL a deadlock: two memberships deleted at once, #20)."""
    return (
        f"UPDATE {table} SET departement = {value} WHERE ({{where}}) "
        f"AND COALESCE(departement, '') <> COALESCE({value}, '')"
    )


ORGANISATIONS = _settled(
    "organisation",
    "COALESCE("
    + _OF_TERRITORY.format(table="organisation")
    + ", "
    + _OF_COMMUNE.format(table="organisation")
    + ", (SELECT p.departement FROM organisation p WHERE p.id = organisation.parent), "
    "(SELECT CASE WHEN COUNT(*) = COUNT(x.departement) AND MIN(x.departement) = "
    f"MAX(x.departement) THEN MIN(x.departement) END FROM {ORGANISATION_TIES} x "
    "WHERE x.organisation = organisation.id))",
)

# Each tie of a person with its département (none: a shared body, a national organisation).
TIES = (
    "(SELECT a.contact AS contact, o.departement AS departement FROM affiliation a "
    "JOIN organisation o ON o.id = a.organisation "
    "UNION ALL SELECT m.contact AS contact, t.departement AS departement FROM membership m "
    "JOIN working_group w ON w.id = m.working_group LEFT JOIN territory t ON t.id = w.territory)"
)

CONTACTS = _settled(
    "contact",
    "(CASE WHEN territory IS NOT NULL THEN "
    + _OF_TERRITORY.format(table="contact")
    + f" WHEN EXISTS (SELECT 1 FROM {TIES} x WHERE x.contact = contact.id) THEN "
    "(SELECT CASE WHEN COUNT(*) = COUNT(x.departement) AND MIN(x.departement) = "
    f"MAX(x.departement) THEN MIN(x.departement) END FROM {TIES} x WHERE x.contact = contact.id) "
    "ELSE " + _OF_COMMUNE.format(table="contact") + " END)",
)


def ids_in(ids: list[int]) -> str:
    """``id IN (…)`` for integers only (the statements are run as text)."""
    return "id IN (" + (", ".join(str(int(i)) for i in ids) or "NULL") + ")"
