"""Territories of organisations and contacts (#20).

An organisation or a contact is local to one territory, or shared (``territory`` empty). What is
already there is placed by the rule of ``maillage.crm.scope``, with no manual step:

- the intercommunality itself (its SIREN is a territory's) goes to that territory;
- an organisation of kind ``institution`` or ``operateur_dsp`` stays shared; any other goes to
  the territory of its commune, or, without a commune, to its parent's; on an instance with a
  single territory, every organisation of a local kind goes to it;
- a contact with ties (affiliations, memberships) is local when every tie is in one territory
  (a local organisation, a body of that territory), shared otherwise (an institution's person,
  someone sitting on bodies of two territories); a contact without ties goes to its commune's
  territory, or to the single territory of the instance.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "territory of organisations and contacts"

REFERENCE = "INTEGER NULL REFERENCES territory (id) ON DELETE RESTRICT"
SHARED_KINDS = "('institution', 'operateur_dsp')"
TIES = (
    "(SELECT a.contact AS contact, o.territory AS territory FROM affiliation a "
    "JOIN organisation o ON o.id = a.organisation "
    "UNION ALL SELECT m.contact AS contact, w.territory AS territory FROM membership m "
    "JOIN working_group w ON w.id = m.working_group)"
)
ONLY_TERRITORY = "(SELECT MIN(id) FROM territory)"

STATEMENTS = [
    f"ALTER TABLE organisation ADD COLUMN territory {REFERENCE}",
    f"ALTER TABLE contact ADD COLUMN territory {REFERENCE}",
    "CREATE INDEX organisation_territory ON organisation (territory)",
    "CREATE INDEX contact_territory ON contact (territory)",
    "UPDATE organisation SET territory = (SELECT c.territory FROM commune c "
    f"WHERE c.id = organisation.commune) WHERE kind NOT IN {SHARED_KINDS}",
    # The intercommunality itself.
    "UPDATE organisation SET territory = (SELECT t.id FROM territory t "
    "WHERE t.siren = organisation.siren) WHERE territory IS NULL AND siren IN "
    "(SELECT siren FROM territory WHERE siren IS NOT NULL)",
    # Twice: a service of a service of a town hall.
    *[
        "UPDATE organisation SET territory = (SELECT p.territory FROM organisation p "
        "WHERE p.id = organisation.parent) WHERE territory IS NULL AND commune IS NULL "
        f"AND parent IS NOT NULL AND kind NOT IN {SHARED_KINDS}"
    ]
    * 2,
]
SINGLE = [
    f"UPDATE organisation SET territory = {ONLY_TERRITORY} "
    f"WHERE territory IS NULL AND kind NOT IN {SHARED_KINDS}",
]
CONTACTS = [
    "UPDATE contact SET territory = (SELECT c.territory FROM commune c "
    "WHERE c.id = contact.commune)",
    "UPDATE contact SET territory = (SELECT CASE WHEN COUNT(*) = COUNT(t.territory) "
    "AND MIN(t.territory) = MAX(t.territory) THEN MIN(t.territory) END "
    f"FROM {TIES} t WHERE t.contact = contact.id) "
    f"WHERE id IN (SELECT t.contact FROM {TIES} t)",
]
SINGLE_CONTACTS = [
    f"UPDATE contact SET territory = {ONLY_TERRITORY} WHERE territory IS NULL "
    f"AND id NOT IN (SELECT t.contact FROM {TIES} t)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def territories():
        from maillage.db import current_engine

        engine = current_engine()
        count = await engine.run_ddl("SELECT COUNT(*) AS n FROM territory")
        single = count[0]["n"] == 1
        for statement in STATEMENTS + (SINGLE if single else []) + CONTACTS:
            await engine.run_ddl(statement)
        if single:
            for statement in SINGLE_CONTACTS:
                await engine.run_ddl(statement)

    manager.add_raw(territories)
    return manager
