"""Every edit form of every record the demo holds saves unchanged (#21).

The form is read as a browser reads it (every field with the value it shows, the options
selected, the boxes ticked) and sent back as is: the page must accept it and the record must
come back from the API as it was, apart from its version and timestamps.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

import pytest

from maillage.crm.demo import load_demo
from maillage.tables import Action, Contact, Meeting, Organisation, WorkingGroup
from tests.web.helpers import html_text

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 11, 29)

# Page path, API resource and table of each record kind that has an edit form.
KINDS = {
    "partenaires": ("organisations", Organisation),
    "contacts": ("contacts", Contact),
    "instances": ("groups", WorkingGroup),
    "plan-d-action": ("actions", Action),
    "reunions": ("meetings", Meeting),
}

# What a save is allowed to change.
MOVING = {"version", "updated_at", "updated_by"}


class FormReader(HTMLParser):
    """The fields of the first form posting to ``action``, with the values a browser sends."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._option_value: str | None = None
        self._option_selected = False
        self._option_text = ""
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        # A form without ``action`` posts to the page's own address, which is ``action`` here.
        if tag == "form" and not self.done and a.get("action", self.action) == self.action:
            self.inside = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "reset", "file", "image"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._options = name, []
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            self._option_value = a.get("value")
            self._option_selected = "selected" in a
            self._option_text = ""
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data
        if self._option_value is None and self._select is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "option" and self._select is not None:
            value = self._option_value if self._option_value is not None else self._option_text
            self._options.append((value.strip() if self._option_value is None else value,
                                  self._option_selected))  # fmt: skip
            self._option_value = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and self._options and not self._multiple:
                chosen = [self._options[0][0]]  # a browser sends the first option
            self.fields.extend((self._select, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # The HTML parser drops the one newline that follows <textarea>; so do browsers.
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self.inside, self.done = False, True


def form_fields(page: str, action: str) -> list[tuple[str, str]]:
    reader = FormReader(action)
    reader.feed(page)
    assert reader.done, f"pas de formulaire vers {action}"
    return [(name, value) for name, value in reader.fields if name != "_csrf_token"]


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in MOVING}


@pytest.fixture
async def demo(database) -> None:
    await load_demo(seed=1, today=TODAY)


@pytest.mark.parametrize("path", list(KINDS))
async def test_every_demo_record_saves_unchanged_through_its_edit_form(
    path, demo, coordinator_web, admin
):
    resource, table = KINDS[path]
    ids = [row["id"] for row in await table.select(table.id).order_by(table.id)]
    assert ids, f"la démo ne contient aucun enregistrement pour /{path}"
    problems: list[str] = []
    for record_id in ids:
        url = f"/{path}/{record_id}/modifier"
        form = await coordinator_web.get(url)
        if form.status_code != 200:
            problems.append(f"GET {url} : {form.status_code} {html_text(form)[:200]}")
            continue
        before = (await admin.client.get(f"/api/v1/{resource}/{record_id}")).json()
        saved = await coordinator_web.post(url, form_fields(form.text, url))
        if saved.status_code != 303:
            problems.append(f"POST {url} : {saved.status_code} {html_text(saved)[:300]}")
            continue
        after = (await admin.client.get(f"/api/v1/{resource}/{record_id}")).json()
        if comparable(after) != comparable(before):
            changed = sorted(k for k in comparable(before) if before.get(k) != after.get(k))
            problems.append(f"POST {url} a changé {changed}")
    assert not problems, f"{len(problems)}/{len(ids)} :\n" + "\n".join(problems[:20])
