"""Full network report on generated data, against the same measures computed with igraph.

Usage (from the repository root; igraph comes with the `bench` extra):

    PYTHONPATH=. .venv/bin/python bench/network_report.py [--source demo|generated] \
        [--scale territoire|departement|both] [--runs 3]

`--source demo` (the default) loads the real demo (`load_demo(seed=1, today=2026-11-29)`, the
chosen scale) into a temporary SQLite database and reads it back through the network service's
reader, as `maillage network report` does; the read is timed apart. `--source generated` builds
synthetic rows in memory with a fixed seed (`territoire`: 250 organisations, 750 people;
`departement`: about 5,000 organisations and 15,000 people). For each scale the script prints:
- the wall time of the full report (filter + graph build + every measure + under-connection +
  fragile points + coverage gaps + suggestions), median and best of `--runs`, for the network of
  organisations and (demo territory) of people, and of its measures alone;
- the process's peak memory (resident set size) so far;
- the time igraph takes for the same measure set on the same graph (exact betweenness, since
  python-igraph has no sampled version), and the ratio;
- agreement: Spearman rank correlation of betweenness (ours, sampled above 500 nodes, against
  igraph's exact values) and the largest gap in Burt's constraint (exact on both sides).

No NetworkX backend is enabled: the default pure-Python dispatch is what runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from maillage.graph import metrics
from maillage.graph.data import (
    AffiliationRow,
    AxisRow,
    CommuneRow,
    ContactRow,
    GroupRow,
    InteractionRow,
    InvitationRow,
    MeetingRow,
    MembershipRow,
    NetworkData,
    OrganisationRow,
    PartnershipRow,
)
from maillage.graph.report import analyse, collector_paused

TODAY = dt.date(2026, 6, 1)
SCALES = {"territoire": 1, "departement": 20}
KINDS = [
    ("association", 0.52), ("etablissement", 0.22), ("collectivite", 0.08), ("entreprise", 0.06),
    ("institution", 0.04), ("operateur_dsp", 0.03), ("autre", 0.05),
]  # fmt: skip
AXES = [
    "petite_enfance", "enfance", "jeunesse", "parentalite", "animation_vie_sociale",
    "acces_aux_droits", "logement", "inclusion_numerique",
]  # fmt: skip


def generate(factor: int, seed: int = 7) -> NetworkData:
    rng = random.Random(seed)
    n_orgs, n_communes, n_groups = 250 * factor, 15 * factor, 25 * factor
    axes = [
        AxisRow(i + 1, code, code.replace("_", " ").capitalize()) for i, code in enumerate(AXES)
    ]
    communes = [
        CommuneRow(i, f"Commune {i}", int(rng.lognormvariate(7.5, 1.1)))
        for i in range(1, n_communes + 1)
    ]
    weights = [c.population for c in communes]
    kinds, kind_weights = zip(*KINDS, strict=True)
    orgs = []
    for i in range(1, n_orgs + 1):
        kind = rng.choices(kinds, kind_weights)[0]
        n_axes = 8 if kind == "institution" and rng.random() < 0.5 else rng.choice([1, 1, 2, 3])
        orgs.append(
            OrganisationRow(
                i,
                f"Organisation {i}",
                kind,
                commune=rng.choices(communes, weights)[0].id,
                axes=tuple(sorted(rng.sample(range(1, 9), n_axes))),
            )
        )
    contacts, affiliations, staff = [], [], {}
    contact_id = 0
    for org in orgs:
        for _ in range(rng.choice([1, 2, 3, 3, 4, 5])):
            contact_id += 1
            contacts.append(
                ContactRow(contact_id, f"Prénom{contact_id}", f"Nom{contact_id}", "Mme")
            )
            affiliations.append(AffiliationRow(contact_id, org.id, primary=not staff.get(org.id)))
            staff.setdefault(org.id, []).append(contact_id)
    for _ in range(len(contacts) // 15):  # élus and volunteers wearing two hats
        person = rng.randint(1, contact_id)
        affiliations.append(AffiliationRow(person, rng.randint(1, n_orgs)))
    by_axis = {a: [o for o in orgs if a in o.axes] for a in range(1, 9)}
    hubs = [o for o in orgs if o.kind in ("institution", "collectivite")]
    groups, memberships, meetings, invitations = [], [], [], []
    meeting_id = 0
    chronic_absentees = set(rng.sample(range(1, contact_id + 1), contact_id // 20))
    for g in range(1, n_groups + 1):
        axis = rng.randint(1, 8)
        kind = rng.choice(["commission_thematique", "groupe_travail", "groupe_travail", "reseau"])
        groups.append(GroupRow(g, f"Instance {g}", kind, axes=(axis,)))
        members = rng.sample(by_axis[axis], min(len(by_axis[axis]), rng.randint(6, 18)))
        members += rng.sample(hubs, min(len(hubs), 3))
        people = []
        for org in {o.id: o for o in members}.values():
            person = rng.choice(staff[org.id])
            people.append(person)
            memberships.append(MembershipRow(person, g, organisation=org.id))
        for _ in range(rng.randint(3, 8)):
            meeting_id += 1
            day = TODAY - dt.timedelta(days=rng.randint(1, 720))
            meetings.append(
                MeetingRow(
                    meeting_id, g, dt.datetime(day.year, day.month, day.day, 14, tzinfo=dt.UTC)
                )
            )
            for person in people:
                came = person not in chronic_absentees and rng.random() < 0.7
                invitations.append(
                    InvitationRow(meeting_id, person, "acceptee", "present" if came else "absent")
                )
    partnerships = []
    for _ in range(n_orgs // 2):
        a, b = rng.choice(hubs), rng.choice(orgs)
        kind = (
            "delegation_dsp"
            if b.kind == "operateur_dsp"
            else rng.choice(["convention", "partenariat", "cofinancement"])
        )
        partnerships.append(PartnershipRow(a.id, b.id, kind))
    interactions = [
        InteractionRow(
            i,
            TODAY - dt.timedelta(days=rng.randint(1, 900)),
            "appel",
            organisations=tuple(rng.sample(range(1, n_orgs + 1), rng.choice([1, 1, 2]))),
            follow_up_on=TODAY - dt.timedelta(days=rng.randint(-30, 30))
            if rng.random() < 0.1
            else None,
        )
        for i in range(1, n_orgs * 2)
    ]
    return NetworkData(
        today=TODAY,
        axes=axes,
        communes=communes,
        organisations=orgs,
        contacts=contacts,
        affiliations=affiliations,
        groups=groups,
        memberships=memberships,
        meetings=meetings,
        invitations=invitations,
        partnerships=partnerships,
        interactions=interactions,
    )


def igraph_measures(graph) -> tuple[float, dict]:
    import igraph as ig

    nodes = list(graph)
    index = {node: i for i, node in enumerate(nodes)}
    g = ig.Graph(n=len(nodes), edges=[(index[a], index[b]) for a, b in graph.edges])
    g.es["weight"] = [w for _, _, w in graph.edges(data="weight")]
    started, processor = time.perf_counter(), time.process_time()
    n = len(nodes)
    result = {
        "degree": g.degree(),
        "strength": g.strength(weights="weight"),
        "betweenness": np.array(g.betweenness()) * (2 / ((n - 1) * (n - 2))),
        "closeness": g.closeness(),
        "pagerank": g.pagerank(weights="weight"),
        "coreness": g.coreness(),
        "clustering": g.transitivity_local_undirected(mode="zero"),
        "constraint": g.constraint(weights="weight"),
        "articulation": g.articulation_points(),
        "bridges": g.bridges(),
    }
    louvain = g.community_multilevel(weights="weight")
    result["modularity"] = g.modularity(louvain, weights="weight")
    components = g.connected_components()
    result["components"] = len(components)
    result["average_path_length"] = components.giant().average_path_length()
    result["processor_time"] = time.process_time() - processor
    return time.perf_counter() - started, result


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


DEMO_TODAY = dt.date(2026, 11, 29)


async def load_demo_rows(scale: str) -> tuple[NetworkData, float, float]:
    """The demo loaded into a throw-away SQLite file, read back as the service reads it."""
    from maillage import db
    from maillage.crm.demo import load_demo
    from maillage.graph.network import load_network_data

    path = Path(tempfile.mkdtemp(prefix="maillage-bench-")) / "demo.db"
    await db.connect(f"sqlite:///{path}")
    await db.start_pool()
    await db.migrate()
    started = time.perf_counter()
    await load_demo(seed=1, today=DEMO_TODAY, scale=scale)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    data = await load_network_data(DEMO_TODAY)
    read = time.perf_counter() - started
    await db.close_pool()
    path.unlink()
    return data, loaded, read


def timed_reports(data: NetworkData, level: str, runs: int):
    """The report ``runs`` times: median and best wall time, best processor time."""
    times, cpu, report = [], [], None
    for _ in range(runs):
        started, processor = time.perf_counter(), time.process_time()
        report = analyse(data, level=level)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - processor)
    return report, statistics.median(times), min(times), min(cpu)


def run(scale: str, source: str, runs: int) -> None:
    if source == "demo":
        data, loaded, read = asyncio.run(load_demo_rows(scale))
        print(f"\n## démo {scale} (graine 1, {DEMO_TODAY}) : chargée en {loaded:.1f} s, "
              f"lue par le service en {read:.2f} s")  # fmt: skip
    else:
        data = generate(SCALES[scale])
        print(f"\n## généré {scale}")
    print(f"{len(data.organisations)} organisations, {len(data.contacts)} personnes, "
          f"{len(data.groups)} instances, {len(data.meetings)} réunions, {len(data.invitations)} invitations")  # fmt: skip
    report, full, best, cpu = timed_reports(data, "organisations", runs)
    print(f"rapport complet (organisations) : médiane {full:.3f} s, meilleur {best:.3f} s "
          f"sur {runs} ; temps processeur {cpu:.3f} s")  # fmt: skip
    if scale == "territoire":
        people, median, fastest, people_cpu = timed_reports(data, "contacts", runs)
        print(f"rapport complet (personnes, {people.graph.number_of_nodes()} nœuds, "
              f"{people.graph.number_of_edges()} liens) : médiane {median:.3f} s, "
              f"meilleur {fastest:.3f} s ; temps processeur {people_cpu:.3f} s")  # fmt: skip
    graph = report.graph
    started, processor = time.perf_counter(), time.process_time()
    with collector_paused():  # as ``analyse`` runs them
        ours = metrics.compute(graph)
    measures, measures_cpu = time.perf_counter() - started, time.process_time() - processor
    ig_time, theirs = igraph_measures(graph)
    nodes = list(graph)
    rho = spearmanr([ours.nodes[n]["betweenness"] for n in nodes], theirs["betweenness"]).statistic
    gaps = [
        abs(ours.nodes[n]["constraint"] - c)
        for n, c in zip(nodes, theirs["constraint"], strict=True)
        if ours.nodes[n]["constraint"] is not None and not math.isnan(c)
    ]
    print(f"graphe : {graph.number_of_nodes()} nœuds, {graph.number_of_edges()} liens ; "
          f"intermédiarité {ours.network['betweenness_method']}")  # fmt: skip
    print(f"rapport complet : {full:.2f} s ; mesures seules : {measures:.2f} s ; "
          f"igraph (mêmes mesures) : {ig_time:.2f} s ; rapport : {measures / ig_time:.1f}× "
          f"(rapport complet / igraph : {full / ig_time:.1f}×)")  # fmt: skip
    print(f"temps processeur : rapport complet {cpu:.2f} s ; mesures {measures_cpu:.2f} s ; "
          f"igraph {theirs['processor_time']:.2f} s ; rapport complet / igraph "
          f"{cpu / theirs['processor_time']:.1f}×")  # fmt: skip
    print(f"mémoire de pointe du processus : {peak_memory_mb():.0f} Mo")
    print(
        f"accord : Spearman intermédiarité = {rho:.4f} ; écart max. contrainte = {max(gaps, default=0):.2e}"
    )
    print(f"sous-connectés : {len(report.under_connected)} ; suggestions : {len(report.suggestions)} ; "
          f"modularité NetworkX {ours.network['modularity']:.3f} / igraph {theirs['modularity']:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["demo", "generated"], default="demo")
    parser.add_argument("--scale", choices=[*SCALES, "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for scale in SCALES if args.scale == "both" else [args.scale]:
        run(scale, args.source, args.runs)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
