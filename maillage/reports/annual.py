"""The bilan annuel for year N: assembles the sections from the collected rows.

``build_annual_report`` is what the command line, the API and the page call; the renderers
(DOCX, XLSX, HTML) only read the ``Report`` it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from maillage.errors import InvalidData
from maillage.folding import fold
from maillage.french import euros, long_date, number, percent, plural, short_date
from maillage.offloop import off_loop
from maillage.reports import charts, maps
from maillage.reports.actions import (
    actions_in_scope,
    budget_totals,
    evaluation_of,
    indicator_rows,
    runs_during,
)
from maillage.reports.collect import (
    ConsultationRow,
    InteractionRow,
    OrganisationRow,
    ReportRows,
    collect,
)
from maillage.reports.coverage import coverage_matrix
from maillage.reports.governance import (
    GovernanceYear,
    Representation,
    governance_year,
    new_partners,
)
from maillage.reports.missing import missing_data
from maillage.reports.model import Report, Section, Sheet
from maillage.reports.network import NetworkYear, movements, network_year
from maillage.reports.scope import TerritoryRow, check_year, resolve_scope, year_bounds
from maillage.vocabulary import (
    ACTION_STATUSES,
    DECISION_DONE,
    EVALUATION_DECISIONS,
    FINANCERS,
    GROUP_KINDS,
    INTERACTION_KINDS,
    MEETING_STATUSES,
    OPEN_DECISION_STATUSES,
    ORGANISATION_KINDS,
    in_sentence,
)

LISTED = 8  # names quoted in a sentence before « … et N autres »


async def build_annual_report(
    year: int,
    territory_id: int | None,
    today: dt.date,
    with_charts: bool = True,
    territory_ids: list[int] | None = None,
) -> Report:
    """The bilan of one territory, or consolidated over ``territory_ids`` (#20)."""
    check_year(year, today)
    scope = await resolve_scope(territory_id, territory_ids)
    rows = await collect(scope, year)
    check_has_data(rows, year)
    return await off_loop(assemble, rows, year, today, with_charts)


def check_has_data(rows: ReportRows, year: int) -> None:
    """A year before anything was recorded gets a French error, not an empty document."""
    _, end = year_bounds(year)
    has_meetings = bool(rows.meetings_of(year))
    has_indicators = any(
        str(year) in {**i.get("values", {}), **i.get("targets", {})}
        for a in actions_in_scope(rows)
        for i in a["indicators"] or []
    )
    has_partners = any(o["created_at"] < end for o in rows.organisations.values())
    if has_meetings or has_indicators or has_partners:
        return
    since = (
        f" La première réunion enregistrée date de {rows.first_meeting_year}."
        if rows.first_meeting_year
        else " Aucune réunion n'est encore enregistrée."
    )
    raise InvalidData.one(
        "year",
        f"Aucune donnée pour {year} sur {rows.scope.name} : ni réunion, ni partenaire "
        f"enregistré, ni valeur d'indicateur.{since}",
    )


def assemble(rows: ReportRows, year: int, today: dt.date, with_charts: bool = True) -> Report:
    representation = Representation(rows)
    current = governance_year(rows, year, representation)
    previous = governance_year(rows, year - 1, representation)
    net_current = network_year(rows, year)
    net_previous = network_year(rows, year - 1)
    sections = [
        action_plan_section(rows, year),
        governance_section(rows, year, current, previous),
        network_section(rows, net_previous, net_current),
        coverage_section(rows, year),
    ]
    maps.add_childcare(sections[-1], rows)
    if with_charts:
        charts.attach(sections)
        maps.attach_map(sections[-1], rows)
        maps.attach_partners_map(sections[2], rows, net_current)
    territory = rows.scope.name
    return Report(
        title=f"Bilan annuel {year} de la Convention territoriale globale",
        subtitle=territory,
        year=year,
        territory=territory,
        generated_on=long_date(today),
        context=context_lines(rows, year, today),
        warnings=missing_data(rows, year, today, current),
        sections=sections,
    )


# ----- context --------------------------------------------------------------------------------


def context_lines(rows: ReportRows, year: int, today: dt.date) -> list[str]:
    lines = [f"Territoire : {rows.scope.name}."]
    lines.append(_ctg_line(rows.scope.territory, year))
    due = dt.date(year + 1, 1, 31)
    if today > due:
        lines.append(f"Bilan dû à la Caf le {long_date(due)} : l'échéance est passée.")
    else:
        days = (due - today).days
        lines.append(
            f"À transmettre à la Caf au plus tard le {long_date(due)} "
            f"({plural(days, 'jour')} restant{'s' if days > 1 else ''})."
        )
    if year == today.year:
        lines.append(
            f"Bilan provisoire : l'année {year} n'est pas terminée, "
            f"données arrêtées au {long_date(today)}."
        )
    lines.append(f"Document établi le {long_date(today)}, à compléter par la coordination.")
    return lines


def _ctg_line(territory: TerritoryRow | None, year: int) -> str:
    if territory is None or not (territory["ctg_start"] and territory["ctg_end"]):
        return "Dates de la CTG non renseignées (fiche territoire) : la période n'est pas située."
    start, end = territory["ctg_start"].year, territory["ctg_end"].year
    if not start <= year <= end:
        return f"{year} est hors de la période de la CTG ({start}–{end})."
    rank = year - start + 1
    ordinal = "1re" if rank == 1 else f"{rank}e"
    return f"CTG {start}–{end} : {year} en est la {ordinal} année sur {end - start + 1}."


# ----- action plan ----------------------------------------------------------------------------


def action_plan_section(rows: ReportRows, year: int, evaluation_year: int | None = None) -> Section:
    """The fiches action and their indicators of ``year``, with the evaluations of
    ``evaluation_year`` (the same year unless told: a meeting's pack shows the latest)."""
    actions = actions_in_scope(rows)
    section = Section("plan_action", "Le plan d'action de la CTG")
    if not actions:
        section.paragraphs.append(
            "Aucune fiche action n'est enregistrée : le plan d'action de la CTG reste à saisir "
            "(rubrique « Plan d'action »)."
        )
        section.figures = {"actions": 0, "by_status": {}}
        return section
    by_status: dict[str, int] = {}
    for action in actions:
        by_status[action["status"]] = by_status.get(action["status"], 0) + 1
    # « 2 réalisées », « 3 abandonnées »: the participles agree with « fiches »; « à lancer »
    # and « en cours » do not change.
    statuses = ", ".join(
        f"{number(count)} {ACTION_STATUSES[s].lower()}"
        + ("s" if count > 1 and ACTION_STATUSES[s].endswith("ée") else "")
        for s in ACTION_STATUSES
        if (count := by_status.get(s))
    )
    section.paragraphs.append(
        f"{plural(len(actions), 'fiche action', 'fiches action')} : {statuses}."
    )
    summary, indicators = [], []
    reached = measured = 0
    for action in actions:
        partners = ", ".join(p["name"] for p in action["partners"]) or "—"
        summary.append(
            [
                action["title"],
                action["axis.name"] or "—",
                ACTION_STATUSES.get(action["status"], action["status"]),
                action["pilot.name"] or "—",
                partners,
                action["working_group.name"] or "—",
            ]
        )
        for row in indicator_rows(action, year):
            indicators.append(
                [
                    action["title"],
                    row["name"],
                    row["unit"],
                    row["target_previous"],
                    row["value_previous"],
                    row["target_current"],
                    row["value_current"],
                    _ratio(row["rate_current"]),
                ]
            )
            if row["rate_current"] is not None:
                measured += 1
                reached += row["rate_current"] >= 1
        if not runs_during(action, year):
            summary[-1][2] += f" (hors période {year})"
    section.paragraphs.append(
        f"{plural(len(indicators), 'indicateur')} suivi{'s' if len(indicators) > 1 else ''} ; "
        f"{number(measured)} mesuré{'s' if measured > 1 else ''} en {year} avec une cible"
        + _reached_clause(reached, measured)
    )
    section.sheets.append(
        Sheet(
            "Fiches action",
            "Fiches action : statut, pilote et partenaires",
            ["Fiche action", "Axe", "Statut", "Pilote", "Partenaires", "Instance de suivi"],
            summary,
        )
    )
    section.sheets.append(
        Sheet(
            "Indicateurs",
            f"Indicateurs : cibles et valeurs {year - 1} et {year}",
            [
                "Fiche action",
                "Indicateur",
                "Unité",
                f"Cible {year - 1}",
                f"Valeur {year - 1}",
                f"Cible {year}",
                f"Valeur {year}",
                f"Réalisation {year}",
            ],
            indicators,
            note="Réalisation : valeur rapportée à la cible (100 % : cible atteinte).",
        )
    )
    section.figures = {
        "actions": len(actions),
        "by_status": by_status,
        "indicators": len(indicators),
        "measured": measured,
        "reached": reached,
    }
    _add_evaluations(section, actions, evaluation_year or year)
    return section


def _add_evaluations(section: Section, actions: Sequence[Mapping[str, Any]], year: int) -> None:
    """The year's evaluations (what was done, results, what comes next) and the budget per
    financer and per axis (#22)."""
    evaluated = [(a, e) for a in actions if (e := evaluation_of(a, year)) is not None]
    decisions: dict[str, int] = {}
    for _action, evaluation in evaluated:
        if evaluation["decision"]:
            decisions[evaluation["decision"]] = decisions.get(evaluation["decision"], 0) + 1
    totals = budget_totals(actions, year)
    section.figures["evaluated"] = len(evaluated)
    section.figures["evaluation_decisions"] = decisions
    section.figures["budget"] = {
        "planned": totals["planned"],
        "spent": totals["spent"],
        "by_financer": totals["by_financer"],
    }
    if not evaluated:
        section.paragraphs.append(
            f"Aucune fiche action n'est évaluée pour {year} : l'évaluation annuelle se saisit "
            "sur la page de chaque fiche action."
        )
        return
    next_steps = ", ".join(
        f"{number(count)} à {EVALUATION_DECISIONS[code].lower()}"
        for code in EVALUATION_DECISIONS
        if (count := decisions.get(code))
    )
    sentence = (
        f"{plural(len(evaluated), 'fiche action évaluée', 'fiches action évaluées')} "
        f"sur {number(len(actions))} pour {year}"
    )
    section.paragraphs.append(sentence + (f" : {next_steps}." if next_steps else "."))
    if totals["by_financer"]:
        section.paragraphs.append(
            f"Budget {year} : {euros(totals['planned'])} prévus, {euros(totals['spent'])} "
            f"dépensés ; {_financer_shares(totals)}."
        )
    section.sheets.append(
        Sheet(
            "Évaluation",
            f"Évaluation {year} des fiches action",
            ["Fiche action", "Réalisé", "Résultats", "Partenaires mobilisés", "Suite décidée"],
            [
                [
                    action["title"],
                    evaluation["done"] or "—",
                    evaluation["results"] or "—",
                    evaluation["partners"] or "—",
                    EVALUATION_DECISIONS.get(evaluation["decision"] or "", "—"),
                ]
                for action, evaluation in evaluated
            ],
        )
    )
    if totals["by_financer"]:
        section.sheets.append(
            Sheet(
                "Budget par financeur",
                f"Budget {year} par financeur (en euros)",
                ["Financeur", "Prévu", "Dépensé"],
                [
                    [FINANCERS[code], round(planned, 2), round(spent, 2)]
                    for code, (planned, spent) in totals["by_financer"].items()
                ],
            )
        )
        section.sheets.append(
            Sheet(
                "Budget par axe",
                f"Budget {year} par axe de la CTG (en euros)",
                ["Axe", "Prévu", "Dépensé"],
                [
                    [axis, round(planned, 2), round(spent, 2)]
                    for axis, (planned, spent) in totals["by_axis"].items()
                ],
            )
        )


def _financer_shares(totals: dict[str, Any]) -> str:
    """« Caf 60 %, Commune 40 % » of the planned amount."""
    planned = totals["planned"]
    return ", ".join(
        f"{FINANCERS[code]} {percent(pair[0] / planned) if planned else '—'}"
        for code, pair in totals["by_financer"].items()
    )


def _reached_clause(reached: int, measured: int) -> str:
    """« , dont 2 atteignant ou dépassant leur cible. », « , aucun n'atteignant sa cible. »"""
    if not measured:
        return "."
    if not reached:
        return ", aucun n'atteignant sa cible." if measured > 1 else ", qui n'atteint pas sa cible."
    if reached == measured:
        return (
            ", tous atteignant ou dépassant leur cible."
            if measured > 1
            else ", qui atteint sa cible."
        )
    return (
        f", dont {number(reached)} atteignant ou dépassant {'leur' if reached > 1 else 'sa'} cible."
    )


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# ----- governance -----------------------------------------------------------------------------


def governance_section(
    rows: ReportRows, year: int, current: GovernanceYear, previous: GovernanceYear
) -> Section:
    section = Section("gouvernance", "L'année de la gouvernance")
    newcomers = new_partners(rows, year, current.mobilised)
    first_time = current.mobilised - previous.mobilised
    section.paragraphs += [
        f"En {year}, {plural(current.held, 'réunion')} tenue{'s' if current.held > 1 else ''} "
        f"({number(previous.held)} en {year - 1}) et "
        f"{plural(current.cancelled, 'réunion annulée', 'réunions annulées')}, "
        f"dans {plural(sum(1 for b in current.bodies if b.held), 'instance')}.",
        f"Taux de présence : {percent(current.rate)} des invitations dont la présence est "
        f"saisie ({percent(previous.rate)} en {year - 1}).",
        f"{plural(len(current.mobilised), 'organisation mobilisée', 'organisations mobilisées')} "
        f"(présentes au moins une fois), contre {number(len(previous.mobilised))} en {year - 1}, "
        f"dont {number(len(first_time))} absente{'s' if len(first_time) > 1 else ''} "
        f"des réunions de {year - 1}.",
        f"{plural(len(newcomers), 'nouveau partenaire', 'nouveaux partenaires')} "
        f"enregistré{'s' if len(newcomers) > 1 else ''} en {year}.",
        _inhabitants_sentence(current, previous),
        _consultations_sentence(rows, year),
        _decisions_sentence(rows, year),
    ]
    section.sheets += [
        _bodies_sheet(current, previous),
        _axes_sheet(current, previous),
        _meetings_sheet(current),
        _mobilised_sheet(rows, current, previous),
        _new_partners_sheet(rows, newcomers),
        _public_sheet(current),
        _consultations_sheet(rows, year),
    ]
    section.figures = {
        str(y.year): {
            "held": y.held,
            "cancelled": y.cancelled,
            "attendance_rate": y.rate,
            "present": y.present,
            "recorded": y.recorded,
            "organisations_mobilised": len(y.mobilised),
            "public_meetings": len(y.public_meetings),
            "inhabitants": y.inhabitants,
        }
        for y in (previous, current)
    }
    section.figures["new_partners"] = len(newcomers)
    section.figures["decisions"] = decision_counts(rows, year)
    section.figures["consultations"] = {
        "held": len(_consultations_of(rows, year)),
        "respondents": sum(c["respondents"] for c in _consultations_of(rows, year)),
    }
    section.figures["attendance_by_body"] = [
        {"body": b.name, "rate": b.rate, "previous_rate": _rate_of(previous, b.group)}
        for b in current.bodies
        if b.held
    ]
    return section


def decision_counts(rows: ReportRows, year: int) -> dict[str, int]:
    """Decisions taken during the year by the report's bodies, carried out, still late at its
    end (#22)."""
    taken = [d for d in rows.decisions if d["taken_on"].year == year]
    end = dt.date(year, 12, 31)
    done = [d for d in taken if d["status"] == DECISION_DONE]
    late = [
        d
        for d in taken
        if d["status"] in OPEN_DECISION_STATUSES and d["due_on"] is not None and d["due_on"] < end
    ]
    return {"taken": len(taken), "done": len(done), "late": len(late)}


def _decisions_sentence(rows: ReportRows, year: int) -> str:
    counts = decision_counts(rows, year)
    if not counts["taken"]:
        return f"Aucune décision des instances enregistrée en {year}."
    taken = plural(counts["taken"], "décision prise", "décisions prises")
    done = plural(counts["done"], "faite", "faites")
    late = plural(counts["late"], "en retard", "en retard")
    return f"Suivi des décisions : {taken} par les instances en {year}, dont {done} et {late}."


def _inhabitants_sentence(current: GovernanceYear, previous: GovernanceYear) -> str:
    if not current.public_meetings:
        return f"Aucune réunion publique avec les habitants en {current.year}."
    return (
        f"Participation des habitants : "
        f"{plural(len(current.public_meetings), 'réunion publique', 'réunions publiques')}, "
        f"{plural(current.inhabitants, 'participant')} au total "
        f"({number(previous.inhabitants)} en {previous.year})."
    )


def _consultations_of(rows: ReportRows, year: int) -> list[ConsultationRow]:
    return [c for c in rows.consultations if c["meeting"]["year"] == year]


def _consultations_sentence(rows: ReportRows, year: int) -> str:
    held = _consultations_of(rows, year)
    if not held:
        return f"Aucune consultation en ligne des habitants en {year}."
    people = sum(c["respondents"] for c in held)
    answered = (
        plural(people, "personne a répondu", "personnes ont répondu")
        if people
        else "personne n'a répondu"
    )
    return (
        f"Consultation des habitants : {plural(len(held), 'consultation')} en ligne, "
        f"{answered} (réponses anonymes ; synthèse par question dans le tableau « Consultations »)."
    )


def consultation_summary(question: dict[str, Any]) -> str:
    """One question's answers in a sentence: counts with shares, a mean, or a number of texts."""
    answered = question["answers"]
    if not answered:
        return "aucune réponse"
    if question["kind"] == "texte":
        return plural(answered, "réponse libre", "réponses libres")
    parts = [
        f"{option} : {number(count)} ({percent(count / answered)})"
        for option, count in question["counts"]
    ]
    if question["kind"] == "echelle":
        mean = f"{question['mean']:.1f}".replace(".", ",")
        return f"moyenne {mean} sur 5 ; " + ", ".join(parts)
    return ", ".join(parts)


def _consultations_sheet(rows: ReportRows, year: int) -> Sheet:
    return Sheet(
        "Consultations",
        "Consultations des habitants : synthèse par question",
        ["Date", "Réunion", "Question", "Réponses", "Synthèse"],
        [
            [
                short_date(c["meeting"]["starts_at"].date()),
                c["meeting"]["title"],
                q["label"],
                q["answers"],
                consultation_summary(q),
            ]
            for c in _consultations_of(rows, year)
            for q in c["questions"]
        ],
    )


def _rate_of(year: GovernanceYear, group: int) -> float | None:
    return next((b.rate for b in year.bodies if b.group == group), None)


def _bodies_sheet(current: GovernanceYear, previous: GovernanceYear) -> Sheet:
    held_before = {b.group: b.held for b in previous.bodies}
    rows = [
        [
            b.name,
            GROUP_KINDS.get(b.kind, b.kind),
            b.held,
            b.cancelled,
            held_before.get(b.group, 0),
            b.invited,
            b.present,
            b.absent,
            b.excused,
            b.unknown,
            _ratio(b.rate),
            _ratio(_rate_of(previous, b.group)),
        ]
        for b in current.bodies
    ]
    y = current.year
    return Sheet(
        "Instances",
        "Réunions et présence par instance",
        [
            "Instance",
            "Type",
            f"Tenues {y}",
            f"Annulées {y}",
            f"Tenues {y - 1}",
            "Invitations",
            "Présents",
            "Absents",
            "Excusés",
            "Non saisis",
            f"Taux de présence {y}",
            f"Taux de présence {y - 1}",
        ],
        rows,
        note="Taux de présence : présents / (présents + absents + excusés), réunions tenues.",
    )


def _axes_sheet(current: GovernanceYear, previous: GovernanceYear) -> Sheet:
    before = {a["axis"]: a["held"] for a in previous.by_axis}
    names = [a["axis"] for a in current.by_axis] + [
        a["axis"] for a in previous.by_axis if a["axis"] not in {x["axis"] for x in current.by_axis}
    ]
    now = {a["axis"]: a for a in current.by_axis}
    rows = [
        [
            name,
            now.get(name, {}).get("held", 0),
            now.get(name, {}).get("cancelled", 0),
            before.get(name, 0),
        ]
        for name in names
    ]
    y = current.year
    return Sheet(
        "Axes",
        "Réunions par axe de la CTG",
        ["Axe", f"Tenues {y}", f"Annulées {y}", f"Tenues {y - 1}"],
        rows,
        note="Une réunion d'une instance rattachée à plusieurs axes compte pour chacun.",
    )


def _meetings_sheet(current: GovernanceYear) -> Sheet:
    rows = [
        [
            short_date(m["starts_at"].date()),
            m["body"],
            m["title"],
            MEETING_STATUSES.get(m["status"], m["status"]),
            "oui" if m["is_public"] else "non",
            m["invited"],
            m["present"],
            m["absent"],
            m["excused"],
            m["unknown"],
            m["attendance_count"] if m["is_public"] else None,
        ]
        for m in current.meeting_rows
    ]
    return Sheet(
        f"Réunions {current.year}",
        f"Toutes les réunions de {current.year}",
        [
            "Date",
            "Instance",
            "Titre",
            "Statut",
            "Publique",
            "Invitations",
            "Présents",
            "Absents",
            "Excusés",
            "Non saisis",
            "Habitants présents",
        ],
        rows,
        shown=False,
    )


def _mobilised_sheet(rows: ReportRows, current: GovernanceYear, previous: GovernanceYear) -> Sheet:
    counts: dict[int, int] = {}
    for presence in current.presence_rows:
        if presence["organisation"] is not None:
            counts[presence["organisation"]] = counts.get(presence["organisation"], 0) + 1
    table: list[list[Any]] = []
    for organisation_id in current.mobilised:
        organisation = rows.organisations[organisation_id]
        table.append(
            [
                organisation["name"],
                ORGANISATION_KINDS.get(organisation["kind"], organisation["kind"]),
                organisation["category"],
                counts[organisation_id],
                "oui" if organisation_id in previous.mobilised else "non",
            ]
        )
    table.sort(key=lambda r: (-r[3], r[0].lower()))
    return Sheet(
        "Organisations mobilisées",
        f"Organisations mobilisées en {current.year}",
        ["Organisation", "Type", "Catégorie", "Présences", f"Mobilisée en {current.year - 1}"],
        table,
        shown=False,
        note="Une présence : une personne présente à une réunion tenue, pour cette organisation.",
    )


def _new_partners_sheet(rows: ReportRows, newcomers: list[OrganisationRow]) -> Sheet:
    communes: dict[int | None, str] = {c["id"]: c["name"] for c in rows.scope.communes}
    return Sheet(
        "Nouveaux partenaires",
        "Nouveaux partenaires de l'année",
        ["Organisation", "Type", "Commune", "Enregistrée le"],
        [
            [
                o["name"],
                ORGANISATION_KINDS.get(o["kind"], o["kind"]),
                communes.get(o["commune"], "—"),
                short_date(o["created_at"].date()),
            ]
            for o in newcomers
        ],
    )


def _public_sheet(current: GovernanceYear) -> Sheet:
    return Sheet(
        "Habitants",
        "Réunions publiques et participation des habitants",
        ["Date", "Instance", "Réunion", "Participants"],
        [
            [short_date(m["starts_at"].date()), m["body"], m["title"], m["attendance_count"]]
            for m in current.public_meetings
        ],
    )


# ----- network --------------------------------------------------------------------------------

NETWORK_INDICATORS = [
    ("organisations", "Organisations dans le réseau", "count"),
    ("ties", "Liens entre organisations", "count"),
    ("density", "Densité", "ratio"),
    ("isolates", "Organisations isolées", "count"),
    ("largest_component_share", "Part dans la composante principale", "ratio"),
    ("communities", "Communautés (2 organisations ou plus)", "count"),
]


def network_section(rows: ReportRows, previous: NetworkYear, current: NetworkYear) -> Section:
    section = Section("reseau", "Le réseau partenarial")
    names = {i: o["name"] for i, o in rows.organisations.items()}
    y = current.year
    table = [
        [label, getattr(previous, key), getattr(current, key)]
        for key, label, _kind in NETWORK_INDICATORS
    ]
    for row in table:
        row[1:] = [_ratio(v) if isinstance(v, float) else v for v in row[1:]]
    section.sheets.append(
        Sheet(
            "Réseau",
            f"Indicateurs du réseau, {y - 1} et {y}",
            ["Indicateur", str(y - 1), str(y)],
            table,
            note="Analyse du réseau de maillage : deux organisations sont liées quand leurs "
            "personnes siègent dans une même instance, ont assisté ensemble à une réunion tenue, "
            "quand un partenariat les lie ou qu'une personne appartient aux deux, sur l'année.",
        )
    )
    if current.organisations == 0:
        section.paragraphs.append(current.empty_reason or f"Le réseau de {y} est vide.")
    else:
        section.paragraphs.append(
            f"En {y}, le réseau réunit {plural(current.organisations, 'organisation')} "
            f"({number(previous.organisations)} en {y - 1}) reliées par "
            f"{plural(current.ties, 'lien')} ; densité {number(current.density, 3)}, "
            f"{plural(current.isolates, 'organisation isolée', 'organisations isolées')}, "
            f"{percent(current.largest_component_share)} des organisations dans la "
            f"composante principale."
        )
    moved = movements(previous, current)
    to_core = sorted((names.get(i, f"n° {i}") for i in moved["to_core"]), key=fold)
    drifted = sorted((names.get(i, f"n° {i}") for i in moved["drifted"]), key=fold)
    section.paragraphs.append(
        f"Passés de la périphérie au cœur du réseau : {_names(to_core)}. "
        f"Éloignés du cœur : {_names(drifted)}."
    )
    section.sheets.append(
        Sheet(
            "Mouvements",
            f"Mouvements entre {y - 1} et {y}",
            ["Organisation", "Mouvement"],
            [[n, "de la périphérie au cœur"] for n in to_core]
            + [[n, "éloignée du cœur"] for n in drifted],
            shown=False,
            note="Cœur : le noyau le plus dense du réseau (k-cœur maximal).",
        )
    )
    section.sheets.append(_under_connected_sheet(rows, current, names))
    section.figures = {
        str(n.year): {key: getattr(n, key) for key, _label, _kind in NETWORK_INDICATORS}
        for n in (previous, current)
    }
    section.figures["to_core"] = to_core
    section.figures["drifted"] = drifted
    section.figures["under_connected"] = len(current.under_connected)
    return section


def _names(names: list[str]) -> str:
    if not names:
        return "aucun"
    shown = ", ".join(names[:LISTED])
    return shown + (f" et {number(len(names) - LISTED)} autres" if len(names) > LISTED else "")


def _under_connected_sheet(rows: ReportRows, current: NetworkYear, names: dict[int, str]) -> Sheet:
    done: dict[int, list[InteractionRow]] = {}
    for interaction in rows.interactions:
        done.setdefault(interaction["organisation"], []).append(interaction)
    table = []
    for item in current.under_connected:
        exchanges = done.get(item["id"], [])
        if exchanges:
            last = exchanges[-1]
            kind = last["interaction.kind"]
            action = (
                f"{plural(len(exchanges), 'échange')} ; dernier : "
                f"{in_sentence(INTERACTION_KINDS.get(kind, kind))} "
                f"le {short_date(last['interaction.occurred_on'])}"
            )
            if last["interaction.summary"]:
                action += f" ({last['interaction.summary'][:120]})"
        else:
            action = "aucun échange enregistré dans l'année"
        table.append(
            [names.get(item["id"], f"n° {item['id']}"), "; ".join(item["reasons"]), action]
        )
    return Sheet(
        "Partenaires peu reliés",
        f"Partenaires peu reliés fin {current.year} et ce qui a été fait",
        ["Organisation", "Constat", "Ce qui a été fait"],
        table,
    )


# ----- coverage -------------------------------------------------------------------------------


def coverage_section(rows: ReportRows, year: int) -> Section:
    section = Section("couverture", "La couverture territoriale")
    if not rows.scope.communes:
        section.paragraphs.append(
            f"Le territoire « {rows.scope.name} » n'a aucune commune rattachée : la couverture "
            "territoriale ne peut pas être établie."
        )
        section.figures = {"communes": 0, "gaps": 0}
        return section
    _, end = year_bounds(year)
    coverage = coverage_matrix(rows.scope, rows.axes, list(rows.organisations.values()), as_of=end)
    gaps = coverage.gaps()
    population = sum(c.population or 0 for c in coverage.communes)
    section.paragraphs.append(
        f"{plural(len(coverage.communes), 'commune')} ({plural(population, 'habitant')}) ; "
        f"{plural(len(gaps), 'zone blanche', 'zones blanches')} (une commune sans aucun "
        f"partenaire sur un axe), fin {year}."
    )
    columns, matrix = coverage.matrix_rows()
    section.sheets.append(
        Sheet(
            "Couverture",
            "Partenaires par commune et par axe",
            columns,
            matrix,
            note="Nombre d'organisations implantées dans la commune et actives sur l'axe ; "
            "0 : zone blanche.",
        )
    )
    section.sheets.append(
        Sheet(
            "Couverture par axe",
            "Couverture par axe, pondérée par la population",
            [
                "Axe",
                "Partenaires",
                "Communes couvertes",
                "Communes",
                "Population couverte",
                "Population en zone blanche",
                "Part de la population couverte",
            ],
            [
                [
                    a.name,
                    a.partners,
                    a.communes_covered,
                    a.communes_total,
                    a.population_covered,
                    a.population_uncovered,
                    _ratio(a.population_share),
                ]
                for a in coverage.by_axis()
            ],
        )
    )
    section.figures = {
        "communes": len(coverage.communes),
        "population": population,
        "gaps": len(gaps),
    }
    return section
