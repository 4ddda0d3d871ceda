"""Commune indicators of the demo (#18): children under 3, places in EAJE and allocataires of
each commune, at the end of the last two years, so the diagnostic shows a coverage rate.

Drawn from a generator of their own, seeded by the demo's seed and the commune's INSEE code:
the demo's single random stream is not touched, so its other rows stay what they were for a
seed, and a commune's figures do not depend on the order communes are built in.
"""

from __future__ import annotations

import datetime as dt
import random

from maillage.crm.demo.dataset import Dataset
from maillage.tables import Commune, CommuneIndicator

SOURCE = "Données de démonstration (fictives)"


def add_indicators(ds: Dataset, seed: int, today: dt.date) -> None:
    days = [dt.date(today.year - 2, 12, 31), dt.date(today.year - 1, 12, 31)]
    for commune in ds.rows.get(Commune, []):
        rng = random.Random(f"{seed}:indicateurs:{commune['insee_code']}")
        population = commune["population"] or 0
        share = rng.uniform(0.025, 0.04)  # children under 3 in the population
        # Crèches are in the larger communes; a village often has none.
        coverage = rng.uniform(0.12, 0.45) if population >= 1_500 else rng.choice((0, 0, 0.1))
        for step, day in enumerate(days):
            growth = 1 + 0.03 * step * rng.uniform(-1, 1)
            children = max(1, round(population * share * growth))
            figures = {
                "enfants_moins_3_ans": children,
                "places_eaje": round(children * coverage * (1 + 0.1 * step)),
                "allocataires": round(population * rng.uniform(0.25, 0.35)),
            }
            for code, value in figures.items():
                ds.add(
                    CommuneIndicator,
                    min(today, day + dt.timedelta(days=60)),  # when the file was imported
                    commune=commune["id"],
                    code=code,
                    value=float(value),
                    measured_on=day,
                    source=SOURCE,
                )
