"""First and second opening of /reseau on a running instance: time and size of the page.

Usage (a `departement` demo served by `maillage serve`, an admin account you created):

    export MAILLAGE_DATA_DIR=/tmp/dep
    maillage init && maillage demo --scale departement --seed 7 --today 2026-11-29 --force
    echo "un-mot-de-passe-long" | maillage user add mesure@maillage.example --role admin --password-stdin
    maillage serve --port 8766 &
    python bench/network_page.py http://127.0.0.1:8766 mesure@maillage.example un-mot-de-passe-long

The first opening computes the network (off the event loop); the second is served from the
report cache. The client is another process, as with `wrk`.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time

import httpx


async def measure(base_url: str, email: str, password: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        form = await client.get("/connexion")
        match = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
        if match is None:
            sys.exit("Pas de jeton anti-falsification sur /connexion.")
        signed_in = await client.post(
            "/connexion", data={"email": email, "password": password, "_csrf_token": match[1]}
        )
        if signed_in.status_code != 303:
            sys.exit(f"Connexion refusée ({signed_in.status_code}).")
        for label in ("première ouverture", "deuxième ouverture"):
            start = time.perf_counter()
            page = await client.get("/reseau")
            elapsed = time.perf_counter() - start
            print(
                f"/reseau, {label} : {page.status_code}, {elapsed:.2f} s, {len(page.content):,} octets"
            )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(measure(*sys.argv[1:]))
