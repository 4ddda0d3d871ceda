"""One territory of the demo: its communes, partners and people, with the story's key players.

The story (see the README, « Le territoire de démonstration »): the chargée de coopération, the
Caf's territorial adviser and the coordinator of childhood services are everywhere; some clubs
and firms are nowhere; a deputy mayor for youth who chairs a young people's housing association
is the only link between the housing commission and the rest of the network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from maillage.crm.demo import vocabulary as words
from maillage.crm.demo.identifiers import slug
from maillage.crm.demo.people import Org, Person, Place
from maillage.crm.demo.registry import Registry, Shared, installations
from maillage.tables import Commune, Contact, Territory

ALL_AXES = (
    "petite_enfance", "enfance", "jeunesse", "parentalite", "animation_vie_sociale",
    "acces_aux_droits", "logement", "inclusion_numerique",
)  # fmt: skip
SCHOOL_NAMES = (
    "Jules-Ferry", "Les Tilleuls", "Jacques-Prévert", "Louise-Michel", "Le Petit Prince",
    "Pierre-et-Marie-Curie", "Jean-Moulin", "Les Korrigans", "La Marelle", "Simone-Veil",
    "Victor-Hugo", "Les Hirondelles", "Anne-Frank", "Paul-Éluard", "Les Genêts",
)  # fmt: skip


@dataclass
class TerritorySpec:
    name: str
    short: str
    communes: list[tuple[str, int, str]]
    insee_codes: list[str]
    school_zone: str = "B"


@dataclass
class World:
    """A built territory: what the governance and activity generators need to know."""

    territory_id: int
    spec: TerritorySpec
    places: list[Place]
    ctg_start: dt.date
    ctg_end: dt.date
    installation: dt.date
    previous_installation: dt.date
    orgs: dict[str, Org] = field(default_factory=dict)
    # (facility, operator, delegating org) of every DSP contract.
    delegated: list[tuple[Org, Org, Org]] = field(default_factory=list)


def build_shared(reg: Registry, shared: Shared) -> None:
    """The département's institutions, once for all its territories."""
    if shared.orgs:
        return
    d = words.DEPARTEMENT
    o = shared.orgs
    o["caf"] = reg.org(f"Caf de {d}", "institution", "Caf", None, ALL_AXES, domain="caf-vl.example")
    o["cd"] = reg.org(
        f"Département de {d}", "institution", "Conseil départemental", None,
        ("petite_enfance", "parentalite", "acces_aux_droits", "logement"), domain="vilaine-lande.example",
    )  # fmt: skip
    o["ddets"] = reg.org(
        f"DDETS de {d}", "institution", "DDETS", None, ("acces_aux_droits", "logement"),
        domain="ddets-vl.example",
    )  # fmt: skip
    o["dsden"] = reg.org(
        f"Services départementaux de l'Éducation nationale de {d}", "institution",
        "Éducation nationale", None, ("enfance", "jeunesse"), domain="ac-vilaine.example",
    )  # fmt: skip
    o["msa"] = reg.org(
        "MSA des Marches de Bretagne", "institution", "MSA", None,
        ("acces_aux_droits", "parentalite"), domain="msa-marches.example",
    )  # fmt: skip
    o["adil"] = reg.org(
        f"ADIL de {d}", "association", "Information logement", None, ("logement",), rna=True
    )
    o["bailleur"] = reg.org(
        f"Habitat {d}", "institution", "Bailleur social", None, ("logement",),
        domain="habitat-vl.example",
    )  # fmt: skip
    o["esh"] = reg.org(
        "Les Foyers de la Lande", "entreprise", "Bailleur social", None, ("logement",)
    )
    for name, category in words.DSP_OPERATORS:
        axes = ("petite_enfance",) if "crèches" in category else ("enfance", "jeunesse")
        operator = reg.org(name, "operateur_dsp", category, None, axes)
        reg.person(operator, ("Directrice régionale", "Directeur régional"), presence=0.5)
        shared.operators.append(operator)
    reg.person(o["caf"], ("Directrice", "Directeur"), women=0.4, presence=0.3)
    reg.person(o["cd"], ("Directrice enfance-famille", "Directeur enfance-famille"), presence=0.3)


class TerritoryBuilder:
    def __init__(self, reg: Registry, shared: Shared, spec: TerritorySpec, main: bool) -> None:
        self.reg, self.shared, self.spec, self.main = reg, shared, spec, main
        self.rng = reg.rng
        today = reg.today
        previous, current = installations(today)
        self.world = World(
            territory_id=0,
            spec=spec,
            places=[],
            ctg_start=dt.date(today.year - 3, 1, 1),
            ctg_end=dt.date(today.year + 1, 12, 31),
            installation=current,
            previous_installation=previous,
        )

    def build(self) -> World:
        self._territory_and_communes()
        self._epci()
        self._institution_agents()
        self._communes()
        self._schools()
        self._social_centres()
        self._associations()
        self._dsp()
        self._bridge()
        self._inhabitants_and_departures()
        return self.world

    # ----- places --------------------------------------------------------------------------

    def _territory_and_communes(self) -> None:
        w, reg = self.world, self.reg
        self.siren = reg.ids.siren("2")
        w.territory_id = reg.ds.add(
            Territory,
            w.ctg_start,
            name=self.spec.name,
            siren=self.siren,
            ctg_start=w.ctg_start,
            ctg_end=w.ctg_end,
            school_zone=self.spec.school_zone,
        )
        for (name, population, sector), code in zip(
            self.spec.communes, self.spec.insee_codes, strict=True
        ):
            commune_id = reg.ds.add(
                Commune,
                w.ctg_start,
                insee_code=code,
                name=name,
                population=population,
                territory=w.territory_id,
            )
            w.places.append(Place(commune_id, name, population, sector))
        reg.places = w.places

    @property
    def centre(self) -> Place:
        return self.world.places[0]

    def _short(self, name: str) -> str:
        """Names that would repeat from one territory to the next get the territory's name."""
        return name if self.main else f"{name} ({self.spec.short})"

    # ----- the intercommunality and its services ---------------------------------------------

    def _epci(self) -> None:
        w, reg, o = self.world, self.reg, self.world.orgs
        domain = f"cc-{slug(self.spec.short)}.example"
        # The EPCI's SIRET starts with the SIREN its territory carries.
        epci = reg.org(
            self.spec.name, "collectivite", "EPCI", self.centre, ALL_AXES, domain=domain,
            known_siren=self.siren,
        )  # fmt: skip
        o["epci"] = epci
        council = w.installation + dt.timedelta(days=18)
        reg.person(
            epci, ("Présidente", "Président"), tags=("president_epci",), presence=0.85,
            elected=True, since=council, women=0.35,
        )  # fmt: skip
        reg.person(epci, ("Directrice générale des services", "Directeur général des services"),
                   tags=("dgs_epci",), presence=0.6)  # fmt: skip
        reg.person(epci, "Chargée de coopération CTG", tags=("coop",), presence=0.98, women=1.0)
        reg.person(epci, ("Coordinatrice enfance-jeunesse", "Coordinateur enfance-jeunesse"),
                   tags=("coord_ej",), presence=0.95)  # fmt: skip
        reg.person(epci, ("Chargée de mission habitat", "Chargé de mission habitat"),
                   tags=("habitat",), presence=0.8)  # fmt: skip
        reg.person(epci, ("Directrice du pôle solidarités", "Directeur du pôle solidarités"),
                   tags=("solidarites",), presence=0.5)  # fmt: skip
        reg.person(epci, ("Assistante administrative", "Assistant administratif"), presence=0.2,
                   women=0.9)  # fmt: skip
        services = (
            ("rpe", f"Relais petite enfance {self._of()}", "RPE", ("petite_enfance",),
             ["Animatrice du relais", "Animatrice du relais"]),
            ("laep", "Lieu d'accueil enfants-parents La Passerelle", "LAEP", ("parentalite", "petite_enfance"),
             ["Accueillante", "Accueillante"]),
            ("fs", f"France Services {words.of(self.centre.name)}", "France Services",
             ("acces_aux_droits", "inclusion_numerique"), [("Conseillère France Services", "Conseiller France Services")] * 2),
            ("pij", f"Point information jeunesse {self._of()}", "PIJ", ("jeunesse",),
             [("Informatrice jeunesse", "Informateur jeunesse")]),
        )  # fmt: skip
        for key, name, category, axes, functions in services:
            org = reg.org(self._short(name), "etablissement", category, self.centre, axes,
                          parent=epci, siret=False)  # fmt: skip
            o[key] = org
            for function in functions:
                reg.person(org, function, tags=(key,), presence=0.8)
        if len(w.places) > 8:
            fs2 = reg.org(f"France Services {words.of(w.places[2].name)}", "etablissement",
                          "France Services", w.places[2], ("acces_aux_droits",), parent=epci,
                          siret=False)  # fmt: skip
            reg.person(fs2, ("Conseillère France Services", "Conseiller France Services"),
                       tags=("fs",), presence=0.6)  # fmt: skip

    def _of(self) -> str:
        return (
            f"du {self.spec.short}"
            if self.spec.short.startswith("Val")
            else f"de {self.spec.short}"
        )

    def _institution_agents(self) -> None:
        o, reg, sh = self.world.orgs, self.reg, self.shared.orgs
        caf, cd = sh["caf"], sh["cd"]
        reg.person(caf, "Conseillère territoriale", tags=("caf_ct",), presence=0.95, women=1.0)
        reg.person(caf, ("Responsable du pôle partenariats", "Responsable du pôle partenariats"),
                   tags=("caf_resp",), presence=0.8)  # fmt: skip
        reg.person(caf, ("Chargée de développement enfance-jeunesse", "Chargé de développement enfance-jeunesse"),
                   tags=("caf_dev",), presence=0.8)  # fmt: skip
        reg.person(caf, ("Conseillère accès aux droits", "Conseiller accès aux droits"),
                   tags=("caf_droits", "caf_aller_vers"), presence=0.9)  # fmt: skip
        reg.staff(caf, [("Travailleuse sociale", "Travailleur social")] * 2,
                  tags=("caf_ts", "caf_aller_vers"), presence=0.85)  # fmt: skip
        reg.person(cd, "Conseillère départementale du canton", tags=("cd_elue",), presence=0.45,
                   elected=True, since=dt.date(2021, 7, 1), women=1.0)  # fmt: skip
        o["cdas"] = reg.org(f"CDAS {self._of()}", "institution", "CDAS", self.centre,
                            ("acces_aux_droits", "parentalite", "logement"), parent=cd, siret=False)  # fmt: skip
        reg.person(
            o["cdas"],
            ("Responsable du CDAS", "Responsable du CDAS"),
            tags=("cdas_resp",),
            presence=0.75,
        )
        reg.staff(
            o["cdas"],
            [("Assistante sociale", "Assistant social")] * 2,
            tags=("cdas_as",),
            presence=0.5,
        )
        reg.person(
            o["cdas"],
            ("Éducatrice spécialisée", "Éducateur spécialisé"),
            tags=("cdas_educ",),
            presence=0.6,
        )
        reg.person(o["cdas"], ("Conseillère en économie sociale et familiale", "Conseiller en économie sociale et familiale"),
                   tags=("cesf",), presence=0.5)  # fmt: skip
        o["pmi"] = reg.org(f"PMI {self._of()}", "institution", "PMI", self.centre,
                           ("petite_enfance", "parentalite"), parent=cd, siret=False)  # fmt: skip
        reg.person(o["pmi"], "Puéricultrice de PMI", tags=("pmi",), presence=0.8, women=1.0)
        reg.person(o["pmi"], ("Médecin de PMI", "Médecin de PMI"), tags=("pmi_med",), presence=0.4)
        reg.person(o["pmi"], "Sage-femme de PMI", presence=0.4, women=1.0)
        reg.person(sh["ddets"], ("Chargée de mission inclusion", "Chargé de mission inclusion"),
                   tags=("ddets",), presence=0.3)  # fmt: skip
        o["ien"] = reg.org(
            f"Inspection de l'Éducation nationale — circonscription {self._of()}", "institution",
            "Éducation nationale", self.centre, ("enfance",), parent=sh["dsden"], siret=False,
        )  # fmt: skip
        reg.person(o["ien"], ("Inspectrice de l'Éducation nationale", "Inspecteur de l'Éducation nationale"),
                   tags=("ien",), presence=0.4, women=0.5)  # fmt: skip
        reg.person(
            o["ien"],
            ("Conseillère pédagogique", "Conseiller pédagogique"),
            tags=("cpc",),
            presence=0.6,
        )
        reg.person(
            sh["dsden"],
            ("Conseillère technique du DASEN", "Conseiller technique du DASEN"),
            tags=("dsden",),
            presence=0.3,
        )
        reg.person(
            sh["msa"],
            ("Travailleuse sociale MSA", "Travailleur social MSA"),
            tags=("msa",),
            presence=0.5,
        )
        reg.person(
            sh["bailleur"], "Chargée de développement social", tags=("logement",), presence=0.8
        )
        reg.person(
            sh["esh"],
            ("Responsable d'agence", "Responsable d'agence"),
            tags=("logement",),
            presence=0.6,
        )
        reg.person(sh["adil"], ("Juriste", "Juriste"), tags=("logement",), presence=0.7)
        o["ml"] = reg.org(self._short("Mission locale du Pays d'Ardoise") if self.main else
                          f"Mission locale {self._of()}", "association", "Mission locale",
                          self.centre, ("jeunesse", "acces_aux_droits"), rna=True)  # fmt: skip
        reg.staff(o["ml"], [("Conseillère en insertion", "Conseiller en insertion")] * 2,
                  tags=("ml",), presence=0.5)  # fmt: skip

    # ----- communes, their élus and services -------------------------------------------------

    def _communes(self) -> None:
        w, reg = self.world, self.reg
        mandate = w.installation + dt.timedelta(days=self.rng.randrange(3))
        for index, place in enumerate(w.places):
            mairie = reg.org(f"Mairie {words.of(place.name)}", "collectivite", "Commune", place,
                             ("enfance", "animation_vie_sociale"), siren_prefix="21",
                             domain=f"mairie-{slug(place.name)}.example")  # fmt: skip
            w.orgs[f"mairie:{place.id}"] = mairie
            re_elected = self.rng.random() < 0.6
            since = w.previous_installation if re_elected else mandate
            maire = reg.person(mairie, ("Maire", "Maire"), tags=("maire", f"elu:{place.id}"),
                               presence=0.55, elected=True, since=since, women=0.4)  # fmt: skip
            maire.tags.add(f"maire:{place.id}")
            if not re_elected:
                self._former_mayor(mairie, place)
            if place.population >= 900:
                reg.person(mairie, ("Adjointe déléguée à l'enfance et à la jeunesse",
                                    "Adjoint délégué à l'enfance et à la jeunesse"),
                           tags=("adjoint_enfance", f"elu:{place.id}", f"adjoint:{place.id}"),
                           presence=0.65, elected=True, since=mandate)  # fmt: skip
            if place.population >= 1900:
                reg.person(mairie, ("Adjointe aux affaires sociales", "Adjoint aux affaires sociales"),
                           tags=("adjoint_social", f"elu:{place.id}"), presence=0.5,
                           elected=True, since=mandate)  # fmt: skip
                ccas = reg.org(f"CCAS {words.of(place.name)}", "etablissement", "CCAS", place,
                               ("acces_aux_droits", "logement"), parent=mairie, siret=False,
                               domain=mairie.domain)  # fmt: skip
                reg.person(ccas, ("Responsable du CCAS", "Responsable du CCAS"),
                           tags=("ccas", f"ccas:{place.id}"), presence=0.55,
                           since=reg.day_between(dt.date(2010, 1, 1), w.ctg_start))  # fmt: skip
                w.orgs[f"ccas:{place.id}"] = ccas
            secretary = ("Directrice générale des services", "Directeur général des services") \
                if place.population >= 2500 else ("Secrétaire de mairie", "Secrétaire de mairie")  # fmt: skip
            reg.person(mairie, secretary, tags=(f"secretaire:{place.id}",), presence=0.4, women=0.8)
            if place.population >= 600:
                reg.person(mairie, ("Conseillère municipale déléguée à la vie associative",
                                    "Conseiller municipal délégué à la vie associative"),
                           presence=0.3, elected=True, since=mandate)  # fmt: skip
            if place.population >= 1500:
                reg.person(mairie, ("Agente d'accueil", "Agent d'accueil"), presence=0.2, email=0.3)
            if place.population >= 1500:
                library = reg.org(f"Médiathèque {words.of(place.name)}", "etablissement", "Médiathèque",
                                  place, ("animation_vie_sociale", "inclusion_numerique"),
                                  parent=mairie, siret=False, isolated=index % 3 == 2)  # fmt: skip
                reg.person(library, ("Responsable de la médiathèque", "Responsable de la médiathèque"),
                           tags=("mediatheque",) if not library.isolated else (), presence=0.4)  # fmt: skip
            if index == 0:
                eaje = reg.org(f"Multi-accueil municipal Les Lucioles — {place.name}", "etablissement",
                               "EAJE", place, ("petite_enfance",), parent=mairie, siret=False)  # fmt: skip
                reg.staff(eaje, [("Directrice", "Directeur"), "Éducatrice de jeunes enfants"],
                          tags=("creche",), presence=0.7, women=0.95)  # fmt: skip

    def _former_mayor(self, mairie: Org, place: Place) -> None:
        """The mayor the last election replaced: history kept, mandate ended."""
        w = self.world
        former = self.reg.person(
            mairie, ("Maire", "Maire"), tags=("ancien_maire", f"ancien_maire:{place.id}"),
            presence=0.6, elected=True, since=w.previous_installation,
            until=w.installation - dt.timedelta(days=1), women=0.3,
            notes="Maire jusqu'aux élections municipales ; mandat non renouvelé.",
        )  # fmt: skip
        former.tags.add(f"elu:{place.id}")

    def _schools(self) -> None:
        reg, sh = self.reg, self.shared.orgs
        names = list(SCHOOL_NAMES)
        self.rng.shuffle(names)
        for index, place in enumerate(self.world.places):
            count = 2 if place.population >= 2500 else 1
            for n in range(count):
                label = names[(index + n * 7) % len(names)]
                school = reg.org(f"École publique {label} — {place.name}", "etablissement",
                                 "École", place, ("enfance",), parent=self.world.orgs["ien"],
                                 siret=False, uai=True,
                                 domain=f"ecole-{slug(place.name)}-{n + 1}.ac-vilaine.example")  # fmt: skip
                reg.person(school, ("Directrice d'école", "Directeur d'école"),
                           tags=("ecole", f"ecole:{place.id}"), presence=0.35)  # fmt: skip
                reg.person(school, ("Enseignante", "Enseignant"), presence=0.2)
                if place.population >= 1500:
                    reg.person(school, "ATSEM", presence=0.2, women=0.95, email=0.4)
                if place.population >= 1200:
                    ape = reg.org(f"Association des parents d'élèves de l'école {label} — {place.name}",
                                  "association", "Association de parents d'élèves", place,
                                  ("parentalite",), rna=True, siret=False,
                                  domain=f"ape-{slug(label)}-{slug(place.name)}.example")  # fmt: skip
                    reg.person(ape, ("Présidente", "Président"), tags=("ape", f"asso:{place.id}"),
                               presence=0.4)  # fmt: skip
                    reg.person(ape, ("Trésorière", "Trésorier"), presence=0.2)
        college = reg.org(self._short(f"Collège Anne-de-Bretagne — {self.centre.name}"),
                          "etablissement", "Collège", self.centre, ("jeunesse",),
                          parent=sh["dsden"], uai=True)  # fmt: skip
        reg.person(college, ("Principale", "Principal"), tags=("college",), presence=0.4)
        reg.person(college, ("Conseillère principale d'éducation", "Conseiller principal d'éducation"),
                   tags=("cpe",), presence=0.7)  # fmt: skip

    def _social_centres(self) -> None:
        w, reg, o = self.world, self.reg, self.world.orgs
        south = max((p for p in w.places if p.sector == "Sud"), key=lambda p: p.population)
        north = max((p for p in w.places if p.sector == "Nord"), key=lambda p: p.population)
        centres = (
            ("cs", "Centre social Les Ardoisiers" if self.main else f"Centre social {words.of(self.centre.name)}",
             self.centre, "Centre social"),
            ("cs_sud", f"Centre social intercommunal du Sud — {south.name}", south, "Centre social"),
            ("evs", f"Espace de vie sociale de {north.name}", north, "Espace de vie sociale"),
        )  # fmt: skip
        for key, name, place, category in centres:
            org = reg.org(name, "association", category, place,
                          ("animation_vie_sociale", "parentalite", "jeunesse"), rna=True)  # fmt: skip
            o[key] = org
            reg.person(org, ("Directrice", "Directeur"), tags=(f"{key}_dir", "cs_dir"),
                       presence=0.92 if key == "cs" else 0.75)  # fmt: skip
            reg.person(org, "Référente familles", tags=(f"{key}_familles", "ref_familles"),
                       presence=0.85, women=1.0)  # fmt: skip
            if key != "evs":
                reg.person(org, ("Animatrice jeunesse", "Animateur jeunesse"),
                           tags=("anim_jeunesse",), presence=0.7)  # fmt: skip
                reg.person(org, ("Présidente", "Président"), tags=("cs_pres",), presence=0.5)
                reg.person(
                    org, ("Animatrice petite enfance", "Animateur petite enfance"), presence=0.4
                )
                reg.person(org, ("Chargée d'accueil", "Chargé d'accueil"), presence=0.2, women=0.8)

    def _associations(self) -> None:
        w, reg = self.world, self.reg
        for place in w.places:
            eligible = [a for a in words.ASSOCIATIONS if place.population >= a[3]]
            for pattern, category, axes, _ in self.rng.sample(
                eligible, k=min(len(eligible), 2 + place.population // 2500)
            ):
                isolated = category == "Club sportif" and self.rng.random() < 0.5
                org = reg.org(pattern.format(c=place.name), "association", category, place, axes,
                              rna=True, siret=self.rng.random() < 0.2, isolated=isolated)  # fmt: skip
                tags = () if isolated else ("asso", f"asso:{place.id}")
                reg.person(org, ("Présidente", "Président"), tags=tags, presence=0.35)
                if self.rng.random() < 0.8:
                    reg.person(org, ("Secrétaire", "Secrétaire"), presence=0.2)
                if self.rng.random() < 0.5:
                    reg.person(org, ("Trésorière", "Trésorier"), presence=0.2, email=0.6)
        for name, category, axes in words.TERRITORY_ASSOCIATIONS:
            isolated = name.startswith(("Tir à l'arc", "Compagnie théâtrale", "Judo"))
            org = reg.org(self._short(name), "association", category, self.centre, axes,
                          rna=True, siret=self.rng.random() < 0.4, isolated=isolated)  # fmt: skip
            key = slug(name).split("-")[0]
            tags = () if isolated else (f"tasso:{key}", "tasso")
            reg.person(org, ("Présidente", "Président"), tags=tags, presence=0.45)
            reg.person(org, ("Coordinatrice", "Coordinateur"), tags=tags, presence=0.6)
            if self.rng.random() < 0.5:
                reg.person(org, ("Trésorière", "Trésorier"), presence=0.2, email=0.6)
        for name, category in (("Laiterie coopérative du Val", "Entreprise agroalimentaire"),
                               ("Transports Lande Mobilité", "Transporteur")):  # fmt: skip
            org = reg.org(self._short(name), "entreprise", category, self.centre, (), isolated=True)
            reg.person(
                org, ("Responsable des ressources humaines", "Responsable des ressources humaines")
            )
        for name in (
            "Conseil citoyen du quartier de la Gare",
            "Collectif des habitants des Ardoisières",
        ):
            org = reg.org(self._short(name), "autre", "Collectif d'habitants", self.centre,
                          ("animation_vie_sociale",), siret=False)  # fmt: skip
            reg.person(
                org, ("Porte-parole", "Porte-parole"), tags=("habitants_collectif",), presence=0.5
            )

    # ----- DSP: facilities run by operators for the intercommunality --------------------------

    def _dsp(self) -> None:
        w, reg = self.world, self.reg
        operators = list(self.shared.operators)
        if not self.main:
            operators = self.rng.sample(operators, k=4)
        crèches = [op for op in operators if "crèches" in op.category] or operators[:1]
        loisirs = [op for op in operators if op not in crèches]
        places = w.places
        facilities = (
            ("Multi-accueil Les P'tits Mousses", "EAJE", places[0], crèches[0], ("petite_enfance",)),
            ("Multi-accueil Pirouette", "EAJE", places[1], crèches[-1], ("petite_enfance",)),
            ("Micro-crèche Les Bout'chous", "EAJE", places[3], crèches[0], ("petite_enfance",)),
            ("Accueil de loisirs intercommunal", "ALSH", places[0], loisirs[0], ("enfance",)),
            ("Accueil de loisirs du Sud", "ALSH", places[2], loisirs[1 % len(loisirs)], ("enfance",)),
            ("Espace jeunes intercommunal", "Espace jeunes", places[0], loisirs[-1], ("jeunesse",)),
        )  # fmt: skip
        for name, category, place, operator, axes in facilities:
            facility = reg.org(f"{name} — {place.name}", "etablissement", category, place, axes,
                               parent=operator)  # fmt: skip
            tag = (
                "creche"
                if category == "EAJE"
                else "alsh"
                if category == "ALSH"
                else "espace_jeunes"
            )
            reg.person(facility, ("Directrice", "Directeur"), tags=(tag, "dsp_dir"), presence=0.7,
                       women=0.9 if tag == "creche" else 0.5)  # fmt: skip
            reg.person(facility, ("Éducatrice de jeunes enfants", "Animateur") if tag == "creche"
                       else ("Animatrice", "Animateur"), tags=(f"{tag}_staff",), presence=0.35)  # fmt: skip
            reg.person(facility, ("Auxiliaire de puériculture", "Auxiliaire de puériculture")
                       if tag == "creche" else ("Animatrice", "Animateur"), presence=0.2)  # fmt: skip
            w.delegated.append((facility, operator, w.orgs["epci"]))

    # ----- the bridge, inhabitants, departures ------------------------------------------------

    def _bridge(self) -> None:
        """A deputy mayor for youth who chairs a young people's housing association."""
        w, reg = self.world, self.reg
        place = w.places[2]
        deputy = next(p for p in reg.cast.tagged(f"adjoint:{place.id}"))
        association = reg.org(self._short("Logement Jeunes du Val"), "association",
                              "Association de logement des jeunes", place, ("logement", "jeunesse"),
                              rna=True)  # fmt: skip
        w.orgs["logement_jeunes"] = association
        function = "Présidente" if deputy.civility == "Mme" else "Président"
        reg.affiliate(
            deputy, association, function, False, deputy.since + dt.timedelta(days=40), None
        )
        deputy.tags |= {"bridge", "anim_jeunesse_elu"}
        reg.person(association, ("Animatrice logement", "Animateur logement"), tags=("logement",),
                   presence=0.8)  # fmt: skip
        halte = next(
            org for org in reg.cast.orgs if org.name.startswith("Accueil des gens du voyage")
        )
        reg.person(halte, ("Médiatrice", "Médiateur"), tags=("logement",), presence=0.6)
        # A few more people hold two hats: they make the network denser, not the story.
        directors = reg.cast.tagged("cs_dir")[:1]
        parents = [o for o in reg.cast.orgs if o.name.startswith("Café des parents")]
        for person in directors:
            for org in parents:
                reg.affiliate(person, org, "Membre du bureau", False, person.since, None)
        for person in reg.cast.tagged("maire")[1:3]:
            reg.affiliate(person, w.orgs["epci"], "Vice-présidence communautaire", True,
                          w.installation + dt.timedelta(days=18), None)  # fmt: skip
            person.tags.add("vp_epci")

    def _inhabitants_and_departures(self) -> None:
        w, reg = self.world, self.reg
        collectif = next(o for o in reg.cast.orgs if o.category == "Collectif d'habitants")
        for _ in range(max(8, len(w.places) * 3)):
            person = reg.person(
                collectif, ("Habitante", "Habitant"), presence=0.5, email=0.7,
                notes=self.rng.choice(words.HABITANT_NOTES), legal_basis="consentement",
                since=reg.day_between(w.ctg_start, reg.today - dt.timedelta(days=30)),
            )  # fmt: skip
            person.tags.add("habitant")
        # People who left: archived, their affiliation ended, in no body.
        for org in self.rng.sample([o for o in reg.cast.orgs if not o.isolated], k=4):
            start = reg.day_between(dt.date(2012, 1, 1), dt.date(2020, 1, 1))
            reg.person(org, ("Ancienne salariée", "Ancien salarié"), since=start,
                       until=reg.day_between(w.ctg_start, reg.today - dt.timedelta(days=60)),
                       archived=True, notes="A quitté la structure.")  # fmt: skip
        # Partners who asked to receive no mass mailing.
        candidates = [p for p in reg.cast.people if p.tags & {"asso", "ecole", "habitant"}]
        for person in self.rng.sample(candidates, k=min(4, len(candidates))):
            row = next(r for r in reg.ds.rows[Contact] if r["id"] == person.id)
            row["mailing_opt_out"] = True


__all__ = ["Person", "TerritoryBuilder", "TerritorySpec", "World", "build_shared"]
