"""Inhabitants told of a cancellation and reminded; consultations per theme (#22).

``inhabitant_registration`` gets ``reminded_at`` and ``cancel_notified_at`` (what was mailed,
so each message goes once). A ``consultation`` belongs to an axis (a theme of the CTG) rather
than a meeting: its questions and answers live in the same tables as a meeting's, whose
``meeting`` becomes optional beside a new ``consultation``. SQLite cannot drop a NOT NULL: both
tables are rebuilt, the answers first, so that dropping the old questions cascades to nothing.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inhabitants' notices, consultations per theme"

BOTH_BEFORE = [
    "ALTER TABLE inhabitant_registration ADD COLUMN reminded_at TIMESTAMPTZ NULL DEFAULT NULL",
    "ALTER TABLE inhabitant_registration ADD COLUMN cancel_notified_at TIMESTAMPTZ NULL "
    "DEFAULT NULL",
]
SQLITE = [
    'CREATE TABLE "consultation" ("id" INTEGER PRIMARY KEY NOT NULL, '
    '"axis" INTEGER NOT NULL REFERENCES "axis" ("id") ON DELETE RESTRICT ON UPDATE CASCADE, '
    "\"title\" VARCHAR(200) NOT NULL DEFAULT '', "
    '"is_open" BOOLEAN NOT NULL DEFAULT 0, '
    '"created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)',
    'CREATE TABLE "consultation_question_new" ("id" INTEGER PRIMARY KEY NOT NULL, '
    '"meeting" INTEGER NULL REFERENCES "meeting" ("id") ON DELETE CASCADE ON UPDATE CASCADE '
    "DEFAULT null, "
    '"consultation" INTEGER NULL REFERENCES "consultation" ("id") ON DELETE CASCADE '
    "ON UPDATE CASCADE DEFAULT null, "
    '"position" INTEGER NOT NULL DEFAULT 0, "kind" VARCHAR(10) NOT NULL DEFAULT \'choix\', '
    "\"label\" VARCHAR(300) NOT NULL DEFAULT '', \"choices\" JSON NOT NULL DEFAULT '[]')",
    'CREATE TABLE "consultation_answer_new" ("id" INTEGER PRIMARY KEY NOT NULL, '
    '"meeting" INTEGER NULL REFERENCES "meeting" ("id") ON DELETE CASCADE ON UPDATE CASCADE '
    "DEFAULT null, "
    '"consultation" INTEGER NULL REFERENCES "consultation" ("id") ON DELETE CASCADE '
    "ON UPDATE CASCADE DEFAULT null, "
    '"question" INTEGER NOT NULL REFERENCES "consultation_question_new" ("id") '
    "ON DELETE CASCADE ON UPDATE CASCADE DEFAULT null, "
    "\"submission\" VARCHAR(32) NOT NULL DEFAULT '', \"value\" TEXT NOT NULL DEFAULT '')",
    "INSERT INTO consultation_question_new (id, meeting, position, kind, label, choices) "
    "SELECT id, meeting, position, kind, label, choices FROM consultation_question",
    "INSERT INTO consultation_answer_new (id, meeting, question, submission, value) "
    "SELECT id, meeting, question, submission, value FROM consultation_answer",
    # The old answers first: then dropping the old questions cascades to nothing.
    "DROP TABLE consultation_answer",
    "DROP TABLE consultation_question",
    # The rename also renames the reference of the new answers (SQLite ≥ 3.26).
    "ALTER TABLE consultation_question_new RENAME TO consultation_question",
    "ALTER TABLE consultation_answer_new RENAME TO consultation_answer",
    'CREATE INDEX consultation_question_meeting ON "consultation_question" ("meeting")',
    'CREATE INDEX consultation_answer_meeting ON "consultation_answer" ("meeting")',
    'CREATE INDEX consultation_answer_question ON "consultation_answer" ("question")',
    'CREATE INDEX consultation_answer_submission ON "consultation_answer" ("submission")',
]
POSTGRES = [
    'CREATE TABLE "consultation" ("id" SERIAL PRIMARY KEY, '
    '"axis" INTEGER NOT NULL REFERENCES "axis" ("id") ON DELETE RESTRICT ON UPDATE CASCADE, '
    "\"title\" VARCHAR(200) NOT NULL DEFAULT '', "
    '"is_open" BOOLEAN NOT NULL DEFAULT false, '
    '"created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)',
    "ALTER TABLE consultation_question ALTER COLUMN meeting DROP NOT NULL",
    "ALTER TABLE consultation_answer ALTER COLUMN meeting DROP NOT NULL",
    'ALTER TABLE consultation_question ADD COLUMN "consultation" INTEGER NULL '
    'REFERENCES "consultation" ("id") ON DELETE CASCADE ON UPDATE CASCADE',
    'ALTER TABLE consultation_answer ADD COLUMN "consultation" INTEGER NULL '
    'REFERENCES "consultation" ("id") ON DELETE CASCADE ON UPDATE CASCADE',
]
BOTH_AFTER = [
    "CREATE INDEX consultation_axis ON consultation (axis)",
    "CREATE INDEX consultation_question_consultation ON consultation_question (consultation)",
    "CREATE INDEX consultation_answer_consultation ON consultation_answer (consultation)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def notices_and_themes():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        middle = SQLITE if isinstance(engine, SQLiteEngine) else POSTGRES
        for statement in BOTH_BEFORE + middle + BOTH_AFTER:
            await engine.run_ddl(statement)

    manager.add_raw(notices_and_themes)
    return manager
