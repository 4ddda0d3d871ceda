"""Subscribable feeds: content, validators and 304, secret token URLs and their revocation."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import pytest
from icalendar import Calendar

from maillage.actor import CLI
from maillage.calendar import feeds
from maillage.tables import FeedToken, User
from tests.calendar.calendar_helpers import post, slot, strict


async def meeting(client, group_id: int, day: str = "2027-01-12", title: str = "Bilan") -> dict:
    payload = {"working_group": group_id, "title": title, **slot(day)}
    return (await post(client, "/api/v1/calendar/meetings", payload))["meeting"]


async def test_a_group_feed_holds_its_meetings_and_keeps_cancelled_ones(coordinator, body):
    c, group_id = coordinator.client, body["group"]["id"]
    kept = await meeting(c, group_id)
    cancelled = await meeting(c, group_id, "2027-02-09", "Annulé")
    await post(c, f"/api/v1/calendar/meetings/{cancelled['id']}/cancel", {"version": 1}, 200)
    await meeting(c, group_id, "2024-01-09", "Trop ancienne")
    other = await post(c, "/api/v1/groups", {"name": "Commission jeunesse", "kind": "reseau"})
    await meeting(c, other["id"])
    response = await c.get(f"/calendar/groups/{group_id}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = strict(response.text)
    assert {e.uid: e.status.value for e in calendar.events} == {
        kept["ical_uid"]: "CONFIRMED",
        cancelled["ical_uid"]: "CANCELLED",
    }
    assert b"X-WR-CALNAME:COPIL" in response.content
    territory = strict((await c.get("/calendar/territory.ics")).text)
    assert len(territory.events) == 3


@pytest.mark.slow
async def test_a_repeated_request_gets_304_until_something_changes(coordinator, body):
    c, group_id = coordinator.client, body["group"]["id"]
    first = await meeting(c, group_id)
    url = f"/calendar/groups/{group_id}.ics"
    response = await c.get(url)
    etag, modified = response.headers["etag"], response.headers["last-modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    again = await c.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # Last-Modified counts whole seconds: it is trusted once the second of the change is over.
    await asyncio.sleep(1.1)
    assert (await c.get(url, headers={"If-Modified-Since": modified})).status_code == 304
    # A move changes the feed: new validator, full answer.
    await post(
        c,
        f"/api/v1/calendar/meetings/{first['id']}/move",
        {"version": 1, **slot("2027-01-19")},
        200,
    )
    changed = await c.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert strict(changed.text).events[0].sequence == 1
    # Deleting a meeting changes it too, even though no remaining row is newer.
    etag, modified = changed.headers["etag"], changed.headers["last-modified"]
    await asyncio.sleep(1.1)  # the deletion falls in a later second than the move
    assert (await c.delete(f"/api/v1/meetings/{first['id']}")).status_code == 204
    after_delete = await c.get(url, headers={"If-None-Match": etag})
    assert after_delete.status_code == 200
    assert strict(after_delete.text).events == []
    # A client that only sends If-Modified-Since sees the deletion too: no row is newer than
    # the move, the deletion's own time counts.
    await asyncio.sleep(1.1)
    assert (await c.get(url, headers={"If-Modified-Since": modified})).status_code == 200


async def test_renaming_the_body_changes_the_feed(coordinator, body):
    c, group = coordinator.client, body["group"]
    await meeting(c, group["id"])
    url = f"/calendar/groups/{group['id']}.ics"
    etag = (await c.get(url)).headers["etag"]
    response = await c.patch(f"/api/v1/groups/{group['id']}", json={"version": 1, "kind": "cotech"})
    assert response.status_code == 200
    renamed = await c.get(url, headers={"If-None-Match": etag})
    assert renamed.status_code == 200
    assert strict(renamed.text).events[0].summary == "COTECH CTG — Bilan"


async def test_feeds_need_a_login_or_a_token(anonymous, body):
    group_id = body["group"]["id"]
    for url in (f"/calendar/groups/{group_id}.ics", "/calendar/territory.ics"):
        response = await anonymous.get(url)
        assert response.status_code == 401
        assert "Authentification requise" in response.json()["detail"]


async def test_a_shared_token_opens_the_feed_until_it_is_revoked(coordinator, anonymous, body):
    c, group_id = coordinator.client, body["group"]["id"]
    created = await meeting(c, group_id)
    token = await post(c, "/api/v1/calendar/feed-tokens", {"scope": "group", "target_id": group_id})
    assert token["token"].startswith("mlf_")
    path = f"/calendar/feeds/{token['token']}.ics"
    assert token["links"] == {
        "https": f"http://testserver{path}",
        "webcal": f"webcal://testserver{path}",
    }
    response = await anonymous.get(path)
    assert response.status_code == 200
    assert [e.uid for e in strict(response.text).events] == [created["ical_uid"]]
    assert (
        await anonymous.get(path, headers={"If-None-Match": response.headers["etag"]})
    ).status_code == 304
    listed = (await c.get("/api/v1/calendar/feed-tokens", params={"scope": "group"})).json()
    assert [(t["scope"], t["target_id"], t["revoked_at"]) for t in listed] == [
        ("group", group_id, None)
    ]
    assert "token" not in listed[0]
    assert (await c.delete(f"/api/v1/calendar/feed-tokens/{token['id']}")).status_code == 204
    gone = await anonymous.get(path)
    assert gone.status_code == 404
    assert gone.json()["detail"] == "Cette adresse n'existe pas."
    assert (await anonymous.get("/calendar/feeds/mlf_" + "x" * 43 + ".ics")).status_code == 404


async def test_a_reader_cannot_create_shared_tokens(reader, body):
    response = await reader.client.post(
        "/api/v1/calendar/feed-tokens", json={"scope": "group", "target_id": body["group"]["id"]}
    )
    assert response.status_code == 403


async def test_my_meetings_feed_follows_invitations_and_memberships(
    coordinator, reader, anonymous, body
):
    c, helene = coordinator.client, body["helene"]
    of_her_body = await meeting(c, body["group"]["id"])
    cotech = await post(c, "/api/v1/groups", {"name": "Comité technique", "kind": "cotech"})
    invited = await meeting(c, cotech["id"], "2027-03-02", "Budget")
    await meeting(c, cotech["id"], "2027-03-09", "Sans elle")
    await post(c, "/api/v1/invitations", {"meeting": invited["id"], "contact": helene["id"]})
    # Without a linked contact, « mes réunions » cannot exist.
    response = await reader.client.post("/api/v1/calendar/my-feed-token")
    assert response.status_code == 404
    user_id = (await User.select(User.id).where(User.email == reader.email).first())["id"]
    await User.update({User.contact: helene["id"]}).where(User.id == user_id)
    token = await post(reader.client, "/api/v1/calendar/my-feed-token", {})
    response = await anonymous.get(f"/calendar/feeds/{token['token']}.ics")
    assert response.status_code == 200
    assert sorted(e.uid for e in strict(response.text).events) == sorted(
        [of_her_body["ical_uid"], invited["ical_uid"]]
    )
    name = Calendar.from_ical(response.content)["X-WR-CALNAME"]
    assert name == "Mes réunions CTG — Hélène Lefèvre"
    mine = await reader.client.get("/calendar/me.ics")
    assert len(strict(mine.text).events) == 2


async def test_feed_links_are_listed_with_webcal(reader, body):
    response = await reader.client.get("/api/v1/calendar/feeds")
    assert response.status_code == 200
    links = response.json()
    assert links[0]["links"]["webcal"] == "webcal://testserver/calendar/territory.ics"
    assert links[1] == {
        "name": "COPIL",
        "scope": "group",
        "target_id": body["group"]["id"],
        "links": {
            "https": f"http://testserver/calendar/groups/{body['group']['id']}.ics",
            "webcal": f"webcal://testserver/calendar/groups/{body['group']['id']}.ics",
        },
    }


async def test_feed_tokens_are_stored_hashed(coordinator, body):
    token = await post(coordinator.client, "/api/v1/calendar/feed-tokens", {"scope": "territory"})
    (row,) = await FeedToken.select()
    assert row["token_hash"] == hashlib.sha256(token["token"].encode()).hexdigest()
    assert token["token"] not in str(row)


async def test_unknown_or_malformed_feed_addresses_answer_404(coordinator, body):
    c = coordinator.client
    for url in (
        "/calendar/groups/999.ics",
        "/calendar/groups/99999999999.ics",  # beyond a 32-bit id: still a clean 404
        "/calendar/groups/1.json",
        "/calendar/meetings/0.ics",
        "/calendar/meetings/12.ics",
        "/calendar/feeds/pas-un-jeton.ics",
    ):
        response = await c.get(url)
        assert response.status_code == 404, url
        assert response.json()["detail"].endswith("introuvable.") or "n'existe pas" in response.text


async def test_feeds_set_no_anti_forgery_cookie(coordinator, anonymous, body):
    """A feed is public and cacheable: no CSRF cookie, which would also make it uncacheable."""
    c, group_id = coordinator.client, body["group"]["id"]
    await meeting(c, group_id)
    token = await post(c, "/api/v1/calendar/feed-tokens", {"scope": "group", "target_id": group_id})
    response = await anonymous.get(f"/calendar/feeds/{token['token']}.ics")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers


async def test_last_modified_never_lies_in_the_future(coordinator, body):
    """A meeting stamped ahead of the clock (an import, a demo dated ahead) must not push the
    feed's Last-Modified past the answer's own date (RFC 9110 §8.8.2.1)."""
    from email.utils import parsedate_to_datetime

    from maillage.tables import Meeting

    c, group_id = coordinator.client, body["group"]["id"]
    made = await meeting(c, group_id)
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    await Meeting.update({Meeting.updated_at: ahead}).where(Meeting.id == made["id"])
    response = await c.get(f"/calendar/groups/{group_id}.ics")
    modified = parsedate_to_datetime(response.headers["last-modified"])
    assert modified <= dt.datetime.now(dt.UTC)
    # The ETag still answers 304 for the unchanged feed.
    again = await c.get(
        f"/calendar/groups/{group_id}.ics", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


async def test_head_answers_like_get_without_a_body(coordinator, body):
    c, group_id = coordinator.client, body["group"]["id"]
    await meeting(c, group_id)
    url = f"/calendar/groups/{group_id}.ics"
    got = await c.get(url)
    head = await c.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-type"] == got.headers["content-type"]
    assert int(head.headers["content-length"]) == len(got.content)


def _sent(trips: list[str]) -> list[str]:
    """The trips of the request's work (not the pool's reset of a connection given back)."""
    return [trip for trip in trips if trip != "RESET"]


async def test_a_subscribed_feed_revalidates_in_one_statement(
    coordinator, anonymous, body, round_trips, settings, monkeypatch
):
    """#16: the token and the body feed's validators (its meetings' aggregates with the
    bodies', the axes' and the latest deletion's state) in one statement read without a
    transaction: on SQLite read on the event loop's own connection (three thread hops before),
    one round trip on PostgreSQL (four before); a 304 renders nothing. The ETag is the one of the validators read alone."""
    from maillage import db
    from maillage.calendar import feeds

    c, group_id = coordinator.client, body["group"]["id"]
    await meeting(c, group_id)
    token = await post(c, "/api/v1/calendar/feed-tokens", {"scope": "group", "target_id": group_id})
    path = f"/calendar/feeds/{token['token']}.ics"
    etag = (await anonymous.get(path)).headers["etag"]
    assert etag == (await feeds.feed_state(feeds.group_feed(group_id), settings)).etag
    if not db.is_sqlite():
        async with db.read_transaction():  # looks the role that reads every row up
            pass
    round_trips.clear()
    windowed = feeds._windowed
    built: list[object] = []
    monkeypatch.setattr(feeds, "_windowed", lambda *a: built.append(a) or windowed(*a))
    assert (await anonymous.get(path, headers={"If-None-Match": etag})).status_code == 304
    assert built == []  # the meetings' clause is built for a body only
    # A read of every row without the policies still takes a transaction (`read_statement`).
    sees_all = not db.is_sqlite() and db.current_engine()._sees_all is not None
    assert round_trips.count("LOOP" if db.is_sqlite() else "WITH") == 1
    assert len(_sent(round_trips)) == (3 if sees_all else 1), round_trips
    # Each part of the shared state still moves the ETag.
    await post(c, "/api/v1/groups", {"name": "Commission jeunesse", "kind": "reseau"})
    assert (await anonymous.get(path, headers={"If-None-Match": etag})).status_code == 200
    # Unknown and revoked tokens: 404, one statement.
    round_trips.clear()
    assert (await anonymous.get("/calendar/feeds/mlf_" + "x" * 43 + ".ics")).status_code == 404
    assert round_trips.count("LOOP" if db.is_sqlite() else "WITH") == 1
    assert len(_sent(round_trips)) == (3 if sees_all else 1)


@pytest.mark.parametrize("scope", ["territory", "contact"])
async def test_a_secret_feed_of_another_scope_keeps_its_validators(
    coordinator, anonymous, body, scope, settings
):
    """#16: the token's statement reads a body's validators only; the territory's and a
    person's feeds read theirs next, and answer 304 to their own ETag."""
    from maillage.calendar import feeds

    c, group_id = coordinator.client, body["group"]["id"]
    await meeting(c, group_id)
    target = None if scope == "territory" else body["helene"]["id"]
    token, _ = await feeds.create_token(CLI, scope, target)
    path = f"/calendar/feeds/{token}.ics"
    got = await anonymous.get(path)
    feed = feeds.territory_feed() if target is None else feeds.contact_feed(target)
    assert got.status_code == 200
    assert got.headers["etag"] == (await feeds.feed_state(feed, settings)).etag
    again = await anonymous.get(path, headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("scope", ["group", "territory"])
async def test_a_feed_s_validators_are_built_once_and_equal_to_a_fresh_build(
    coordinator, body, scope, monkeypatch, settings
):
    """#16: the validators' statement of a body's or the territory's secret feed is built once
    (`Prepared`); its ETag is the one of the statement built afresh for the feed."""
    from maillage.calendar import feeds

    c, group_id = coordinator.client, body["group"]["id"]
    await meeting(c, group_id)
    feed = feeds.group_feed(group_id) if scope == "group" else feeds.territory_feed()
    prepared = feeds._STATE_OF[scope]
    state = await feeds.feed_state(feed, settings)
    assert all(kept is not None for kept in prepared._kept.values()) and prepared._kept
    built: list[int] = []
    build = prepared._build

    def counted(*values):
        built.append(1)
        return build(*values)

    monkeypatch.setattr(prepared, "_build", counted)
    assert (await feeds.feed_state(feed, settings)).etag == state.etag
    assert built == []
    # The statement built afresh for this feed (as before #16) gives the same validators.
    monkeypatch.setattr(feeds, "_state_query", lambda f: feeds._aggregates().where(f.where))
    assert (await feeds.feed_state(feed, settings)).etag == state.etag
    await meeting(c, group_id)
    monkeypatch.undo()
    assert (await feeds.feed_state(feed, settings)).etag != state.etag


@pytest.mark.parametrize("scope", ["group", "territory", "contact"])
def test_a_feeds_clause_is_built_once_whoever_reads_it(scope):
    """The validators and the body of a feed answered 200 both read its meetings' clause: it
    is built at the first read, then the same (#16); a revalidation never builds it."""
    made = {"group": feeds.group_feed, "territory": feeds.territory_feed}
    feed = made.get(scope, feeds.contact_feed)(7)
    assert feed.where is feed.where
