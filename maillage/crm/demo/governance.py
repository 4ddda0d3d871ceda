"""Governance bodies of a territory: members with their roles, two years of meetings,
invitations with answers and attendance.

Attendance is drawn from each person's ``presence``, so the people the story makes central
(chargée de coopération, Caf adviser, childhood coordinator) come to nearly everything, élus of
small communes to little, and the CCAS manager invited to the « aller-vers » group never comes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from maillage.crm.demo.dataset import Dataset, stamp
from maillage.crm.demo.people import Org, Person, Place
from maillage.crm.demo.registry import Registry
from maillage.crm.demo.territory import World
from maillage.crm.demo.vocabulary import of
from maillage.tables import (
    ConsultationQuestion,
    Decision,
    GroupAxis,
    GroupCommune,
    Invitation,
    Meeting,
    Membership,
    WorkingGroup,
)

PARIS = ZoneInfo("Europe/Paris")
AXIS_BODY = {
    "petite_enfance": "pe", "enfance": "ej", "jeunesse": "ej", "parentalite": "par",
    "animation_vie_sociale": "avs", "acces_aux_droits": "droits", "inclusion_numerique": "droits",
}  # fmt: skip
# The questions of the public meeting still to come (the parents' café on screens, #22).
CONSULTATION = (
    (
        "choix",
        "Combien de temps vos enfants passent-ils devant un écran un jour d'école ?",
        ("Moins d'une heure", "Une à deux heures", "Plus de deux heures", "Je ne sais pas"),
    ),
    ("echelle", "Vous sentez-vous à l'aise pour fixer des règles sur les écrans à la maison ?", ()),
    ("texte", "Quelle question aimeriez-vous poser pendant le café-débat ?", ()),
)
HORIZON_DAYS = 120
HISTORY_DAYS = 730
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


# Bodies whose meetings take decisions, and what they decide (#22).
DECIDING_KINDS = ("copil", "cotech", "commission_thematique", "commission_territoriale")
DECISIONS = (
    "Présenter au prochain comité le bilan de fréquentation des accueils de loisirs.",
    "Envoyer aux partenaires le calendrier des réunions de l'année.",
    "Recenser les besoins de places en crèche par commune.",
    "Préparer la fiche action sur l'accès aux droits avec le centre social.",
    "Proposer une date pour la semaine de la parentalité.",
    "Mettre à jour la liste des élus référents enfance-jeunesse.",
    "Solliciter la PMI pour une intervention en commission.",
    "Chiffrer l'extension des horaires du relais petite enfance.",
    "Rédiger le compte rendu partagé et le diffuser sous quinze jours.",
    "Associer les bailleurs sociaux à la prochaine commission logement.",
)


@dataclass
class Seat:
    person: Person
    role: str
    org: Org
    start: dt.date
    end: dt.date | None
    presence: float
    membership_id: int = 0
    titulaire: Seat | None = None  # for a suppléant, whom they stand in for

    def active_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass
class Body:
    id: int
    name: str
    short: str
    kind: str
    start: dt.date
    cadence: int
    hour: tuple[int, int]
    duration: int  # minutes
    location: str
    seats: list[Seat] = field(default_factory=list)
    exact_past: int | None = None
    upcoming: bool = True


class Governance:
    def __init__(self, reg: Registry, world: World) -> None:
        self.reg, self.world, self.rng = reg, world, reg.rng
        self.ds: Dataset = reg.ds
        self.cast = reg.cast
        self.today = reg.today
        self.bodies: dict[str, Body] = {}
        # Invitations of held meetings, per contact: see _only_one_never_came.
        self.attended: dict[int, list[dict[str, Any]]] = {}

    # ----- bodies and seats ----------------------------------------------------------------

    def body(
        self, key: str, name: str, short: str, kind: str, axes: tuple[str, ...],
        start: dt.date, cadence: int, *, hour: tuple[int, int] = (9, 30), duration: int = 120,
        location: str = "",
        communes: Sequence[Place] = (), description: str = "",
    ) -> Body:  # fmt: skip
        location = location or f"Salle du conseil communautaire, {self.world.places[0].name}"
        rrule = f"FREQ=WEEKLY;INTERVAL={max(1, cadence // 7)}" if cadence <= 60 else None
        group_id = self.ds.add(
            WorkingGroup, start, name=name, kind=kind, territory=self.world.territory_id,
            description=description, default_location=location, rrule=rrule,
        )  # fmt: skip
        for code in axes:
            self.ds.link(GroupAxis, working_group=group_id, axis=self.reg.axis_ids[code])
        for place in communes:
            self.ds.link(GroupCommune, working_group=group_id, commune=place.id)
        body = Body(group_id, name, short, kind, start, cadence, hour, duration, location)
        self.bodies[key] = body
        return body

    def seat(
        self, body: Body, person: Person, role: str = "membre", *, org: Org | None = None,
        presence: float | None = None, substitute: Seat | None = None,
    ) -> Seat | None:  # fmt: skip
        start = max(body.start, person.since)
        end = person.until
        if end is not None and end < start:
            return None
        if any(s.person is person and s.role == role for s in body.seats):
            return None
        seat = Seat(person, role, org or person.org, start, end,
                    person.presence if presence is None else presence)  # fmt: skip
        seat.membership_id = self.ds.add(
            Membership, start, contact=person.id, working_group=body.id, role=role,
            organisation=seat.org.id, start_date=start, end_date=end,
            substitute=substitute.membership_id if substitute else None,
        )  # fmt: skip
        if substitute is not None:
            substitute.titulaire = seat
        body.seats.append(seat)
        return seat

    def pair(self, body: Body, titulaire: Person, suppleant: Person | None, org: Org) -> None:
        """The suppléant's seat first: the titulaire's row points to it."""
        stand_in = self.seat(body, suppleant, "suppleant", org=org) if suppleant else None
        self.seat(body, titulaire, "titulaire", org=org, substitute=stand_in)

    def seats(self, body: Body, people: list[Person], role: str = "membre", **kw: Any) -> None:
        for person in people:
            self.seat(body, person, role, **kw)

    def tagged(self, tag: str, k: int | None = None) -> list[Person]:
        people = self.cast.tagged(tag)
        return people if k is None else people[:k]

    def at_category(self, category: str) -> list[Person]:
        return [p for p in self.cast.people if p.org.category == category and not p.org.isolated]

    # ----- the bodies of the story -----------------------------------------------------------

    def build(self) -> None:
        w, t = self.world, self.tagged
        start = w.ctg_start + dt.timedelta(days=60)
        places = w.places
        o = w.orgs

        copil = self.body("copil", f"Comité de pilotage de la CTG — {w.spec.short}", "COPIL CTG",
                          "copil", (), start, 182, hour=(18, 0),
                          description="Instance de décision de la Convention territoriale globale : "
                          "élus, Caf, Département, État, Éducation nationale.")  # fmt: skip
        self.seat(copil, t("president_epci")[0], "president")
        self.seat(copil, t("caf_resp")[0], "copilote")
        self.seat(copil, t("coop")[0], "animateur")
        self.seats(copil, t("cd_elue") + t("ddets") + t("ien") + t("msa") + t("cdas_resp"))
        self.seats(copil, t("vp_epci"), org=o["epci"])
        for place in places:
            mairie = o[f"mairie:{place.id}"]
            for former in t(f"ancien_maire:{place.id}"):
                self.seat(copil, former, "titulaire", org=mairie)
            mayor = t(f"maire:{place.id}")[0]
            deputy = next(iter(t(f"adjoint:{place.id}")), None)
            self.pair(copil, mayor, deputy, mairie)

        cotech = self.body("cotech", f"Comité technique de la CTG — {w.spec.short}", "COTECH CTG",
                           "cotech", (), start, 61, hour=(14, 0), duration=150,
                           description="Préparation technique des COPIL, suivi des fiches action.")  # fmt: skip
        self.seat(cotech, t("coop")[0], "animateur")
        self.seat(cotech, t("caf_ct")[0], "copilote")
        self.seats(cotech, t("coord_ej") + t("caf_dev") + t("cdas_resp") + t("pmi") + t("cs_dir")
                   + t("fs", 1) + t("rpe", 1) + t("dsden") + t("cpc") + t("msa"))  # fmt: skip
        self.seats(cotech, t("ddets") + t("dgs_epci"), "invite_permanent")

        self._thematic(start)
        self._territorial(start)
        self._working_groups(start)
        self._everyone_somewhere(start)

    def _thematic(self, start: dt.date) -> None:
        t, o, cat = self.tagged, self.world.orgs, self.at_category
        never = t("ccas")[:1]
        for person in never:
            person.tags.add("jamais_venu")
            person.presence = 0.0
        pe = self.body("pe", "Commission thématique Petite enfance", "Commission petite enfance",
                       "commission_thematique", ("petite_enfance",), start, 75)  # fmt: skip
        self.seat(pe, t("coord_ej")[0], "animateur")
        self.seats(pe, t("pmi") + t("pmi_med") + t("rpe") + t("creche") + t("laep", 1)
                   + t("caf_dev") + cat("Association d'assistantes maternelles")[:3])  # fmt: skip
        ej = self.body("ej", "Commission thématique Enfance et jeunesse", "Commission enfance-jeunesse",
                       "commission_thematique", ("enfance", "jeunesse"), start, 75)  # fmt: skip
        self.seat(ej, t("coord_ej")[0], "animateur")
        self.seats(ej, t("alsh") + t("espace_jeunes") + t("pij") + t("cpe") + t("college")
                   + t("ml", 1) + t("adjoint_enfance")[:4] + t("caf_dev"))  # fmt: skip
        par = self.body("par", "Commission thématique Parentalité", "Commission parentalité",
                        "commission_thematique", ("parentalite",), start, 75, hour=(14, 0))  # fmt: skip
        self.seat(par, t("cs_familles")[0], "animateur")
        self.seats(par, [p for p in t("ref_familles") if "cs_familles" not in p.tags] + t("laep")
                   + t("pmi") + t("cdas_educ") + t("ape")[:3] + t("msa")
                   + cat("Association de parents") + cat("Médiation familiale")[:1])  # fmt: skip
        avs = self.body("avs", "Commission thématique Animation de la vie sociale",
                        "Commission vie sociale", "commission_thematique",
                        ("animation_vie_sociale",), start, 90, hour=(18, 0))  # fmt: skip
        self.seat(avs, t("cs_dir")[0], "animateur")
        self.seat(avs, t("caf_ct")[0], "copilote")
        self.seats(avs, t("cs_dir")[1:] + t("cs_pres") + t("habitants_collectif")
                   + t("mediatheque", 2) + t("habitant", 4) + cat("Association d'habitants"))  # fmt: skip
        droits = self.body("droits", "Commission thématique Accès aux droits et inclusion numérique",
                           "Commission accès aux droits", "commission_thematique",
                           ("acces_aux_droits", "inclusion_numerique"), start, 90)  # fmt: skip
        self.seat(droits, t("fs")[0], "animateur")
        self.seats(droits, t("caf_droits") + [p for p in t("ccas") if p not in never] + t("msa")
                   + t("cdas_as", 1) + t("mediatheque")
                   + cat("Association d'inclusion numérique") + cat("Association caritative"))  # fmt: skip
        # The housing commission, newer, reaches the rest of the network through one person.
        logement = self.body("logement", "Commission thématique Logement", "Commission logement",
                             "commission_thematique", ("logement",),
                             self.today - dt.timedelta(days=430), 90, hour=(10, 0),
                             description="Prévention des expulsions, logement des jeunes, habitat indigne.")  # fmt: skip
        self.seat(logement, t("habitat")[0], "animateur")
        self.seats(logement, t("logement"))
        self.seat(logement, t("bridge")[0], org=o["logement_jeunes"], presence=0.95)

    def _territorial(self, start: dt.date) -> None:
        t, o = self.tagged, self.world.orgs
        hosts = {"Centre": t("cs_dir")[0], "Sud": t("cs_sud_dir")[0], "Nord": t("evs_dir")[0]}
        for sector in ("Nord", "Centre", "Sud"):
            places = [p for p in self.world.places if p.sector == sector]
            body = self.body(f"secteur:{sector}", f"Commission territoriale — secteur {sector}",
                             f"Commission secteur {sector}", "commission_territoriale", (),
                             start, 120, hour=(18, 30), location=f"Mairie {of(places[0].name)}",
                             communes=places)  # fmt: skip
            self.seat(body, t("coop")[0], "animateur")
            self.seat(body, hosts[sector])
            for place in places:
                mairie = o[f"mairie:{place.id}"]
                deputy = next(iter(t(f"adjoint:{place.id}")), None)
                mayor = t(f"maire:{place.id}")[0]
                if deputy is not None:
                    self.pair(body, deputy, mayor, mairie)
                else:
                    self.pair(body, mayor, t(f"secretaire:{place.id}")[0], mairie)
                self.seats(body, t(f"ecole:{place.id}") + t(f"asso:{place.id}"))

    def _working_groups(self, start: dt.date) -> None:
        t, o, cat = self.tagged, self.world.orgs, self.at_category
        dsp = self.body("dsp", "Groupe de travail Renouvellement des DSP petite enfance",
                        "GT renouvellement DSP", "groupe_travail", ("petite_enfance",),
                        self.today - dt.timedelta(days=300), 35,
                        description="Préparer les cahiers des charges des délégations qui arrivent à échéance.")  # fmt: skip
        self.seat(dsp, (t("vp_epci") or t("president_epci"))[0], "president", org=o["epci"])
        self.seat(dsp, t("coord_ej")[0], "animateur")
        self.seats(dsp, t("dgs_epci") + t("caf_dev") + t("pmi") + t("coop"))
        week = self.body("semaine", "Groupe de travail Semaine de la parentalité",
                         "GT semaine de la parentalité", "groupe_travail", ("parentalite",),
                         start, 60, hour=(14, 0))  # fmt: skip
        toys = cat("Ludothèque")
        self.seat(week, toys[-1], "animateur")
        self.seats(week, t("cs_familles") + t("laep", 1) + cat("Association de parents")[:2]
                   + t("mediatheque") + t("ape", 1))  # fmt: skip
        # Resting on a single organisation: only the Caf's agents ever attend.
        reach = self.body("aller_vers", "Groupe de travail Aller-vers les familles",
                          "GT aller-vers", "groupe_travail", ("acces_aux_droits",),
                          self.today - dt.timedelta(days=6 * 61 + 20), 61, hour=(10, 0),
                          location="Caf — permanence du territoire")  # fmt: skip
        reach.exact_past, reach.upcoming = 6, False
        self.seat(reach, t("caf_droits")[0], "animateur")
        self.seats(reach, t("caf_ts") + t("caf_ct"))
        self.seats(reach, t("jamais_venu"), presence=0.0)
        youth = self.body("reseau", "Réseau des acteurs jeunesse", "Réseau jeunesse", "reseau",
                          ("jeunesse",), start, 45, hour=(14, 0), location="Espace jeunes intercommunal")  # fmt: skip
        self.seat(youth, t("pij")[0], "animateur")
        self.seats(youth, t("anim_jeunesse") + t("espace_jeunes") + t("espace_jeunes_staff")
                   + t("alsh_staff") + t("ml") + t("cpe") + cat("Association de jeunesse")
                   + cat("Club sportif")[:3])  # fmt: skip
        bridge = t("bridge")[0]
        self.seat(youth, bridge, org=o[f"mairie:{self.world.places[2].id}"], presence=0.85)

    def _everyone_somewhere(self, start: dt.date) -> None:
        """Each partner not left out on purpose sits in the commission of its main axis.

        The housing commission is left out of this sweep: its members must reach the rest of
        the network only through the bridge.
        """
        housing = {s.org.id for s in self.bodies["logement"].seats} | {
            p.org.id for p in self.cast.tagged("logement")
        }
        seated = {s.org.id for body in self.bodies.values() for s in body.seats}
        for org in self.cast.orgs:
            if org.isolated or org.id in seated or org.id in housing:
                continue
            staff = [p for p in self.cast.at(org) if "habitant" not in p.tags]
            axis = next((a for a in org.axes if a in AXIS_BODY), None)
            if staff and axis:
                self.seat(
                    self.bodies[AXIS_BODY[axis]], staff[0], presence=min(staff[0].presence, 0.4)
                )
                seated.add(org.id)

    # ----- meetings and invitations ----------------------------------------------------------

    def meetings(self) -> None:
        for body in self.bodies.values():
            for day in self._dates(body):
                self._meeting(body, day)
        self._public_meetings()
        self._only_one_never_came()

    def _only_one_never_came(self) -> None:
        """Low-presence people may, by chance, never come: keep that the story of one person.

        Whoever was invited three times or more and never came is marked present at their
        last held meeting, except the CCAS manager the story is about.
        """
        never = {p.id for p in self.cast.tagged("jamais_venu")}
        for contact_id, rows in self.attended.items():
            if contact_id in never or len(rows) < 3:
                continue
            if all(row["attendance"] != "present" for row in rows):
                row = rows[-1]
                row["attendance"], row["response"] = "present", "acceptee"
                row["answered_at"] = row["answered_at"] or row["sent_at"] + dt.timedelta(days=2)
                row["updated_at"] = row["answered_at"]

    def _dates(self, body: Body) -> list[dt.date]:
        first = max(
            body.start + dt.timedelta(days=20), self.today - dt.timedelta(days=HISTORY_DAYS)
        )
        end = self.today + dt.timedelta(days=HORIZON_DAYS if body.upcoming else 0)
        days, day = [], first
        while day <= end:
            jitter = 0 if body.exact_past else self.rng.randint(-8, 8)
            days.append(_working_day(day + dt.timedelta(days=jitter)))
            day += dt.timedelta(days=body.cadence)
        days = sorted({d for d in days if d != self.today})
        if body.exact_past is not None:
            days = [d for d in days if d < self.today][-body.exact_past :]
        return days

    def _meeting(self, body: Body, day: dt.date, public: str | None = None) -> None:
        past = day < self.today
        cancelled = body.exact_past is None and self.rng.random() < 0.05
        status = "annulee" if cancelled else ("tenue" if past else "planifiee")
        starts = dt.datetime(day.year, day.month, day.day, *body.hour, tzinfo=PARIS)
        ends = starts + dt.timedelta(minutes=body.duration)
        seats = [s for s in body.seats if s.active_on(day)]
        title = public or f"{body.short} — {MONTHS[day.month - 1]} {day.year}"
        sent = starts - dt.timedelta(days=21)
        created = min(sent - dt.timedelta(days=3), _utc(self.today))
        visio = self.rng.random() < 0.25
        meeting_id = self.ds.add(
            Meeting, created,
            working_group=body.id, title=title, starts_at=starts, ends_at=ends,
            location=body.location,
            video_url=f"https://visio.maillage.example/{body.id}-{day:%Y%m%d}" if visio else None,
            agenda=_agenda(body, public), status=status,
            minutes=_minutes(len(seats)) if status == "tenue" else "",
            is_public=public is not None,
            # A public meeting still to come takes inhabitants' registrations (#22).
            registration_open=public is not None and not past,
            capacity=40 if public is not None and not past else None,
            consultation_open=public is not None and not past,
            attendance_count=self.rng.randint(18, 85) if public and past else None,
            ical_uid=self.reg.ids.uid(), ical_sequence=1 if cancelled else 0,
            updated_at=min(ends + dt.timedelta(days=4), _utc(self.today)) if past else created,
        )  # fmt: skip
        if public is not None and not past:
            self._consultation(meeting_id)
        sent_at = sent if sent.date() < self.today else None
        # What was sent is recorded as sent (the cancellation too, at the cancelled SEQUENCE), so
        # « Envoyer » on a demo meeting invites only those never invited.
        sequence = (1 if cancelled else 0) if sent_at is not None else None
        present = {s.person.id for s in seats if s.role != "suppleant" and self._comes(s)}
        invited: dict[int, Seat] = {}
        for s in seats:  # one invitation per person, even with two seats (mayor and VP)
            if invited.setdefault(s.person.id, s).role == "suppleant" and s.role != "suppleant":
                invited[s.person.id] = s
        for s in invited.values():
            if s.role == "suppleant":
                stands_in = s.titulaire is not None and s.titulaire.person.id not in present
                if stands_in and self.rng.random() < 0.6:
                    present.add(s.person.id)
            self._invite(meeting_id, s, status, (sent_at, sequence), starts, s.person.id in present)
        if status == "tenue" and body.kind in DECIDING_KINDS:
            self._decisions(meeting_id, body, day, seats)

    def _consultation(self, meeting_id: int) -> None:
        """The questions of a public meeting still to come (#22): fixed, drawing nothing from
        the random stream, so the rest of the demo stays what it was."""
        for position, (kind, label, choices) in enumerate(CONSULTATION, start=1):
            self.ds.add(
                ConsultationQuestion, self.today,
                meeting=meeting_id, consultation=None, position=position, kind=kind,
                label=label, choices=list(choices),
            )  # fmt: skip

    def _decisions(self, meeting_id: int, body: Body, day: dt.date, seats: list[Seat]) -> None:
        """One to three decisions per held meeting of a deciding body, carried by a member or
        their organisation; most of those past due are done, a few are late (#22). Their own
        random stream: the rest of the demo stays what it was."""
        rng = random.Random(f"decisions-{meeting_id}")
        carriers = [s for s in seats if s.role != "suppleant"] or seats
        for summary in rng.sample(DECISIONS, k=rng.randint(1, 3)):
            due = day + dt.timedelta(days=rng.choice((30, 45, 60, 90)))
            seat = rng.choice(carriers) if carriers else None
            late = due < self.today
            status = (
                "faite"
                if late and rng.random() < 0.7
                else ("en_cours" if rng.random() < 0.4 else "a_faire")
            )
            self.ds.add(
                Decision, _utc(min(day, self.today)),
                summary=summary, working_group=body.id, meeting=meeting_id,
                carrier_contact=seat.person.id if seat and rng.random() < 0.6 else None,
                carrier_organisation=seat.org.id if seat else None,
                due_on=due, status=status,
                done_on=min(due, self.today) if status == "faite" else None,
            )  # fmt: skip

    def _comes(self, seat: Seat) -> bool:
        return self.rng.random() < seat.presence

    def _invite(
        self, meeting_id: int, seat: Seat, status: str,
        sent: tuple[dt.datetime | None, int | None], starts: dt.datetime, present: bool,
    ) -> None:  # fmt: skip
        sent_at, sent_sequence = sent
        response, attendance, answered = "en_attente", None, None
        if sent_at is not None:
            response, attendance = self._answer(seat, status, present)
            if response != "en_attente":
                latest = min(starts, _utc(self.today))
                span = max(1, int((latest - sent_at).total_seconds() // 3600))
                answered = sent_at + dt.timedelta(hours=self.rng.randrange(span))
        prepared = min(starts - dt.timedelta(days=25), _utc(self.today))
        self.ds.add(
            Invitation, sent_at or prepared,
            meeting=meeting_id, contact=seat.person.id, response=response, attendance=attendance,
            token_nonce=self.reg.ids.token(), sent_at=sent_at, sent_sequence=sent_sequence,
            answered_at=answered,
            updated_at=answered or sent_at or prepared,
        )  # fmt: skip
        if attendance is not None:
            self.attended.setdefault(seat.person.id, []).append(self.ds.rows[Invitation][-1])

    def _answer(self, seat: Seat, status: str, present: bool) -> tuple[str, str | None]:
        draw = self.rng.random()
        if status == "planifiee":
            response = "en_attente" if draw < 0.5 else "acceptee" if draw < 0.85 else "declinee"
            return response, None
        if status == "annulee":
            return ("acceptee" if draw < 0.5 else "en_attente"), None
        if present:
            return (
                "acceptee" if draw < 0.85 else "en_attente" if draw < 0.95 else "incertaine"
            ), "present"
        if seat.role == "suppleant" or draw < 0.5:
            return "declinee", "excuse"
        return ("en_attente" if draw < 0.8 else "acceptee"), "absent"

    def _public_meetings(self) -> None:
        b = self.bodies
        events = (
            (b["ej"], -200, "Réunion publique : l'accueil du mercredi"),
            (b["par"], -140, "Forum des familles"),
            (b["copil"], -420, "Réunion publique : diagnostic partagé de la CTG"),
            (b["par"], 45, "Café-débat des parents : les écrans"),
        )
        for body, offset, title in events:
            day = _working_day(self.today + dt.timedelta(days=offset))
            self._meeting(body, day, public=title)


def _working_day(day: dt.date) -> dt.date:
    """No meeting in August, between Christmas and New Year, or at the weekend."""
    if day.month == 8:
        day = dt.date(day.year, 9, 2)
    if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 3):
        day = dt.date(day.year + (day.month == 12), 1, 6)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _utc(day: dt.date) -> dt.datetime:
    return stamp(day, 8)


# « Point d'actualité … » of each kind of body, with its article.
_NEWS_OF = {
    "copil": "du comité de pilotage",
    "cotech": "du comité technique",
    "commission_thematique": "de la commission",
    "commission_territoriale": "de la commission",
    "groupe_travail": "du groupe de travail",
    "reseau": "du réseau",
}


def _agenda(body: Body, public: str | None) -> str:
    if public:
        return "Accueil et présentation\nTemps d'échange avec les habitants\nSuites données"
    return (
        "1. Approbation du relevé de décisions précédent\n"
        f"2. Point d'actualité {_NEWS_OF[body.kind]}\n"
        "3. Avancement des fiches action\n"
        "4. Questions diverses"
    )


def _minutes(invited: int) -> str:
    return (
        f"Relevé de décisions ({invited} invités). Les points à l'ordre du jour ont été traités ; "
        "les actions retenues figurent dans le tableau de suivi."
    )
