"""``maillage consultation`` (#22): create a theme's consultation, add and move questions,
open it, read the summary and export the answers, in French."""

from __future__ import annotations

from maillage.crm import consultations
from maillage.tables import Axis
from tests.crm.test_consultations import PUBLIC
from tests.support import run_command


async def test_the_command_runs_a_theme_consultation(settings, database, monkeypatch, tmp_path):
    axis = (await Axis.select(Axis.id).order_by(Axis.id).first())["id"]
    created = await run_command(
        settings, monkeypatch, "consultation", "create", "--axe", str(axis), "--titre", "Jeunesse"
    )
    assert created.exit_code == 0, created.output
    theme = (await consultations.themes())[0]["id"]
    assert f"theme:{theme}" in created.output
    for args in (
        ["--type", "choix", "--libelle", "Quel lieu ?", "--choix", "Mairie", "--choix", "École"],
        ["--type", "echelle", "--libelle", "Satisfait ?"],
    ):
        done = await run_command(
            settings, monkeypatch, "consultation", "question", f"theme:{theme}", *args
        )
        assert done.exit_code == 0, done.output
    second = (await consultations.questions_of(("consultation", theme)))[1]["id"]
    assert (
        await run_command(settings, monkeypatch, "consultation", "move", str(second))
    ).exit_code == 0
    opened = await run_command(settings, monkeypatch, "consultation", "open", str(theme))
    assert f"/consulter/{theme}" in opened.output
    asked = await consultations.questions_of(("consultation", theme))
    assert [q["label"] for q in asked] == ["Satisfait ?", "Quel lieu ?"]
    await consultations.answer_theme(theme, {asked[0]["id"]: "4", asked[1]["id"]: "École"}, PUBLIC)
    listed = await run_command(settings, monkeypatch, "consultation", "list")
    assert "Jeunesse\touverte\t2 questions\t1 répondant" in listed.output
    results = await run_command(settings, monkeypatch, "consultation", "results", f"theme:{theme}")
    assert "1 répondant." in results.output and "  École : 1" in results.output
    out = tmp_path / "reponses.csv"
    exported = await run_command(
        settings, monkeypatch, "consultation", "export", f"theme:{theme}", "--sortie", str(out)
    )
    assert exported.exit_code == 0
    assert out.read_text(encoding="utf-8-sig").splitlines() == [
        "Satisfait ?;Quel lieu ?",
        "4;École",
    ]
    wrong = await run_command(settings, monkeypatch, "consultation", "results", "sondage:1")
    assert wrong.exit_code == 1 and "reunion:N" in wrong.output
    helped = await run_command(settings, monkeypatch, "consultation", "--help")
    assert "Consultations des habitants" in helped.output
