"""User and tweet lookups: shapes, partial errors, fields opt-in, expansions, renames."""

from __future__ import annotations

import requests

from xsim import SimulatorServer

NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"


def test_fields_are_opt_in(shared_sim: SimulatorServer, http: requests.Session) -> None:
    acc = shared_sim.world.accounts[6]
    user = http.get(f"{shared_sim.base_url}/users/{acc.user_id}").json()
    assert set(user["data"]) == {"id", "name", "username"}
    tweets = http.get(f"{shared_sim.base_url}/users/{acc.user_id}/tweets").json()
    assert all(set(t) == {"id", "text", "edit_history_tweet_ids"} for t in tweets["data"])
    assert "includes" not in tweets
    full = http.get(
        f"{shared_sim.base_url}/users/{acc.user_id}",
        params={
            "user.fields": "created_at,description,public_metrics,protected,verified,verified_type,profile_image_url"
        },
    ).json()["data"]
    assert {"created_at", "description", "public_metrics", "protected", "verified", "verified_type"} <= set(full)
    assert full["created_at"].endswith(".000Z")
    assert set(full["public_metrics"]) >= {"followers_count", "following_count", "tweet_count", "listed_count"}
    assert full["public_metrics"]["tweet_count"] == shared_sim.world.tweet_count(acc.user_id)


def test_users_by_mixes_data_and_errors(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    names = [world.accounts[6].username.upper(), "nobody_here_x", world.suspended.username, world.protected.username]
    body = http.get(
        f"{shared_sim.base_url}/users/by", params={"usernames": ",".join(names), "user.fields": "protected"}
    ).json()
    assert [u["id"] for u in body["data"]] == [world.accounts[6].user_id, world.protected.user_id]
    assert body["data"][1]["protected"] is True and body["data"][0]["protected"] is False
    assert body["errors"] == [
        {
            "value": "nobody_here_x",
            "detail": "Could not find user with usernames: [nobody_here_x].",
            "title": "Not Found Error",
            "resource_type": "user",
            "parameter": "usernames",
            "resource_id": "nobody_here_x",
            "type": NOT_FOUND,
        },
        {
            "value": world.suspended.username,
            "detail": f"User has been suspended: [{world.suspended.username}].",
            "title": "Forbidden",
            "resource_type": "user",
            "parameter": "usernames",
            "resource_id": world.suspended.username,
            "type": NOT_FOUND,
        },
    ]
    assert "meta" not in body


def test_users_by_ids_and_single_user(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    ids = [world.accounts[5].user_id, "12345", world.suspended.user_id]
    body = http.get(f"{shared_sim.base_url}/users", params={"ids": ",".join(ids)}).json()
    assert [u["id"] for u in body["data"]] == [ids[0]]
    assert [(e["title"], e["parameter"], e["value"]) for e in body["errors"]] == [
        ("Not Found Error", "ids", "12345"),
        ("Forbidden", "ids", world.suspended.user_id),
    ]
    single = http.get(f"{shared_sim.base_url}/users/{world.protected.user_id}").json()
    assert single["data"]["id"] == world.protected.user_id
    unknown = http.get(f"{shared_sim.base_url}/users/12345").json()
    assert unknown == {
        "errors": [
            {
                "value": "12345",
                "detail": "Could not find user with id: [12345].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "id",
                "resource_id": "12345",
                "type": NOT_FOUND,
            }
        ]
    }


def test_rename_old_name_disappears_but_id_still_works(sim: SimulatorServer, http: requests.Session) -> None:
    acc = sim.world.renamed
    old = acc.username
    assert http.get(f"{sim.base_url}/users/by", params={"usernames": old}).json()["data"][0]["id"] == acc.user_id
    sim.clock.set(sim.world.rename_at)
    new = acc.username
    assert new != old
    gone = http.get(f"{sim.base_url}/users/by", params={"usernames": old}).json()
    assert "data" not in gone and gone["errors"][0]["title"] == "Not Found Error"
    assert http.get(f"{sim.base_url}/users/by", params={"usernames": new}).json()["data"][0]["id"] == acc.user_id
    assert http.get(f"{sim.base_url}/users/{acc.user_id}").json()["data"]["username"] == new


def test_tweet_lookup_partial_errors(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    good = world.timeline_ids(world.accounts[6].user_id)[:2]
    protected = world.visible_ids(world.protected.user_id)[0]
    unknown = "1477067041797046272"
    body = http.get(f"{shared_sim.base_url}/tweets", params={"ids": ",".join([*good, protected, unknown])}).json()
    assert [t["id"] for t in body["data"]] == good
    assert "meta" not in body
    assert body["errors"] == [
        {
            "value": protected,
            "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{protected}].",
            "title": "Authorization Error",
            "resource_type": "tweet",
            "parameter": "ids",
            "resource_id": protected,
            "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
        },
        {
            "value": unknown,
            "detail": f"Could not find tweet with ids: [{unknown}].",
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": "ids",
            "resource_id": unknown,
            "type": NOT_FOUND,
        },
    ]


def test_future_posts_do_not_exist_yet(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    ids = world.posts(world.heavy.index).ids
    future = next(str(t) for t in ids if t >> 22 > (world.start_ms - 1288834974657) + 3_600_000)
    body = http.get(f"{shared_sim.base_url}/tweets", params={"ids": future}).json()
    assert "data" not in body and body["errors"][0]["title"] == "Not Found Error"


def test_expansions_fill_includes(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    heavy = world.heavy.user_id
    body = http.get(
        f"{shared_sim.base_url}/users/{heavy}/tweets",
        params={
            "max_results": 100,
            "tweet.fields": "referenced_tweets,author_id,in_reply_to_user_id,attachments",
            "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id,attachments.media_keys",
            "user.fields": "username,public_metrics",
        },
    ).json()
    users = {u["id"] for u in body["includes"]["users"]}
    assert heavy in users
    included = {t["id"] for t in body["includes"]["tweets"]}
    missing = {e["value"] for e in body.get("errors", [])}
    for tweet in body["data"]:
        for ref in tweet.get("referenced_tweets", []):
            assert ref["id"] in included or ref["id"] in missing
    for tweet in body["includes"]["tweets"]:
        assert tweet["author_id"] in users
    keys = {m["media_key"] for m in body["includes"].get("media", [])}
    assert keys == {k for t in body["data"] for k in t.get("attachments", {}).get("media_keys", [])}
    assert all(e.get("section") == "includes" for e in body.get("errors", []))


def test_long_posts_carry_note_tweet_only_when_asked(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    long_id = next(
        tid
        for acc in world.accounts[5:]
        for tid in world.visible_ids(acc.user_id)[:400]
        if world.tweet(tid).note is not None
    )
    plain = http.get(f"{shared_sim.base_url}/tweets", params={"ids": long_id}).json()["data"][0]
    assert "note_tweet" not in plain
    rich = http.get(
        f"{shared_sim.base_url}/tweets", params={"ids": long_id, "tweet.fields": "note_tweet,entities"}
    ).json()["data"][0]
    assert len(rich["text"]) <= 280 < len(rich["note_tweet"]["text"])
    assert rich["note_tweet"]["text"].startswith(rich["text"][:200])


def test_users_expansion_pinned_tweet(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    pinned_users = [a for a in world.accounts[5:] if world.pinned_tweet_id(a) is not None]
    assert pinned_users
    acc = pinned_users[0]
    body = http.get(
        f"{shared_sim.base_url}/users/{acc.user_id}",
        params={"user.fields": "pinned_tweet_id", "expansions": "pinned_tweet_id", "tweet.fields": "created_at"},
    ).json()
    assert body["includes"]["tweets"][0]["id"] == body["data"]["pinned_tweet_id"]
