"""Which column of a file holds which field: French header synonyms, or an explicit mapping.

Headers compare without accents, case, punctuation or spaces, so « Tél. », « TEL » and
« Téléphone » are all the phone. An explicit mapping (JSON object or two-column CSV
« colonne du fichier ; champ ») wins over the synonyms, and may name a field by its code
(``last_name``) or by its French label (« Nom »).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from maillage.crm.text import normalise
from maillage.exchange.reading import UnreadableFile, cell_too_long, decode
from maillage.french import quoted

KINDS = ("contacts", "organisations", "communes", "groups", "memberships", "indicateurs")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    synonyms: tuple[str, ...] = ()


def _f(name: str, label: str, *synonyms: str) -> Field:
    return Field(name, label, synonyms)


CONTACT_FIELDS = [
    _f("civility", "Civilité", "Civ", "Titre", "Madame/Monsieur"),
    _f("last_name", "Nom", "Nom de famille", "Nom du contact", "Nom d'usage"),
    _f("first_name", "Prénom", "Prénom du contact"),
    _f("email", "Courriel", "E-mail", "Email", "Mail", "Mél", "Adresse mail", "Adresse électronique", "Adresse e-mail", "Courriel du contact"),
    _f("phone", "Téléphone", "Tél", "Tel", "Tél.", "Portable", "Mobile", "Téléphone fixe", "N° de téléphone", "Numéro de téléphone"),
    _f("commune", "Commune", "Ville", "Localité"),
    _f("commune_code", "Code INSEE", "Code commune", "INSEE"),
    _f("organisation", "Organisation", "Structure", "Raison sociale", "Organisme", "Employeur", "Établissement", "Partenaire", "Service", "Mairie", "Collectivité"),
    _f("organisation_address", "Adresse de l'organisation", "Adresse", "Adresse postale", "Adresse de la mairie", "Adresse de la structure"),
    _f("organisation_phone", "Téléphone de l'organisation", "Téléphone de la mairie", "Téléphone de la structure", "Standard"),
    _f("organisation_kind", "Type d'organisation", "Type de structure", "Type", "Type de partenaire"),
    _f("organisation_siret", "SIRET de l'organisation", "SIRET", "N° SIRET", "Siret de la structure"),
    _f("function", "Fonction", "Poste", "Qualité", "Fonction occupée"),
    _f("elected_mandate", "Mandat électif", "Élu(e)", "Élu", "Élue", "Élu·e"),
    _f("start_date", "Début du mandat", "Date de début", "Début", "Depuis", "Début de fonction", "Date de début de fonction", "Date de début du mandat", "Date d'élection"),
    _f("end_date", "Fin du mandat", "Date de fin", "Fin", "Jusqu'au", "Fin de fonction", "Date de fin du mandat"),
    _f("axes", "Axes", "Axe", "Thématiques", "Thématique", "Axes de la CTG"),
    _f("legal_basis", "Base légale"),
    _f("consent_date", "Date du consentement", "Consentement le"),
    _f("mailing_opt_out", "Opposition aux envois", "Opposé(e) aux envois", "Désinscrit", "Désinscrite", "Ne plus écrire"),
    _f("notes", "Notes", "Commentaires", "Commentaire", "Remarques", "Observations"),
]  # fmt: skip

ORGANISATION_FIELDS = [
    _f("name", "Nom", "Raison sociale", "Dénomination", "Organisation", "Structure", "Nom de la structure", "Organisme", "Mairie"),
    _f("kind", "Type", "Type d'organisation", "Nature", "Type de structure"),
    _f("category", "Catégorie", "Catégorie de structure"),
    _f("siret", "SIRET", "N° SIRET"),
    _f("siren", "SIREN", "N° SIREN"),
    _f("rna", "RNA", "N° RNA", "Numéro RNA"),
    _f("uai", "UAI", "Code UAI", "RNE"),
    _f("address", "Adresse", "Adresse postale"),
    _f("commune", "Commune", "Ville", "Localité"),
    _f("commune_code", "Code INSEE", "Code commune", "INSEE"),
    _f("email", "Courriel", "E-mail", "Email", "Mail", "Mél", "Adresse mail", "Adresse électronique"),
    _f("phone", "Téléphone", "Tél", "Tel", "Tél.", "Standard"),
    _f("website", "Site web", "Site internet", "Site", "URL"),
    _f("axes", "Axes", "Axe", "Thématiques", "Thématique"),
    _f("parent", "Organisation parente", "Rattachée à", "Structure mère"),
    _f("notes", "Notes", "Commentaires", "Remarques", "Observations"),
]  # fmt: skip

# The official geographic code (« COG ») files of INSEE, and its population files.
COMMUNE_FIELDS = [
    _f("insee_code", "Code INSEE", "COM", "CODGEO", "DEPCOM", "Code commune", "Code géographique", "Code"),
    _f("name", "Nom", "LIBELLE", "NCCENR", "LIBGEO", "Commune", "Libellé", "Nom de la commune"),
    _f("population", "Population", "PMUN", "PTOT", "Population municipale", "Population totale"),
    _f("commune_type", "Type de commune", "TYPECOM"),
    _f("territory", "Territoire", "EPCI", "Intercommunalité", "Libellé EPCI"),
]  # fmt: skip

GROUP_FIELDS = [
    _f("name", "Nom", "Instance", "Intitulé", "Nom de l'instance"),
    _f("kind", "Type", "Type d'instance", "Nature"),
    _f("description", "Description", "Objet"),
    _f("default_location", "Lieu", "Lieu habituel", "Lieu de réunion"),
    _f("axes", "Axes", "Axe", "Thématiques", "Thématique"),
    _f("communes", "Communes", "Communes couvertes", "Secteur"),
    _f("territory", "Territoire", "EPCI"),
]  # fmt: skip

MEMBERSHIP_FIELDS = [
    _f("group", "Instance", "Nom de l'instance", "Groupe", "Commission"),
    _f("email", "Courriel", "E-mail", "Email", "Mail", "Mél", "Adresse électronique"),
    _f("last_name", "Nom", "Nom de famille"),
    _f("first_name", "Prénom"),
    _f("role", "Rôle", "Qualité", "Statut"),
    _f("organisation", "Organisation représentée", "Organisation", "Structure", "Représente"),
    _f("start_date", "Début", "Date de début", "Depuis", "Date d'entrée"),
    _f("end_date", "Fin", "Date de fin", "Jusqu'au", "Date de sortie"),
]  # fmt: skip

# Commune-level figures (#18), one line per commune and date, one column per indicator: the
# shape of Cafdata and INSEE open-data files.
INDICATOR_FIELDS = [
    _f("insee_code", "Code INSEE", "CODGEO", "DEPCOM", "COM", "Code commune", "Code géographique", "Numéro commune"),
    _f("name", "Commune", "LIBGEO", "Libellé", "Nom de la commune", "Libellé commune"),
    _f("measured_on", "Date", "Année", "Millésime", "Date de valeur", "Date de mesure", "Au"),
    _f("source", "Source", "Producteur", "Origine"),
    _f("places_eaje", "Places en EAJE", "Places EAJE", "Nombre de places en EAJE", "Nombre de places EAJE", "Places en crèche", "NB_PLACES_EAJE"),
    _f("places_assistants_maternels", "Places chez les assistants maternels", "Places assistants maternels", "Places chez les assistantes maternelles", "Places AM", "NB_PLACES_AM"),
    _f("enfants_moins_3_ans", "Enfants de moins de 3 ans", "Moins de 3 ans", "Enfants 0-2 ans", "Enfants de 0 à 2 ans", "Nombre d'enfants de moins de 3 ans", "POP0002"),
    _f("allocataires", "Allocataires de la Caf", "Allocataires", "Nombre d'allocataires", "Allocataires Caf", "NB_ALLOC"),
    _f("beneficiaires_paje", "Bénéficiaires de la PAJE", "Bénéficiaires PAJE", "Allocataires PAJE", "NB_PAJE"),
]  # fmt: skip

FIELDS: dict[str, list[Field]] = {
    "contacts": CONTACT_FIELDS,
    "organisations": ORGANISATION_FIELDS,
    "communes": COMMUNE_FIELDS,
    "groups": GROUP_FIELDS,
    "memberships": MEMBERSHIP_FIELDS,
    "indicateurs": INDICATOR_FIELDS,
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "contacts": ("last_name", "first_name"),
    "organisations": ("name",),
    "communes": ("insee_code", "name"),
    "groups": ("name",),
    "memberships": ("group",),
    "indicateurs": ("insee_code", "measured_on"),
}
# Columns our own exports write that an import reads on purpose as nothing.
KNOWN_IGNORED = {normalise(h) for h in ("N°", "Instances", "Archivée", "Modifiée le")}
# What an explicit mapping writes to ignore a column.
IGNORE_WORDS = {"ignorer", "ignoree", "ignore", "aucun", "aucune", "rien", "", "-"}
IGNORE = ""


def header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalise(str(text)))


@dataclass
class ColumnMap:
    """For one file: field name → column index, and the headers that map to nothing."""

    kind: str
    header_line: int
    headers: list[str]
    fields: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def column_label(self, field_name: str) -> str | None:
        """« C (Courriel) » for a message, or None when the field has no column."""
        index = self.fields.get(field_name)
        if index is None:
            return None
        return f"{column_letter(index)} ({quoted(self.headers[index])})"


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _synonym_table(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for item in FIELDS[kind]:
        for word in (item.label, item.name, *item.synonyms):
            table.setdefault(header_key(word), item.name)
    return table


def _field_by_word(kind: str) -> dict[str, str]:
    """Field codes and French labels, for an explicit mapping."""
    table = {}
    for item in FIELDS[kind]:
        table[header_key(item.name)] = item.name
        table[header_key(item.label)] = item.name
    return table


def find_header(
    lines: list[tuple[int, list[Any]]], kind: str, explicit: dict[str, str] | None
) -> int:
    """Index (in ``lines``) of the header: the first of the first ten lines naming 2+ fields.

    Spreadsheets often open with a title line (« Annuaire des partenaires 2025 »).
    """
    known = set(_synonym_table(kind)) | {header_key(k) for k in (explicit or {})}
    for position, (_number, cells) in enumerate(lines[:10]):
        if sum(1 for cell in cells if header_key(cell) in known) >= min(2, len(FIELDS[kind])):
            return position
    return 0


def map_columns(
    kind: str, header_line: int, headers: list[str], explicit: dict[str, str] | None
) -> ColumnMap:
    synonyms = _synonym_table(kind)
    wanted = {header_key(k): v for k, v in (explicit or {}).items()}
    mapping = ColumnMap(kind, header_line, [str(h).strip() for h in headers])
    for index, header in enumerate(mapping.headers):
        key = header_key(header)
        name = wanted[key] if key in wanted else synonyms.get(key)
        if name and name not in mapping.fields:
            mapping.fields[name] = index
        elif header and normalise(header) not in KNOWN_IGNORED:
            mapping.ignored.append(header)
    missing = [f for f in REQUIRED[kind] if f not in mapping.fields]
    if (
        kind == "memberships"
        and "email" not in mapping.fields
        and "last_name" not in mapping.fields
    ):
        missing.append("email")
    if missing:
        labels = {f.name: f.label for f in FIELDS[kind]}
        names = ", ".join(f"« {labels[m]} »" for m in missing)
        found = ", ".join(f"« {h} »" for h in mapping.headers if h) or "aucune"
        raise UnreadableFile(
            f"{'Colonnes obligatoires introuvables' if ',' in names else 'Colonne obligatoire introuvable'} ligne {header_line} : {names}. "
            f"Colonnes lues : {found}. Renommez l'en-tête ou donnez une correspondance "
            "(option --mapping)."
        )
    return mapping


def parse_mapping(data: bytes, kind: str) -> dict[str, str]:
    """An explicit mapping file: ``{"Colonne": "champ"}`` in JSON, or a two-column CSV."""
    text, _encoding = decode(data, "correspondance")
    stripped = text.strip()
    pairs: dict[str, str]
    resolved: dict[str, str] = {}
    if stripped.startswith("{"):
        try:
            loaded = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise UnreadableFile(
                f"Fichier de correspondance : JSON invalide ligne {error.lineno}, "
                f"colonne {error.colno}."
            ) from error
        pairs = {str(k): str(v) for k, v in loaded.items()}
    else:
        delimiter = ";" if ";" in stripped else ("\t" if "\t" in stripped else ",")
        try:
            rows = list(csv.reader(io.StringIO(stripped), delimiter=delimiter))
        except csv.Error as error:  # the one it raises unquoted: a cell past its limit
            raise UnreadableFile(
                f"Fichier de correspondance illisible : {cell_too_long()}."
            ) from error
        pairs = {row[0].strip(): row[1].strip() for row in rows if len(row) >= 2 and row[0].strip()}
    words = _field_by_word(kind)
    for column, target in pairs.items():
        if header_key(target) in IGNORE_WORDS:
            resolved[column] = IGNORE  # « ignorer » : the column is read as nothing
            continue
        name = words.get(header_key(target))
        if name is None:
            if header_key(target) in {"champ", "field"}:
                continue  # a header line « colonne;champ »
            choices = ", ".join(f.label for f in FIELDS[kind])
            raise UnreadableFile(
                f"Fichier de correspondance : champ inconnu « {target} » pour la colonne "
                f"« {column} » (champs possibles : {choices})."
            )
        resolved[column] = name
    return resolved
