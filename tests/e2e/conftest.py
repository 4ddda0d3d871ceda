"""A real server (uvicorn in a subprocess, as `maillage serve` runs it) and Debian's Chromium
driven by Playwright. Skipped, with the reason, where Chromium or Playwright is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - depends on the machine
    async_playwright = None

if async_playwright is None or not shutil.which(CHROMIUM):
    pytest.skip(
        "Chromium (paquet Debian « chromium ») ou Playwright absent : tests navigateur ignorés "
        "/ Chromium or Playwright missing: browser tests skipped "
        "(apt-get install chromium; pip install -e '.[test]').",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Module scope: the server runs the background mail sender, which must not take the messages
# queued by the tests of other packages once the browser tests are done.
@pytest.fixture(scope="module")
def server(migrated_database: str, data_dir: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env.update(
        MAILLAGE_DATABASE_URL=migrated_database,
        MAILLAGE_DATA_DIR=str(data_dir / "e2e"),
        MAILLAGE_SECRET_KEY="e2e-secret-key-not-for-production",
        MAILLAGE_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=str(ROOT),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "maillage.web.app:app_from_environment", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError("le serveur de test s'est arrêté au démarrage")
            time.sleep(0.2)
        else:
            raise RuntimeError("le serveur de test ne répond pas")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[object]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@dataclass
class Visit:
    """A browser tab that records every address it requests."""

    page: object
    base: str
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(self.base + "/")]


@pytest.fixture
async def tab(chromium, server, database) -> AsyncIterator[Visit]:
    context = await chromium.new_context(locale="fr-FR", base_url=server)
    page = await context.new_page()
    visit = Visit(page=page, base=server)
    page.on("request", lambda request: visit.requests.append(request.url))
    yield visit
    await context.close()
