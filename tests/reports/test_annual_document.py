"""The bilan as a DOCX: it opens, holds every section and the figures the database gives."""

from __future__ import annotations

import datetime as dt

import pytest
from docx import Document

from maillage.french import percent
from maillage.reports import charts
from maillage.reports.annual import build_annual_report
from maillage.reports.files import write_annual
from maillage.tables import Axis, Commune, WorkingGroup
from tests.reports.world import TODAY, attendance, docx_text, held_meetings, mobilised

SECTIONS = [
    "Points d'attention avant envoi",
    "1. Le plan d'action de la CTG",
    "2. L'année de la gouvernance",
    "3. Le réseau partenarial",
    "4. La couverture territoriale",
]


async def test_it_writes_three_files_that_open(world, tmp_path):
    report = await build_annual_report(2026, None, TODAY)
    paths = write_annual(report, tmp_path)
    assert [p.name for p in paths] == ["bilan-2026.docx", "bilan-2026.xlsx", "bilan-2026.html"]
    document = Document(paths[0])
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for section in SECTIONS:
        assert section in headings
    assert len(document.inline_shapes) == 3  # attendance, network, coverage charts
    assert (
        document.core_properties.title == "Bilan annuel 2026 de la Convention territoriale globale"
    )


async def test_the_document_states_the_figures_of_the_database(world, tmp_path):
    report = await build_annual_report(2026, None, TODAY)
    text = docx_text(write_annual(report, tmp_path)[0])

    held = await held_meetings(2026)
    held_before = await held_meetings(2025)
    assert f"En 2026, {len(held)} réunions tenues ({len(held_before)} en 2025)" in text
    invitations = await attendance(2026)
    recorded = [i for i in invitations if i["attendance"] in ("present", "absent", "excuse")]
    present = [i for i in recorded if i["attendance"] == "present"]
    rate = percent(len(present) / len(recorded)).replace("\u202f", " ").replace("\xa0", " ")
    assert f"Taux de présence : {rate} des invitations" in text
    organisations = await mobilised(2026)
    assert f"{len(organisations)} organisations mobilisées" in text
    inhabitants = sum(m["attendance_count"] or 0 for m in held if m["is_public"])
    assert f"{inhabitants} participants au total" in text


async def test_it_reads_the_ctg_year_and_the_deadline(world):
    report = await build_annual_report(2026, None, TODAY)
    assert "CTG 2025–2028 : 2026 en est la 2e année sur 4." in report.context
    assert (
        "À transmettre à la Caf au plus tard le dimanche 31 janvier 2027 (19 jours restants)."
        in report.context
    )


async def test_a_report_of_the_current_year_says_it_is_provisional(world):
    import datetime as dt

    report = await build_annual_report(2026, None, dt.date(2026, 12, 8))
    assert any(
        line.startswith("Bilan provisoire") and "mardi 8 décembre 2026" in line
        for line in report.context
    )


async def test_the_action_plan_shows_indicators_against_targets(world):
    report = await build_annual_report(2026, None, TODAY)
    sheet = next(s for s in report.section("plan_action").sheets if s.key == "Indicateurs")
    families = next(r for r in sheet.rows if r[1] == "Familles accompagnées")
    assert families[3:8] == [40, 32, 60, 66, 1.1]
    assert report.section("plan_action").figures["reached"] == 1


@pytest.mark.slow
async def test_the_html_page_is_standalone_and_escapes(world, tmp_path):
    from maillage.tables import Organisation

    await (
        Organisation.update({Organisation.name: "<script>alert(1)</script>"})
        .where(Organisation.id == world.organisations["club"])
        .run()
    )
    report = await build_annual_report(2026, None, TODAY)
    html = write_annual(report, tmp_path)[2].read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") == 3


async def test_names_with_dollar_signs_are_drawn_as_typed(world, tmp_path):
    """matplotlib read « $\\foo$ » as a formula and the whole bilan failed (a 500 for all)."""
    await WorkingGroup.update({WorkingGroup.name: "Commission $\\foo$"}).where(
        WorkingGroup.id == (await WorkingGroup.select(WorkingGroup.id).first())["id"]
    )
    await Commune.update({Commune.name: "$\\bar$ sur Mer"}).where(Commune.name == "Ardoise")
    await Axis.update({Axis.name: "Axe $x^$"}).where(Axis.name == "Logement")
    report = await build_annual_report(2026, None, TODAY)
    paths = write_annual(report, tmp_path)
    assert len(Document(paths[0]).inline_shapes) == 3


def test_each_chart_draws_dollar_signs_as_text():
    png = b"\x89PNG"
    assert charts.attendance_chart([("Commission $\\foo$", 0.5, 0.4, 2)], 2026).startswith(png)
    assert charts.network_chart([("Part $\\foo$", 0.1, 0.2)], 2026).startswith(png)
    assert charts.coverage_chart(["$\\foo$"], [("$\\bar$", [0])]).startswith(png)


@pytest.mark.slow
async def test_the_governance_counts_the_bodies_decisions(world):
    """Decisions taken in the year, done, and still late at its end (#22)."""
    from maillage.actor import CLI
    from maillage.crm.registry import SERVICES
    from maillage.tables import Meeting

    meeting = await Meeting.select(Meeting.id, Meeting.starts_at).order_by(Meeting.id).first()
    decisions = SERVICES["decisions"]
    year = meeting["starts_at"].year
    for summary, status, due in (
        ("Faire le point", "faite", None),
        ("Relancer la PMI", "a_faire", dt.date(year, 12, 1)),
        ("Écrire au maire", "en_cours", None),
    ):
        await decisions.create(
            CLI,
            decisions.spec.input(summary=summary, meeting=meeting["id"], status=status, due_on=due),
        )
    report = await build_annual_report(year, None, TODAY)
    section = next(s for s in report.sections if s.key == "gouvernance")
    assert section.figures["decisions"] == {"taken": 3, "done": 1, "late": 1}
    assert (
        f"Suivi des décisions : 3 décisions prises par les instances en {year}, dont 1 faite "
        "et 1 en retard." in section.paragraphs
    )


@pytest.mark.slow
async def test_the_governance_summarises_the_inhabitants_consultations(world):
    """A public meeting's consultation: how many answered, and each question in a line (#22)."""
    from maillage.actor import CLI, Actor
    from maillage.crm import consultations
    from maillage.tables import Meeting

    meeting = await (
        Meeting.select(Meeting.id, Meeting.starts_at)
        .where(Meeting.is_public == True)  # noqa: E712 - Piccolo's column comparison
        .order_by(Meeting.id)
        .first()
    )
    await Meeting.update({Meeting.consultation_open: True}).where(Meeting.id == meeting["id"])
    year = meeting["starts_at"].year
    choice = await consultations.add_question(CLI, meeting["id"], "choix", "Garde ?", ["A", "B"])
    scale = await consultations.add_question(CLI, meeting["id"], "echelle", "Satisfaction", [])
    free = await consultations.add_question(CLI, meeting["id"], "texte", "Idées", [])
    public = Actor(name="page-participer", role="lecteur")
    for answers in (
        {choice["id"]: "A", scale["id"]: "4", free["id"]: "Un relais"},
        {choice["id"]: "A", scale["id"]: "2"},
        {choice["id"]: "B"},
    ):
        await consultations.answer(meeting["id"], answers, public)
    report = await build_annual_report(year, None, TODAY)
    section = next(s for s in report.sections if s.key == "gouvernance")
    assert section.figures["consultations"] == {"held": 1, "respondents": 3}
    assert any(
        p.startswith("Consultation des habitants : 1 consultation en ligne, 3 personnes ont")
        for p in section.paragraphs
    )
    sheet = next(s for s in section.sheets if s.key == "Consultations")
    assert [row[2:] for row in sheet.rows] == [
        ["Garde ?", 3, "A : 2 (67 %), B : 1 (33 %)"],
        [
            "Satisfaction",
            2,
            "moyenne 3,0 sur 5 ; 1 : 0 (0 %), 2 : 1 (50 %), 3 : 0 (0 %), 4 : 1 (50 %), 5 : 0 (0 %)",
        ],
        ["Idées", 1, "1 réponse libre"],
    ]


async def test_the_bilan_summarises_the_consultations_per_theme(world):
    """A consultation on a theme is summarised beside the meetings' ones (#22)."""
    import datetime as dt

    from maillage.actor import CLI, Actor
    from maillage.crm import consultations
    from maillage.tables import Axis

    axis = (await Axis.select(Axis.id).order_by(Axis.id).first())["id"]
    theme = await consultations.create_theme(CLI, axis, "Les écrans")
    question = await consultations.add_question_to(
        CLI, ("consultation", theme["id"]), "choix", "Combien d'heures ?", ["Une", "Deux"]
    )
    await consultations.set_theme_open(CLI, theme["id"], True)
    public = Actor(name="page-participer", role="lecteur")
    await consultations.answer_theme(theme["id"], {question["id"]: "Deux"}, public)
    year = dt.datetime.now(dt.UTC).year
    report = await build_annual_report(year, None, TODAY)
    section = next(s for s in report.sections if s.key == "gouvernance")
    assert section.figures["consultations"]["respondents"] >= 1
    sheet = next(s for s in section.sheets if s.key == "Consultations")
    [row] = [r for r in sheet.rows if r[2] == "Combien d'heures ?"]
    assert row[1].startswith("Consultation « Les écrans » (")
    assert row[3:] == [1, "Une : 0 (0 %), Deux : 1 (100 %)"]
