"""Composite and partial unique indexes, as raw SQL that SQLite and PostgreSQL both accept.

Piccolo's ``Unique`` constraint is emitted as ``ALTER TABLE … ADD CONSTRAINT``, which SQLite
rejects; ``CREATE UNIQUE INDEX`` works on both engines, partial indexes included.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T10:31:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite and partial unique indexes"

STATEMENTS = [
    # A person can leave a body and come back: unique per start date, not per pair.
    "CREATE UNIQUE INDEX membership_contact_group_role_start ON membership "
    "(contact, working_group, role, start_date)",
    # SIREN alone identifies an organisation only when its SIRET is unknown.
    "CREATE UNIQUE INDEX organisation_siren_without_siret ON organisation (siren) "
    "WHERE siret IS NULL AND siren IS NOT NULL",
    "CREATE UNIQUE INDEX affiliation_one_primary ON affiliation (contact) WHERE is_primary",
    "CREATE UNIQUE INDEX invitation_meeting_contact ON invitation (meeting, contact)",
    "CREATE UNIQUE INDEX organisation_axis_pair ON organisation_axis (organisation, axis)",
    "CREATE UNIQUE INDEX contact_axis_pair ON contact_axis (contact, axis)",
    "CREATE UNIQUE INDEX group_axis_pair ON group_axis (working_group, axis)",
    "CREATE UNIQUE INDEX group_commune_pair ON group_commune (working_group, commune)",
    "CREATE UNIQUE INDEX partnership_axis_pair ON partnership_axis (partnership, axis)",
    "CREATE UNIQUE INDEX interaction_organisation_pair "
    "ON interaction_organisation (interaction, organisation)",
    "CREATE UNIQUE INDEX interaction_contact_pair ON interaction_contact (interaction, contact)",
    "CREATE UNIQUE INDEX action_partner_pair ON action_partner (action, organisation)",
    # List pages sort and page on these.
    "CREATE INDEX contact_names ON contact (last_name, first_name)",
    "CREATE INDEX organisation_name ON organisation (name)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def create_indexes():
        from maillage.db import current_engine

        engine = current_engine()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
