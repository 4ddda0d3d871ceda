"""The demo territory: a fictitious communauté de communes whose partner network tells a story.

``generate`` (pure, deterministic) writes the rows; ``load_demo`` inserts them in one write
transaction. ``maillage demo`` and ``maillage init --with-demo`` call ``load_demo``.
"""

from __future__ import annotations

from maillage.crm.demo.generator import SCALES, generate
from maillage.crm.demo.loader import clear_database, load_demo, summary

__all__ = ["SCALES", "clear_database", "generate", "load_demo", "summary"]
