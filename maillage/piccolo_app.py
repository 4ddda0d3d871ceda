"""Piccolo app declaration: the tables and migrations of maillage."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from maillage.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="maillage",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=TABLES,
)
