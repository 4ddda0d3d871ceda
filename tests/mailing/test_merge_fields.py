"""Merge fields are plain substitution: names only, no loops, calls, arithmetic or includes.

Each hostile template below answered 500, printed a memory address or held a worker busy with
the Jinja2 sandbox; they are now refused in French, with the line, and cost nothing.
"""

from __future__ import annotations

import time

import pytest

from maillage.errors import InvalidData
from maillage.mailing import mailings
from maillage.tables import OutboxMessage

HOSTILE = [
    "{% include 'base.html' %}",
    "{{ lipsum }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
    "{{ 'x' * 10**8 }}",
    "{{ 2**(10**5) }}",
    "{{ prenom.upper() }}",
    "{{ prenom|upper }}",
    "{{ prenom ~ nom }}",
    "{# commentaire #}{{ prenom }}",
    "{{ prenom.__class__ }}",
    "{{- prenom -}}",
]


@pytest.mark.parametrize("template", HOSTILE)
async def test_anything_but_a_name_is_refused_at_once(coordinator, body, template):
    started = time.perf_counter()
    response = await coordinator.client.post(
        "/api/v1/mailings/preview",
        json={"subject": "Nouvelles", "body": f"Bonjour,\n\n{template}\n"},
    )
    assert time.perf_counter() - started < 2
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "body"
    message = error["message"]
    assert message.startswith(
        ("Modèle refusé à la ligne 3 : ", "Champ de fusion inconnu à la ligne 3 : ")
    )
    assert "{{ prenom }}" in message
    assert "0x" not in message and "undefined" not in message


async def test_refused_templates_queue_nothing(coordinator, body):
    response = await coordinator.client.post(
        "/api/v1/mailings", json={"subject": "{{ 2**(10**5) }}", "body": "Bonjour"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("Modèle refusé : « {{ 2**(10**5)")
    assert await OutboxMessage.count() == 0


def test_a_value_is_never_read_as_a_template():
    values = dict.fromkeys(mailings.MERGE_FIELDS, "")
    values.update(prenom="{{ nom }}", nom="Lefèvre")
    text = mailings.render("Bonjour {{prenom}} {{  nom  }},\r\nÀ bientôt\n", values, "body")
    assert text == "Bonjour {{ nom }} Lefèvre,\nÀ bientôt"


def test_an_unclosed_field_is_unreadable_with_its_line():
    with pytest.raises(InvalidData) as refused:
        mailings.check_template("Bonjour,\n\n{{ prenom }\n", "body")
    assert refused.value.errors[0].message.startswith("Modèle illisible à la ligne 3 : ")
