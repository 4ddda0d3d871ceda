"""Partnerships (DSP contracts among them), the coordinator's log of exchanges, and the CTG's
fiches action with their indicators for years N-1 and N."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from maillage import french
from maillage.crm.demo.governance import Governance
from maillage.crm.demo.people import Org
from maillage.crm.demo.registry import Registry
from maillage.crm.demo.territory import World
from maillage.tables import (
    Action,
    ActionPartner,
    Interaction,
    InteractionContact,
    InteractionOrganisation,
    Partnership,
    PartnershipAxis,
)

# Ends of the DSP contracts, in days from today: two within six months, one renewed last year.
DSP_ENDS = (75, 140, 430, 900, 1300, -240)
SUMMARIES = {
    "appel": (
        "Point téléphonique sur {sujet}.",
        "Appel pour préparer la prochaine réunion : {sujet}.",
    ),
    "visite": ("Visite de la structure ; échange sur {sujet}.",),
    "rendez_vous": ("Rendez-vous de travail : {sujet}.", "Entretien annuel de partenariat."),
    "courriel": ("Envoi des documents sur {sujet}.", "Relance par courriel : {sujet}."),
    "evenement": ("Rencontre au forum des associations ; intérêt pour {sujet}.",),
}
SUBJECTS = (
    "le diagnostic de territoire", "les horaires d'accueil du mercredi", "la semaine de la parentalité",
    "le bilan annuel de la CTG", "les besoins de places en crèche", "l'accompagnement numérique",
    "le renouvellement de la convention", "la prévention des expulsions", "les projets jeunesse de l'été",
)  # fmt: skip


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class Activity:
    def __init__(self, reg: Registry, world: World, governance: Governance, main: bool) -> None:
        self.reg, self.world, self.gov, self.main = reg, world, governance, main
        self.ds, self.rng, self.today = reg.ds, reg.rng, reg.today

    def build(self) -> None:
        self._partnerships()
        self._interactions()
        self._actions()

    def partnership(
        self, org: Org, partner: Org, kind: str, description: str, start: dt.date,
        end: dt.date | None, axes: tuple[str, ...] = (), **extra: Any,
    ) -> int:  # fmt: skip
        partnership_id = self.ds.add(
            Partnership, min(start, self.today), organisation=org.id, partner=partner.id,
            kind=kind, description=description, start_date=start, end_date=end, **extra,
        )  # fmt: skip
        for code in axes:
            self.ds.link(PartnershipAxis, partnership=partnership_id, axis=self.reg.axis_ids[code])
        return partnership_id

    def _partnerships(self) -> None:
        w, o = self.world, self.world.orgs
        caf = next(p.org for p in self.reg.cast.tagged("caf_ct"))
        cd = o["cdas"]
        self.partnership(caf, o["epci"], "convention", "Convention territoriale globale",
                         w.ctg_start, w.ctg_end, ("petite_enfance", "enfance", "jeunesse", "parentalite"))  # fmt: skip
        for key in ("cs", "cs_sud", "evs"):
            start = dt.date(self.today.year - 2, 1, 1)
            self.partnership(caf, o[key], "convention", "Agrément et prestation de service animation globale",
                             start, dt.date(start.year + 3, 12, 31), ("animation_vie_sociale",))  # fmt: skip
        self.partnership(o["epci"], o["cs"], "cofinancement", "Convention d'objectifs et de moyens",
                         w.ctg_start, w.ctg_end, ("animation_vie_sociale", "jeunesse"))  # fmt: skip
        self.partnership(o["epci"], o["ml"], "partenariat", "Permanences de la mission locale",
                         w.ctg_start, None, ("jeunesse",))  # fmt: skip
        self.partnership(caf, o["fs"], "partenariat", "Rendez-vous des droits en France Services",
                         w.ctg_start, None, ("acces_aux_droits",))  # fmt: skip
        self.partnership(cd, o["epci"], "cofinancement", "Consultations de PMI dans les locaux intercommunaux",
                         w.ctg_start, w.ctg_end, ("petite_enfance",))  # fmt: skip
        ccas = [org for key, org in o.items() if key.startswith("ccas:")]
        landlord = next(
            p.org for p in self.reg.cast.tagged("logement") if p.org.category == "Bailleur social"
        )
        if ccas:
            self.partnership(landlord, ccas[0], "partenariat", "Charte de prévention des expulsions",
                             self.today - dt.timedelta(days=300), None, ("logement",))  # fmt: skip
        self._dsp()

    def _dsp(self) -> None:
        w = self.world
        prefix = "DSP" if self.main else f"DSP-{w.territory_id:02d}"
        for number, ((facility, operator, authority), offset) in enumerate(
            zip(w.delegated, DSP_ENDS, strict=False), start=1
        ):
            end = _month_end(self.today + dt.timedelta(days=offset))
            start = _month_end(dt.date(end.year - 5, end.month, 1)) + dt.timedelta(days=1)
            axes = facility.axes
            label = f"Délégation de service public : gestion de « {facility.name} »"
            self.partnership(authority, operator, "delegation_dsp", label, start, end, axes,
                             contract_reference=f"{prefix}-{start.year}-{number:02d}",
                             delegated_service=facility.id)  # fmt: skip
            if offset < 0:  # renewed with the same operator after a new call for tenders
                renewed = end + dt.timedelta(days=1)
                self.partnership(authority, operator, "delegation_dsp", label + " (renouvellement)",
                                 renewed, dt.date(renewed.year + 5, renewed.month, 1) - dt.timedelta(days=1),
                                 axes, contract_reference=f"{prefix}-{renewed.year}-{number:02d}",
                                 delegated_service=facility.id)  # fmt: skip

    def _interactions(self) -> None:
        people = [
            p for p in self.reg.cast.people if not p.org.isolated and "habitant" not in p.tags
        ]
        central = [p for p in people if p.presence >= 0.8]
        start = self.today - dt.timedelta(days=700)
        count = 40 + 2 * len(self.world.places)
        for index in range(count):
            recent = index >= count - 4  # the last few carry a follow-up due soon
            person = self.rng.choice(central if self.rng.random() < 0.4 else people)
            day = (self.today - dt.timedelta(days=self.rng.randint(2, 20)) if recent
                   else self.reg.day_between(start, self.today))  # fmt: skip
            follow = None
            if recent or self.rng.random() < 0.35:
                follow = day + dt.timedelta(days=self.rng.randint(7, 45) if not recent else 25)
            kind = self.rng.choice(tuple(SUMMARIES))
            summary = self.rng.choice(SUMMARIES[kind]).format(sujet=self.rng.choice(SUBJECTS))
            interaction_id = self.ds.add(
                Interaction, day, occurred_on=day, kind=kind,
                summary=f"{summary} Interlocuteur : {person.name} ({person.org.name}).",
                follow_up_on=follow, territory=self.world.territory_id,
            )  # fmt: skip
            self.ds.link(
                InteractionOrganisation, interaction=interaction_id, organisation=person.org.id
            )
            self.ds.link(InteractionContact, interaction=interaction_id, contact=person.id)

    def _actions(self) -> None:
        o, b, year = self.world.orgs, self.gov.bodies, self.today.year
        n1, n = str(year - 1), str(year)
        caf = next(p.org for p in self.reg.cast.tagged("caf_ct"))
        creches = [f for f, _, _ in self.world.delegated if f.category == "EAJE"]
        plans = (
            ("Développer l'offre d'accueil du jeune enfant", "petite_enfance", o["epci"], b["pe"], "en_cours",
             [("Places en accueil collectif", "places", 120, 118, 130, 124),
              ("Taux d'occupation des multi-accueils", "%", 75, 72, 78, 74)], [caf, o["pmi"], *creches]),
            ("Renouveler les délégations de service public petite enfance", "petite_enfance", o["epci"],
             b["dsp"], "en_cours", [("Cahiers des charges validés", "documents", 1, 1, 3, 1)], [caf]),
            ("Harmoniser les accueils de loisirs du mercredi", "enfance", o["epci"], b["ej"], "en_cours",
             [("Communes couvertes le mercredi", "communes", 8, 7, 11, 9)], [caf, o["ien"]]),
            ("Structurer le réseau parentalité", "parentalite", o["cs"], b["par"], "realisee",
             [("Familles touchées", "familles", 250, 268, 300, 212),
              ("Actions labellisées", "actions", 6, 7, 8, 5)], [caf, o["laep"], o["pmi"]]),
            ("Aller vers les familles éloignées des droits", "acces_aux_droits", caf, b["aller_vers"],
             "en_cours", [("Rendez-vous des droits réalisés", "rendez-vous", 180, 151, 220, 96)], [o["fs"]]),
            ("Lutter contre la fracture numérique", "inclusion_numerique", o["fs"], b["droits"], "en_cours",
             [("Personnes accompagnées", "personnes", 400, 436, 450, 318)], [caf]),
            ("Prévenir les expulsions locatives", "logement", o["epci"], b["logement"], "a_lancer",
             [("Ménages accompagnés", "ménages", 0, 0, 40, 6)], [o["cdas"], o["logement_jeunes"]]),
            ("Créer un espace de vie sociale au nord du territoire", "animation_vie_sociale", o["evs"],
             b["avs"], "realisee", [("Habitants impliqués", "personnes", 30, 41, 45, 38)], [caf]),
        )  # fmt: skip
        for index, (title, axis, pilot, body, status, indicators, partners) in enumerate(plans):
            start = self.world.ctg_start + dt.timedelta(days=self.rng.randrange(0, 400))
            end = self.world.ctg_end if status != "realisee" else self.today - dt.timedelta(days=60)
            action_id = self.ds.add(
                Action, start, title=title, axis=self.reg.axis_ids[axis],
                objective=f"Objectif prioritaire de la CTG : {title[0].lower()}{title[1:]}.",
                pilot=pilot.id, working_group=body.id, status=status, start_date=start, end_date=end,
                territory=self.world.territory_id,
                indicators=[
                    {"name": name, "unit": unit, "targets": {n1: float(t1), n: float(t2)},
                     "values": {n1: float(v1), n: float(v2)}}
                    for name, unit, t1, v1, t2, v2 in indicators
                ],
                evaluations=[_evaluation(year - 1, indicators, partners, index)],
            )  # fmt: skip
            for partner_id in dict.fromkeys(p.id for p in partners if p is not pilot):
                self.ds.link(ActionPartner, action=action_id, organisation=partner_id)


# Budget lines of the demo's evaluations (planned, spent), drawn from no random stream so that
# the rest of the demo is unchanged: one plan in three also has a commune's share.
_DEMO_BUDGETS = ((48_000, 45_500), (6_000, 6_000), (22_000, 19_800), (15_000, 16_200))


def _evaluation(
    year: int, indicators: list[tuple[Any, ...]], partners: list[Any], index: int
) -> dict[str, Any]:
    """Year N-1's evaluation of a demo fiche action, following its first indicator."""
    name, unit, target, value = indicators[0][:4]
    rate = value / target if target else None
    reached = rate is not None and rate >= 1
    planned, spent = _DEMO_BUDGETS[index % len(_DEMO_BUDGETS)]
    budget = [
        {"financer": "caf", "planned": float(planned), "spent": float(spent), "note": ""},
        {"financer": "epci", "planned": planned / 2, "spent": spent / 2, "note": ""},
    ]
    if index % 3 == 0:
        budget.append({"financer": "commune", "planned": 5_000.0, "spent": 4_200.0, "note": ""})
    results = (
        f"{name} : {french.number(value)} {unit} pour une cible de {french.number(target)}."
        if target
        else f"{name} : pas de cible fixée pour {year}."
    )
    return {
        "year": year,
        "done": "Actions menées selon le calendrier prévu en comité technique.",
        "results": results + (" Cible atteinte." if reached else " Cible non atteinte."),
        "partners": f"{len(partners)} partenaires associés à la fiche action.",
        "decision": "poursuivre" if reached or rate is None else "ajuster",
        "budget": budget,
    }
