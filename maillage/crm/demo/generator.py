"""The pure generator: ``generate(seed, today, scale)`` returns every row of the demo.

Same seed and day, same rows: one ``random.Random(seed)`` drives every draw, and nothing reads
the clock. Axis ids and the first free id of each table come from the caller, so the rows slot
into a database that already holds the axes (or anything else).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

from piccolo.table import Table

from maillage.crm.demo import vocabulary as words
from maillage.crm.demo.activity import Activity
from maillage.crm.demo.dataset import Dataset
from maillage.crm.demo.governance import Governance
from maillage.crm.demo.identifiers import Identifiers
from maillage.crm.demo.indicators import add_indicators
from maillage.crm.demo.people import Cast
from maillage.crm.demo.registry import Registry, Shared
from maillage.crm.demo.territory import TerritoryBuilder, TerritorySpec, build_shared
from maillage.crm.seed import CTG_AXES

SCALES = {"territoire": 1, "departement": 30}
DEFAULT_AXIS_IDS = {code: position for position, (code, _) in enumerate(CTG_AXES, start=1)}


def generate(
    seed: int,
    today: dt.date,
    scale: str = "territoire",
    axis_ids: Mapping[str, int] | None = None,
    first_ids: Mapping[type[Table], int] | None = None,
) -> Dataset:
    if scale not in SCALES:
        raise ValueError(f"Échelle inconnue « {scale} » (territoire ou departement).")
    rng = random.Random(seed)
    ds = Dataset(first_ids)
    reg = Registry(ds, rng, Identifiers(rng), today, dict(axis_ids or DEFAULT_AXIS_IDS))
    shared = Shared()
    build_shared(reg, shared)
    for index, spec in enumerate(territory_specs(rng, SCALES[scale])):
        reg.cast = Cast()
        world = TerritoryBuilder(reg, shared, spec, main=index == 0).build()
        governance = Governance(reg, world)
        governance.build()
        governance.meetings()
        Activity(reg, world, governance, main=index == 0).build()
    add_indicators(ds, seed, today)  # a stream of their own: the draws above are unchanged
    return ds


def territory_specs(rng: random.Random, count: int) -> list[TerritorySpec]:
    main = TerritorySpec(
        name="Communauté de communes du Val d'Ardoise",
        short="Val d'Ardoise",
        communes=list(words.ARDOISE_COMMUNES),
        insee_codes=[f"359{n:02d}" for n in range(1, len(words.ARDOISE_COMMUNES) + 1)],
    )
    specs = [main]
    names = [head + tail for head in words.PLACE_HEADS for tail in words.PLACE_TAILS]
    rng.shuffle(names)
    # Real communes of département 35 stop at 35363; the Val d'Ardoise has 35901-35915.
    codes = [str(c) for c in (*range(35364, 35900), *range(35916, 36000))]
    for index in range(1, count):
        size = rng.randint(13, 21)
        places = [names.pop() for _ in range(size)]
        populations = _populations(rng, size)
        sectors = ["Centre"] + [words.SECTORS[i % 3] for i in range(size - 1)]
        specs.append(
            TerritorySpec(
                name=words.TERRITORY_NAMES[index % len(words.TERRITORY_NAMES)].format(places[0]),
                short=places[0],
                communes=list(zip(places, populations, sectors, strict=True)),
                insee_codes=[codes.pop(0) for _ in range(size)],
                school_zone="B",
            )
        )
    return specs


def _populations(rng: random.Random, size: int) -> list[int]:
    """A bourg-centre, two or three small towns, villages: what a rural EPCI looks like."""
    centre = rng.randint(4_500, 14_000)
    others = sorted((int(centre * rng.uniform(0.03, 0.45)) for _ in range(size - 1)), reverse=True)
    others[0], others[1] = max(others[0], 2_400), max(others[1], 1_950)
    return [centre] + [max(180, p) for p in others]
