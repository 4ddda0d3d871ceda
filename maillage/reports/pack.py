"""The pack of a meeting (« dossier de séance », #22): what a body needs on the table.

For any meeting: its agenda, the points calling for an arbitration, what became of the body's
earlier decisions, the fiches action with their indicators against targets, the network's
evolution since the body's previous meeting, the attendance of the bodies and the territory's
key figures. The rows come from the bilan's collector (``collect``), the network analysis from
``maillage.graph``; ``assemble_pack`` is pure and runs off the event loop. The result is a
``Report`` that ``render_docx.render_pack_docx`` and ``render_html.render_pack_html`` read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from maillage.crm import decisions
from maillage.crm.registry import visible_meeting
from maillage.db import french_order, read_transaction
from maillage.errors import InvalidData, NotFound
from maillage.folding import fold
from maillage.french import format_date, format_span, long_date, number, percent, plural, short_date
from maillage.geo.maps import territory_map
from maillage.graph.data import NetworkFilter
from maillage.graph.report import Report as NetworkReport
from maillage.graph.report import analyse
from maillage.offloop import off_loop
from maillage.reports.actions import actions_in_scope, evaluation_of, indicator_rows
from maillage.reports.annual import action_plan_section
from maillage.reports.collect import ActionRow, ReportRows, collect, paris_time
from maillage.reports.coverage import coverage_matrix
from maillage.reports.governance import GovernanceYear, Representation, governance_year
from maillage.reports.model import Report, Section, Sheet
from maillage.reports.network import network_until
from maillage.reports.scope import CommuneRow, Scope, resolve_scope
from maillage.tables import Commune, Meeting, WorkingGroup
from maillage.vocabulary import (
    ACTION_STATUSES,
    CANCELLED,
    COPIL,
    DECISION_STATUSES,
    GROUP_KINDS,
    HELD,
    IN_PROGRESS,
    MEETING_STATUSES,
    OPEN_ACTION_STATUSES,
    OPEN_DECISION_STATUSES,
)

LISTED = 10  # sentences of a list before « … et N autres »
NAMED = 3  # names quoted in one sentence before « et N autres »
WINDOW = dt.timedelta(days=365)  # the network « of the last twelve months » at a date
GAPS_SHOWN = 10
# « 1. », « 2) », « - », « • » at the start of an agenda line: the document numbers the items.
ITEM_MARK = re.compile(r"^\s*(?:\d+\s*[.)-]|[-–•*])\s*")


@dataclass
class Pack:
    report: Report
    stem: str  # the file name without its extension
    people: int  # people named in it (decision carriers): the export is journaled


async def build_pack(meeting_id: int, today: dt.date) -> Pack:
    async with read_transaction():
        # A meeting out of the user's territories is not found (#20).
        meeting = await visible_meeting(
            meeting_id,
            Meeting.id,
            Meeting.title,
            Meeting.starts_at,
            Meeting.ends_at,
            Meeting.location,
            Meeting.video_url,
            Meeting.agenda,
            Meeting.status,
            Meeting.working_group,
            Meeting.working_group.name.as_alias("group_name"),
            Meeting.working_group.kind.as_alias("group_kind"),
            Meeting.working_group.territory.as_alias("group_territory"),
        )
        if meeting is None:
            raise NotFound("Réunion", meeting_id)
        previous = await (
            Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at)
            .where(
                (Meeting.working_group == meeting["working_group"])
                & (Meeting.starts_at < meeting["starts_at"])
                & (Meeting.status != CANCELLED)
            )
            .order_by(Meeting.starts_at, ascending=False)
            .first()
            .run()
        )
    scope = await _scope(meeting["group_territory"])
    day = paris_time(meeting["starts_at"]).date()
    rows = await collect(scope, day.year)
    body_decisions = await decisions.of_group(meeting["working_group"], day)
    territory = scope.territory["id"] if scope.territory else None
    # The territory's map when its communes have outlines (#18); none drawn otherwise.
    drawn = (await territory_map(territory)).svg if territory is not None else ""
    return await off_loop(assemble_pack, meeting, previous, body_decisions, rows, today, drawn)


async def _scope(territory_id: int | None) -> Scope:
    """The body's territory; with several territories and a body tied to none, everything."""
    if territory_id is not None:
        return await resolve_scope(territory_id)
    try:
        return await resolve_scope(None)
    except InvalidData:
        async with read_transaction():
            communes = cast(
                list[CommuneRow],
                await Commune.select(
                    Commune.id, Commune.insee_code, Commune.name, Commune.population
                )
                .order_by(french_order(Commune.name))
                .run(),
            )
            groups = await WorkingGroup.select(WorkingGroup.id).run()
        return Scope(None, True, communes, {g["id"] for g in groups})


def assemble_pack(
    meeting: dict[str, Any],
    previous: dict[str, Any] | None,
    body_decisions: list[dict[str, Any]],
    rows: ReportRows,
    today: dt.date,
    map_svg: str = "",
) -> Pack:
    start = paris_time(meeting["starts_at"])
    day, year = start.date(), start.year
    earlier, taken_here = _split_decisions(meeting, previous, body_decisions)
    actions = _actions_of(rows, meeting)
    # The latest evaluations: this year's once written, last year's until then.
    evaluated = year if any(evaluation_of(a, year) for a in actions) else year - 1
    plan = action_plan_section(replace(rows, actions=actions), year, evaluated)
    plan.title = "Fiches action et indicateurs"
    plan.paragraphs.insert(
        0,
        "Toutes les fiches action de la CTG."
        if meeting["group_kind"] == COPIL or not _followed_here(rows, meeting)
        else f"Les fiches action suivies par {meeting['group_name']}.",
    )
    sections = [
        agenda_section(meeting),
        arbitration_section(meeting, earlier, actions, year, day),
        decisions_section(meeting, previous, earlier, taken_here),
        plan,
        network_section(rows, previous, min(day, today)),
        attendance_section(rows, meeting, year),
        territory_section(rows, year, day, map_svg),
    ]
    report = Report(
        title="Dossier de séance",
        subtitle=_subtitle(meeting),
        year=year,
        territory=rows.scope.name,
        generated_on=long_date(today),
        context=context_lines(meeting, previous, rows, today),
        warnings=[],
        sections=sections,
    )
    carriers = {d["carrier_contact"] for d in earlier + taken_here if d["carrier_contact"]}
    return Pack(report, f"dossier-de-seance-{day.isoformat()}-{meeting['id']}", len(carriers))


def _subtitle(meeting: dict[str, Any]) -> str:
    """The meeting's title (« COPIL CTG — décembre 2026 »); the body is named just below."""
    title: str = meeting["title"] or meeting["group_name"]
    return title


def context_lines(
    meeting: dict[str, Any], previous: dict[str, Any] | None, rows: ReportRows, today: dt.date
) -> list[str]:
    kind = GROUP_KINDS.get(meeting["group_kind"], meeting["group_kind"]).lower()
    body = meeting["group_name"]
    if kind not in body.lower():  # « Comité de pilotage de la CTG » says it already
        body += f" ({kind})"
    lines = [f"Séance du {format_span(meeting['starts_at'], meeting['ends_at'])}."]
    if meeting["location"]:
        lines.append(f"Lieu : {meeting['location']}.")
    if meeting["video_url"]:
        lines.append(f"Visioconférence : {meeting['video_url']}")
    lines.append(f"Instance : {body} ; territoire : {rows.scope.name}.")
    if previous is None:
        lines.append("Première réunion enregistrée de cette instance.")
    else:
        when = long_date(paris_time(previous["starts_at"]).date())
        lines.append(f"Réunion précédente de l'instance : le {when} (« {previous['title']} »).")
    if meeting["status"] == CANCELLED:
        lines.append("Attention : cette réunion est annulée.")
    lines.append(f"Document établi le {long_date(today)}.")
    return lines


# ----- agenda ---------------------------------------------------------------------------------


def agenda_section(meeting: dict[str, Any]) -> Section:
    section = Section("ordre_du_jour", "Ordre du jour")
    items = [ITEM_MARK.sub("", line).strip() for line in meeting["agenda"].splitlines()]
    items = [item for item in items if item]
    if items:
        section.lists.append(("", items, ""))
    else:
        section.paragraphs.append(
            "L'ordre du jour n'est pas encore saisi sur la fiche de la réunion."
        )
    section.figures = {"items": items}
    return section


# ----- decisions ------------------------------------------------------------------------------


def _taken_on(decision: dict[str, Any]) -> dt.date:
    return paris_time(decision["meeting_starts_at"] or decision["created_at"]).date()


def _split_decisions(
    meeting: dict[str, Any], previous: dict[str, Any] | None, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The body's earlier decisions still open or closed since its previous meeting, and those
    taken at this meeting."""
    start = paris_time(meeting["starts_at"]).date()
    since = paris_time(previous["starts_at"]).date() if previous else None
    earlier, here = [], []
    for decision in rows:
        decision["taken_on"] = _taken_on(decision)
        if decision["meeting"] == meeting["id"]:
            here.append(decision)
        elif decision["taken_on"] <= start and (
            decision["status"] in OPEN_DECISION_STATUSES
            or since is None
            or (decision["done_on"] is not None and decision["done_on"] >= since)
        ):
            earlier.append(decision)
    earlier.sort(key=lambda d: (d["taken_on"], d["id"]))
    return earlier, here


def _state(decision: dict[str, Any]) -> str:
    label = DECISION_STATUSES.get(decision["status"], decision["status"])
    if decision["done_on"] is not None and decision["status"] not in OPEN_DECISION_STATUSES:
        return f"{label} le {short_date(decision['done_on'])}"
    return f"{label}, en retard" if decision["late"] else label


def _decision_sheet(key: str, title: str, rows: list[dict[str, Any]]) -> Sheet:
    return Sheet(
        key,
        title,
        ["Décision", "Prise le", "Porteur", "Échéance", "État", "Fiche action"],
        [
            [
                d["summary"],
                short_date(d["taken_on"]),
                d["carrier"] or "à désigner",
                short_date(d["due_on"]),
                _state(d),
                d["action_title"] or "—",
            ]
            for d in rows
        ],
    )


def decisions_section(
    meeting: dict[str, Any],
    previous: dict[str, Any] | None,
    earlier: list[dict[str, Any]],
    taken_here: list[dict[str, Any]],
) -> Section:
    section = Section("decisions", "Suites données aux décisions précédentes")
    still_open = [d for d in earlier if d["status"] in OPEN_DECISION_STATUSES]
    late = [d for d in still_open if d["late"]]
    closed = [d for d in earlier if d["status"] not in OPEN_DECISION_STATUSES]
    if not earlier:
        section.paragraphs.append("Aucune décision antérieure de l'instance n'est à suivre.")
    else:
        since = (
            f"depuis la réunion du {_day(paris_time(previous['starts_at']).date())}"
            if previous
            else "à ce jour"
        )
        opened = (
            f"{plural(len(still_open), 'décision')} toujours en suivi, "
            f"dont {number(len(late))} en retard"
            if still_open
            else "Aucune décision en suivi"
        )
        done = plural(
            len(closed), "décision faite ou abandonnée", "décisions faites ou abandonnées"
        )
        section.paragraphs.append(f"{opened} ; {done} {since}.")
        section.sheets.append(
            _decision_sheet("Décisions précédentes", "Décisions précédentes et leur état", earlier)
        )
    if taken_here:
        section.sheets.append(
            _decision_sheet(
                "Décisions de la séance", "Décisions prises lors de cette séance", taken_here
            )
        )
    section.figures = {
        "open": len(still_open),
        "late": len(late),
        "closed": len(closed),
        "taken_here": len(taken_here),
    }
    return section


# ----- fiches action --------------------------------------------------------------------------


def _followed_here(rows: ReportRows, meeting: dict[str, Any]) -> bool:
    return any(a["working_group"] == meeting["working_group"] for a in actions_in_scope(rows))


def _actions_of(rows: ReportRows, meeting: dict[str, Any]) -> list[ActionRow]:
    """A COPIL steers the whole plan; another body the fiches it follows (all if it has none)."""
    actions = actions_in_scope(rows)
    if meeting["group_kind"] == COPIL or not _followed_here(rows, meeting):
        return actions
    return [a for a in actions if a["working_group"] == meeting["working_group"]]


# ----- arbitrations ---------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A decision inside « » in a sentence: without its own closing full stop."""
    return text.strip().rstrip(".").rstrip()


def _day(day: dt.date) -> str:
    """« 30 juin 2026 »: a deadline or a period bound (a meeting's day keeps its weekday)."""
    return format_date(day, "long")


def _measure(value: float | None, target: float | None, unit: str) -> tuple[str, str]:
    """The value and the target as a sentence says them, the unit once, after the target
    (« 1 en 2026 pour une cible de 3 documents »: a unit typed in the plural never follows
    a 1); « % » after both."""
    if unit == "%":
        return f"{number(value)} %", f"{number(target)} %"
    if unit and target is not None and target >= 2:
        return number(value), f"{number(target)} {unit}"
    return number(value), number(target)


def arbitration_section(
    meeting: dict[str, Any],
    earlier: list[dict[str, Any]],
    actions: list[ActionRow],
    year: int,
    day: dt.date,
) -> Section:
    section = Section("arbitrages", "Points appelant un arbitrage")
    late: list[str] = []
    unassigned: list[str] = []
    indicators: list[str] = []
    evaluations: list[str] = []
    overdue: list[str] = []
    for d in earlier:
        if d["status"] not in OPEN_DECISION_STATUSES:
            continue
        if d["late"]:
            days = (day - d["due_on"]).days
            carrier = f"portée par {d['carrier']}" if d["carrier"] else "sans porteur"
            late.append(
                f"« {_quoted(d['summary'])} », {carrier} : échéance du {_day(d['due_on'])} "
                f"dépassée de {plural(days, 'jour')}."
            )
        elif not d["carrier"]:
            unassigned.append(f"« {_quoted(d['summary'])} » : aucun porteur désigné.")
    for action in actions:
        for row in indicator_rows(action, year):
            # This year's measure; last year's while this year has none yet.
            label = "current" if row["value_current"] is not None else "previous"
            y = year if label == "current" else year - 1
            rate = row[f"rate_{label}"]
            if rate is not None and rate < 1:
                value, target = _measure(row[f"value_{label}"], row[f"target_{label}"], row["unit"])
                indicators.append(
                    f"« {row['name']} » (fiche « {action['title']} ») : {value} en {y} pour "
                    f"une cible de {target}, soit {percent(rate)} de la cible."
                )
        reviewed = _latest_review(action, year)
        if reviewed is not None and action["status"] in OPEN_ACTION_STATUSES:
            verb = {"ajuster": "ajuster", "arreter": "arrêter"}[reviewed["decision"]]
            evaluations.append(
                f"« {action['title']} » : l'évaluation {reviewed['year']} propose d'{verb} "
                f"la fiche action."
            )
        end = action["end_date"]
        if action["status"] == IN_PROGRESS and end is not None and end < day:
            overdue.append(
                f"« {action['title']} » : période terminée le {_day(end)}, statut "
                f"toujours « {ACTION_STATUSES[IN_PROGRESS]} » (prolonger, clore ou abandonner)."
            )
    groups = [
        ("Décisions en retard", late),
        ("Décisions sans porteur", unassigned),
        ("Indicateurs en deçà de leur cible", indicators),
        ("Fiches action à ajuster ou à arrêter", evaluations),
        ("Fiches action arrivées à échéance", overdue),
    ]
    total = sum(len(items) for _, items in groups)
    if total:
        section.paragraphs.append(
            f"{plural(total, 'point demande', 'points demandent')} une décision de l'instance."
        )
    else:
        section.paragraphs.append(
            "Aucun point ne demande d'arbitrage : pas de décision en retard ni sans porteur, "
            "aucun indicateur mesuré en deçà de sa cible."
        )
    section.lists += [(title, items, "") for title, items in groups if items]
    section.figures = {
        "late_decisions": len(late),
        "unassigned_decisions": len(unassigned),
        "indicators_below_target": len(indicators),
        "actions_to_review": len(evaluations),
        "overdue_actions": len(overdue),
    }
    return section


def _latest_review(action: Mapping[str, Any], year: int) -> dict[str, Any] | None:
    """The evaluation of this year, else of last year, when it proposes to adjust or stop."""
    for y in (year, year - 1):
        evaluation = evaluation_of(action, y)
        if evaluation is not None:
            return evaluation if evaluation["decision"] in ("ajuster", "arreter") else None
    return None


# ----- network --------------------------------------------------------------------------------


def _network_at(
    rows: ReportRows, day: dt.date, revived: frozenset[int] = frozenset()
) -> NetworkReport:
    """The network of the twelve months before ``day``, as ``/reseau`` analyses it; the
    ``revived`` organisations, archived since, counted as they were then."""
    data = replace(network_until(rows, day), today=day)
    if revived:
        data.organisations = [
            replace(o, archived=False) if o.id in revived else o for o in data.organisations
        ]
    return analyse(data, NetworkFilter(start=day - WINDOW, end=day), "organisations")


def _links(report: NetworkReport) -> dict[int, set[int]]:
    graph = report.graph
    ids = {node: attrs["record_id"] for node, attrs in graph.nodes(data=True)}
    return {
        ids[node]: {ids[other] for other in graph.neighbors(node)}
        for node in graph
        if graph.degree(node) > 0
    }


def _named(names: list[str]) -> str:
    """« A », « A et B », « A, B, C et 2 autres »."""
    shown = names[:NAMED]
    rest = len(names) - len(shown)
    if rest:
        return f"{', '.join(shown)} et {plural(rest, 'autre')}"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} et {shown[-1]}"


def _capped(sentences: list[str]) -> list[str]:
    if len(sentences) <= LISTED:
        return sentences
    rest = len(sentences) - LISTED
    others = plural(rest, "autre partenaire", "autres partenaires")
    return [*sentences[:LISTED], f"Et {others} : voir la page « Réseau »."]


def network_section(rows: ReportRows, previous: dict[str, Any] | None, day: dt.date) -> Section:
    since = min(paris_time(previous["starts_at"]).date() if previous else day - WINDOW, day)
    section = Section(
        "reseau",
        "Évolution du réseau depuis la réunion précédente"
        if previous
        else "Évolution du réseau sur les douze derniers mois",
    )
    # The day a record was archived is not kept: its last change after ``since`` stands for it.
    archived_since = frozenset(
        i
        for i, o in rows.organisations.items()
        if o["archived"] and o["updated_at"].date() >= since
    )
    before, now = _network_at(rows, since, archived_since), _network_at(rows, day)
    then, current = _links(before), _links(now)
    names: dict[int, str] = {i: o["name"] for i, o in rows.organisations.items()}

    def name(i: int) -> str:
        return names.get(i, f"n° {i}")

    def sorted_names(ids: set[int]) -> list[str]:
        return sorted((name(i) for i in ids), key=fold)

    joined = sorted(current.keys() - then.keys(), key=lambda i: fold(name(i)))
    left = sorted(then.keys() - current.keys(), key=lambda i: fold(name(i)))
    section.paragraphs.append(
        f"Du {_day(since)} au {_day(day)}, le réseau des douze derniers mois passe "
        f"de {plural(len(then), 'organisation reliée', 'organisations reliées')} à "
        f"{number(len(current))}, et de {plural(before.graph.number_of_edges(), 'lien')} à "
        f"{number(now.graph.number_of_edges())}."
    )
    new_sentences = [
        f"{name(i)} rejoint le réseau avec {plural(len(current[i]), 'lien')} : "
        f"{_named(sorted_names(current[i]))}."
        for i in joined
    ]
    lost_sentences = []
    for i in left:
        count = plural(len(then[i]), "lien")
        if (organisation := rows.organisations.get(i)) is not None and organisation["archived"]:
            lost_sentences.append(
                f"Fiche archivée : {name(i)}, qui comptait {count} au {_day(since)}."
            )
        else:
            lost_sentences.append(
                f"{name(i)} ne compte plus aucun lien actif, contre {count} au "
                f"{_day(since)} ({_named(sorted_names(then[i]))})."
            )
    weak = [
        f"{finding.name} — {' ; '.join(r.message for r in finding.reasons)}."
        for finding in now.under_connected
    ]
    section.lists += [
        (
            "Nouveaux partenaires reliés",
            _capped(new_sentences),
            "Aucun nouveau partenaire relié.",
        ),
        (
            "Partenaires perdus",
            _capped(lost_sentences),
            "Aucun partenaire n'a perdu tous ses liens.",
        ),
        (
            "Partenaires peu reliés",
            _capped(weak),
            "Aucun partenaire peu relié.",
        ),
    ]
    section.paragraphs.append(
        "À chaque date, le réseau est celui des douze mois qui la précèdent : deux "
        "organisations y sont liées quand leurs personnes siègent dans une même instance, ont "
        "assisté ensemble à une réunion tenue, quand un partenariat les lie ou qu'une personne "
        "appartient aux deux."
    )
    section.figures = {
        "since": since.isoformat(),
        "until": day.isoformat(),
        "new": [name(i) for i in joined],
        "lost": [name(i) for i in left],
        "under_connected": [f.name for f in now.under_connected],
    }
    return section


# ----- attendance -----------------------------------------------------------------------------


def _rate(present: int, absent: int, excused: int) -> float | None:
    recorded = present + absent + excused
    return round(present / recorded, 4) if recorded else None


def attendance_section(rows: ReportRows, meeting: dict[str, Any], year: int) -> Section:
    section = Section("presence", "Présence aux instances")
    representation = Representation(rows)
    current = governance_year(rows, year, representation)
    before = governance_year(rows, year - 1, representation)
    group = meeting["working_group"]
    body = next((b for b in current.bodies if b.group == group), None)
    held = body.held if body else 0
    rate = body.rate if body else None
    before_rate = next((b.rate for b in before.bodies if b.group == group), None)
    section.paragraphs.append(
        f"{meeting['group_name']} : {plural(held, 'réunion tenue', 'réunions tenues')} en "
        f"{year}, taux de présence {percent(rate)} ({percent(before_rate)} en {year - 1})."
    )
    starts = meeting["starts_at"]
    own = [
        m
        for m in before.meeting_rows + current.meeting_rows
        if m["working_group"] == group and m["starts_at"] <= paris_time(starts)
    ]
    section.sheets.append(
        Sheet(
            "Réunions de l'instance",
            f"Réunions de l'instance en {year - 1} et {year}",
            [
                "Date",
                "Réunion",
                "Statut",
                "Invitations",
                "Présents",
                "Excusés",
                "Absents",
                "Taux de présence",
            ],
            [
                [
                    short_date(m["starts_at"].date()),
                    m["title"],
                    MEETING_STATUSES.get(m["status"], m["status"]),
                    *(
                        (
                            m["invited"],
                            m["present"],
                            m["excused"],
                            m["absent"],
                            _rate(m["present"], m["absent"], m["excused"]),
                        )
                        if m["status"] == HELD
                        else (None,) * 5
                    ),
                ]
                for m in own
            ],
        )
    )
    section.sheets.append(_bodies_sheet(current, before))
    section.figures = {"held": held, "rate": rate, "previous_rate": before_rate}
    return section


def _bodies_sheet(current: GovernanceYear, before: GovernanceYear) -> Sheet:
    rates = {b.group: b.rate for b in before.bodies}
    y = current.year
    return Sheet(
        "Présence par instance",
        f"Présence dans chaque instance en {y}",
        [
            "Instance",
            f"Réunions tenues {y}",
            "Présents",
            "Excusés",
            "Absents",
            f"Taux de présence {y}",
            f"Taux de présence {y - 1}",
        ],
        [
            [
                b.name,
                b.held,
                b.present,
                b.excused,
                b.absent,
                None if b.rate is None else round(b.rate, 4),
                None if rates.get(b.group) is None else round(rates[b.group] or 0, 4),
            ]
            for b in current.bodies
            if b.held or rates.get(b.group) is not None
        ],
        note="Taux de présence : présents / (présents + absents + excusés), réunions tenues.",
    )


# ----- territory ------------------------------------------------------------------------------


def territory_section(rows: ReportRows, year: int, day: dt.date, map_svg: str = "") -> Section:
    section = Section("territoire", "Chiffres clés du territoire")
    # The map as drawn by maillage.geo: inline in the HTML, a PNG drawn for the DOCX only.
    section.svg = map_svg
    section.svg_title = f"Carte des communes du territoire {rows.scope.name}" if map_svg else ""
    scope = rows.scope
    communes = scope.communes
    population = sum(c["population"] or 0 for c in communes)
    unknown = sum(1 for c in communes if c["population"] is None)
    partners = [
        o
        for o in rows.organisations.values()
        if not o["archived"] and (scope.everything or o["commune"] in scope.commune_ids)
    ]
    line = f"{scope.name} : {plural(len(communes), 'commune')}, {plural(population, 'habitant')}"
    if unknown:
        line += f" (population inconnue pour {plural(unknown, 'commune')})"
    section.paragraphs.append(
        f"{line} ; {plural(len(partners), 'organisation partenaire', 'organisations partenaires')} "
        f"enregistrée{'s' if len(partners) > 1 else ''}."
    )
    territory = scope.territory
    if territory and territory["ctg_start"] and territory["ctg_end"]:
        start, end = territory["ctg_start"], territory["ctg_end"]
        section.paragraphs.append(
            f"Convention territoriale globale du {_day(start)} au {_day(end)}."
        )
    gaps: list[dict[str, Any]] = []
    if communes:
        as_of = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        coverage = coverage_matrix(scope, rows.axes, list(rows.organisations.values()), as_of=as_of)
        gaps = coverage.gaps()
        section.paragraphs.append(
            f"{plural(len(gaps), 'zone blanche', 'zones blanches')} (une commune sans aucun "
            f"partenaire implanté sur l'un des axes de la CTG)."
        )
        if gaps:
            section.sheets.append(
                Sheet(
                    "Zones blanches",
                    "Zones blanches les plus peuplées",
                    ["Commune", "Population", "Axe sans partenaire"],
                    [
                        [g["commune_name"], g["population"], g["axis_name"]]
                        for g in gaps[:GAPS_SHOWN]
                    ],
                    note=f"Les {number(len(gaps))} zones blanches figurent dans le diagnostic "
                    "territorial."
                    if len(gaps) > GAPS_SHOWN
                    else "",
                )
            )
    section.figures = {
        "communes": len(communes),
        "population": population,
        "partners": len(partners),
        "gaps": len(gaps),
    }
    return section
