"""One EPCI read from the registers decompresses each large file only up to its last
département (#18): the index shipped with maillage is the files' own, and an EPCI read with
it is the EPCI read from the whole files."""

from __future__ import annotations

import importlib.metadata

import msgspec
import pytest

from maillage.opendata import registers

KEY = registers.mandate_key("clé de l'instance de test, assez longue")


class WholeFiles(registers.Files):
    """The files read to their end, as before the index."""

    def prefetch(self, name: str, window: tuple[int, int] | None = None) -> None:
        if name != "communes.csv.lzma":  # streamed when not prefetched
            super().prefetch(name, None)


@pytest.mark.slow
def test_the_shipped_index_is_the_one_built_from_the_installed_registers():
    shipped = registers._index_file(importlib.metadata.version(registers.PACKAGE))

    assert msgspec.json.decode(shipped.read_bytes()) == registers.build_index()


@pytest.mark.parametrize(
    "siren",
    [
        "200029999",  # Ain, the first département of the files: a few kilobytes read
        "200030526",  # Bas-Rhin and Haut-Rhin: read up to the second
    ],
)
@pytest.mark.slow
def test_an_epci_read_with_the_index_is_the_epci_read_from_the_whole_files(siren):
    epci = registers.find_epci(siren)
    windows = registers.read_windows(siren)

    assert set(windows) == set(registers.INDEXED)
    assert (
        registers._TerritoryReader(epci, "octobre 2026", KEY).read()
        == registers._TerritoryReader(epci, "octobre 2026", KEY, WholeFiles()).read()
    )


def test_an_epci_the_index_does_not_know_is_read_whole():
    assert registers.read_windows("000000000") == {}


def test_a_window_is_the_header_and_the_bytes_asked():
    whole = registers._decompressed("epci.csv.lzma")
    header = whole[: whole.index(b"\n") + 1]

    assert registers._decompressed("epci.csv.lzma", (0, 1000)) == whole[:1000]
    assert registers._decompressed("epci.csv.lzma", (5000, 9000)) == header + whole[5000:9000]
    assert registers._decompressed("epci.csv.lzma", (0, len(whole) + 10)) == whole
