"""A short consultation per public meeting, answered anonymously (#22).

``meeting.consultation_open``; ``consultation_question`` (a choice, a 1-to-5 scale or free
text) and ``consultation_answer`` (no person, no address, no time: a random submission number).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import JSON, Boolean, ForeignKey, Integer, Serial, Text, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-06T12:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "consultation_question and consultation_answer of public meetings"


class Meeting(Table, tablename="meeting", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


class ConsultationQuestion(Table, tablename="consultation_question", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


def _params(**overrides):
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **overrides,
    }


def _reference(table):
    return _params(
        references=table,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
        index=True,
    )


TABLES = {
    ("ConsultationQuestion", "consultation_question"): [
        ("id", Serial, _params(primary_key=True)),
        ("meeting", ForeignKey, _reference(Meeting)),
        ("position", Integer, _params(default=0)),
        ("kind", Varchar, _params(length=10, default="choix")),
        ("label", Varchar, _params(length=300, default="")),
        ("choices", JSON, _params(default="[]")),
    ],
    ("ConsultationAnswer", "consultation_answer"): [
        ("id", Serial, _params(primary_key=True)),
        ("meeting", ForeignKey, _reference(Meeting)),
        ("question", ForeignKey, _reference(ConsultationQuestion)),
        ("submission", Varchar, _params(length=32, default="", index=True)),
        ("value", Text, _params(default="")),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Meeting",
        tablename="meeting",
        column_name="consultation_open",
        db_column_name="consultation_open",
        column_class_name="Boolean",
        column_class=Boolean,
        params=_params(default=False),
        schema=None,
    )
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
