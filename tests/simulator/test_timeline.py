"""GET /2/users/:id/tweets: paging, bounds, the 3,200 cap, exclude, edits, deletions, growth."""

from __future__ import annotations

from typing import Any

import requests

from xsim import SimulatorServer
from xsim.timeutil import format_api_time, ms_from_id


def walk(sim: SimulatorServer, http: requests.Session, user_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a timeline, following next_token until it disappears."""
    pages = []
    token = None
    while True:
        query = dict(params)
        if token:
            query["pagination_token"] = token
        response = http.get(f"{sim.base_url}/users/{user_id}/tweets", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        token = body["meta"].get("next_token")
        if token is None:
            return pages
        assert len(pages) < 200, "pagination does not terminate"


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [tweet["id"] for page in pages for tweet in page.get("data", [])]


def test_walk_matches_ground_truth_without_gaps_or_duplicates(
    shared_sim: SimulatorServer, http: requests.Session
) -> None:
    world = shared_sim.world
    for acc in world.accounts[5:9]:
        pages = walk(shared_sim, http, acc.user_id, max_results=37)
        got = ids_of(pages)
        assert len(got) == len(set(got))
        assert got == world.timeline_ids(acc.user_id)
        for page in pages:
            meta = page["meta"]
            assert meta["result_count"] == len(page.get("data", []))
            if page.get("data"):
                assert meta["newest_id"] == page["data"][0]["id"]
                assert meta["oldest_id"] == page["data"][-1]["id"]
            else:
                assert "newest_id" not in meta and "data" not in page


def test_exact_page_boundary_ends_with_an_empty_tokenless_page(
    shared_sim: SimulatorServer, http: requests.Session
) -> None:
    heavy = shared_sim.world.heavy.user_id
    pages = walk(shared_sim, http, heavy, max_results=100)
    assert len(pages) == 33
    assert all(page["meta"]["result_count"] == 100 and "next_token" in page["meta"] for page in pages[:32])
    assert pages[-1] == {"meta": {"result_count": 0}}
    assert ids_of(pages) == shared_sim.world.timeline_ids(heavy)
    assert "previous_token" not in pages[0]["meta"] and "previous_token" in pages[1]["meta"]


def test_tokens_are_opaque_and_previous_token_goes_back(shared_sim: SimulatorServer, http: requests.Session) -> None:
    heavy = shared_sim.world.heavy.user_id
    pages = walk(shared_sim, http, heavy, max_results=100)
    tokens = [p["meta"]["next_token"] for p in pages[:-1]]
    assert len(set(tokens)) == len(tokens)
    assert not any(
        t.isdigit() or heavy in t or str(p["meta"]["oldest_id"]) in t for t, p in zip(tokens, pages, strict=False)
    )
    back = http.get(
        f"{shared_sim.base_url}/users/{heavy}/tweets",
        params={"max_results": 100, "pagination_token": pages[2]["meta"]["previous_token"]},
    ).json()
    assert [t["id"] for t in back["data"]] == [t["id"] for t in pages[1]["data"]]


def test_default_page_size_is_ten(shared_sim: SimulatorServer, http: requests.Session) -> None:
    body = http.get(f"{shared_sim.base_url}/users/{shared_sim.world.heavy.user_id}/tweets").json()
    assert body["meta"]["result_count"] == 10 and "next_token" in body["meta"]


def test_cap_makes_older_posts_unreachable(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    heavy = world.heavy.user_id
    reachable = world.timeline_ids(heavy)
    everything = world.visible_ids(heavy)
    assert everything[:3200] == reachable and len(everything) > 3300
    beyond = everything[3250]
    response = http.get(f"{shared_sim.base_url}/users/{heavy}/tweets", params={"until_id": beyond})
    assert response.status_code == 200 and response.json() == {"meta": {"result_count": 0}}
    # since_id older than the window: silently served from the oldest post still reachable
    pages = walk(shared_sim, http, heavy, max_results=100, since_id=everything[3300])
    assert ids_of(pages) == reachable


def test_since_and_until_are_exclusive(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    acc = world.accounts[7].user_id
    truth = world.timeline_ids(acc)
    since, until = truth[40], truth[10]
    pages = walk(shared_sim, http, acc, max_results=5, since_id=since, until_id=until)
    assert ids_of(pages) == truth[11:40]


def test_start_and_end_time_are_inclusive_at_second_granularity(
    shared_sim: SimulatorServer, http: requests.Session
) -> None:
    world = shared_sim.world
    acc = world.accounts[8].user_id
    truth = world.timeline_ids(acc)
    newest, oldest = truth[5], truth[25]
    start = format_api_time(ms_from_id(int(oldest))).replace(".000Z", "Z")
    end = format_api_time(ms_from_id(int(newest))).replace(".000Z", "Z")
    pages = walk(shared_sim, http, acc, max_results=100, start_time=start, end_time=end)
    assert ids_of(pages) == truth[5:26]


def test_since_id_wins_over_start_time(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    acc = world.accounts[9].user_id
    truth = world.timeline_ids(acc)
    late_start = format_api_time(ms_from_id(int(truth[2]))).replace(".000Z", "Z")
    pages = walk(shared_sim, http, acc, max_results=100, since_id=truth[30], start_time=late_start)
    assert ids_of(pages) == truth[:30]


def test_exclude_windows_first_then_filters(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    heavy = world.heavy.user_id
    no_replies = walk(
        shared_sim, http, heavy, max_results=100, exclude="replies", **{"tweet.fields": "referenced_tweets"}
    )
    got = ids_of(no_replies)
    assert got == world.timeline_ids(heavy, exclude=["replies"])
    assert 0 < len(got) <= 800
    assert all(
        ref["type"] != "replied_to"
        for page in no_replies
        for t in page.get("data", [])
        for ref in t.get("referenced_tweets", [])
    )
    # a filtered page can be short yet carry a token: clients must follow next_token, not page size
    assert any(p["meta"]["result_count"] < 100 and "next_token" in p["meta"] for p in no_replies)
    both = ids_of(walk(shared_sim, http, heavy, max_results=100, exclude="retweets,replies"))
    assert both == world.timeline_ids(heavy, exclude=["retweets", "replies"])
    no_rts = ids_of(walk(shared_sim, http, heavy, max_results=100, exclude="retweets"))
    assert no_rts == world.timeline_ids(heavy, exclude=["retweets"]) and len(no_rts) < 3200


def test_primary_failures_answer_200_with_only_errors(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    cases = {
        world.suspended.user_id: ("Forbidden", "User has been suspended: [{}].", "resource-not-found"),
        world.protected.user_id: (
            "Authorization Error",
            "Sorry, you are not authorized to see the user with id: [{}].",
            "not-authorized-for-resource",
        ),
        "999999999999": ("Not Found Error", "Could not find user with id: [{}].", "resource-not-found"),
    }
    for user_id, (title, detail, problem) in cases.items():
        response = http.get(f"{shared_sim.base_url}/users/{user_id}/tweets")
        assert response.status_code == 200
        assert response.json() == {
            "errors": [
                {
                    "value": user_id,
                    "detail": detail.format(user_id),
                    "title": title,
                    "resource_type": "user",
                    "parameter": "id",
                    "resource_id": user_id,
                    "type": f"https://api.twitter.com/2/problems/{problem}",
                }
            ]
        }


def test_quiet_account_since_2022_is_empty(shared_sim: SimulatorServer, http: requests.Session) -> None:
    quiet = shared_sim.world.quiet.user_id
    body = http.get(f"{shared_sim.base_url}/users/{quiet}/tweets", params={"start_time": "2022-01-01T00:00:00Z"}).json()
    assert body == {"meta": {"result_count": 0}}


def _find_edit(sim: SimulatorServer) -> tuple[str, ...]:
    world = sim.world
    now = world.start_ms
    for acc in world.accounts[5:]:
        for chain in reversed(world.edited_tweets(acc.user_id)):
            root_ms = ms_from_id(int(chain[0]))
            deleted = dict(world.deleted_tweets(acc.user_id))
            if now - 30 * 86_400_000 < root_ms and ms_from_id(int(chain[-1])) < now and chain[0] not in deleted:
                return chain
    raise AssertionError("no recent edited post in the world")


def test_edits_timeline_shows_newest_and_old_ids_return_old_versions(
    sim: SimulatorServer, http: requests.Session
) -> None:
    chain = _find_edit(sim)
    world = sim.world
    author = world.tweet(chain[0]).author_id
    truth = world.timeline_ids(author)
    assert chain[-1] in truth and not set(chain[:-1]) & set(truth)
    old = http.get(
        f"{sim.base_url}/tweets", params={"ids": chain[0], "tweet.fields": "public_metrics,edit_controls"}
    ).json()
    new = http.get(f"{sim.base_url}/tweets", params={"ids": chain[-1], "tweet.fields": "public_metrics"}).json()
    assert old["data"][0]["id"] == chain[0]
    assert old["data"][0]["edit_history_tweet_ids"] == list(chain) == new["data"][0]["edit_history_tweet_ids"]
    assert old["data"][0]["text"] != new["data"][0]["text"]
    assert isinstance(old["data"][0]["edit_controls"]["edits_remaining"], (int, str))
    # before the edit happened, the timeline shows the first version with a one-id history
    sim.clock.set(world.tweet(chain[1]).created_at.replace(microsecond=0) - __import__("datetime").timedelta(seconds=2))
    body = http.get(f"{sim.base_url}/tweets", params={"ids": chain[0]}).json()
    assert body["data"][0]["edit_history_tweet_ids"] == [chain[0]]
    assert chain[0] in world.timeline_ids(author)
    missing = http.get(f"{sim.base_url}/tweets", params={"ids": chain[-1]}).json()
    assert "data" not in missing and missing["errors"][0]["title"] == "Not Found Error"


def test_deletions_happen_as_the_clock_advances(sim: SimulatorServer, http: requests.Session) -> None:
    world = sim.world
    now = world.start
    candidates = [
        (when, tid)
        for acc in world.accounts[5:]
        for tid, when in world.deleted_tweets(acc.user_id)
        if now < when and (when - now).days < 60
    ]
    assert candidates, "some deletions must happen after the start"
    when, tid = min(candidates)
    author = world.tweet(tid).author_id
    before = http.get(f"{sim.base_url}/tweets", params={"ids": tid}).json()
    assert before["data"][0]["id"] == tid
    sim.clock.set(when)
    after = http.get(f"{sim.base_url}/tweets", params={"ids": tid}).json()
    assert after == {
        "errors": [
            {
                "value": tid,
                "detail": f"Could not find tweet with ids: [{tid}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": tid,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }
    assert tid not in world.visible_ids(author)
    already_gone = [t for acc in world.accounts[5:] for t, w in world.deleted_tweets(acc.user_id) if w < now]
    assert already_gone, "some deletions happened before the start"


def test_new_posts_appear_and_metrics_never_decrease(sim: SimulatorServer, http: requests.Session) -> None:
    heavy = sim.world.heavy.user_id
    url = f"{sim.base_url}/users/{heavy}/tweets"
    params = {"max_results": 100, "tweet.fields": "public_metrics"}
    first = http.get(url, params=params).json()
    seen = {t["id"]: t["public_metrics"] for t in first["data"]}
    grew = False
    for hours in (1, 6, 24, 24 * 7):
        sim.clock.set(sim.world.start.replace() + __import__("datetime").timedelta(hours=hours))
        ids = ",".join(list(seen)[:100])
        later = http.get(f"{sim.base_url}/tweets", params={"ids": ids, "tweet.fields": "public_metrics"}).json()
        for tweet in later.get("data", []):
            before = seen[tweet["id"]]
            for key, value in tweet["public_metrics"].items():
                assert value >= before[key], (tweet["id"], key)
                grew |= value > before[key]
            seen[tweet["id"]] = tweet["public_metrics"]
    assert grew
    newest_now = http.get(url).json()["meta"]["newest_id"]
    assert int(newest_now) > int(first["meta"]["newest_id"])
