"""A short form of bench/load.py: 50 clients for a few seconds against two workers."""

from __future__ import annotations

import os

from bench.load import run
from tests.hardening.live import Instance, private_database

DURATION = float(os.environ.get("MAILLAGE_LOAD_SECONDS", "8"))


def test_fifty_clients_get_no_server_error_and_lose_no_write(tmp_path):
    with private_database(tmp_path) as database_url:
        report = run(Instance(tmp_path, database_url), clients=50, duration=DURATION)
    outcome = report.outcome
    print(outcome.table())
    assert outcome.server_errors == []
    assert report.locked == 0
    assert outcome.writes_acknowledged > 0 and outcome.answers_acknowledged
    assert report.lost_writes == 0
    assert report.lost_answers == 0
    assert set(outcome.statuses) <= {200, 201}, outcome.statuses
