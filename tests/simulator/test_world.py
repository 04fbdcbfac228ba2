"""The world model: determinism, id encoding, special accounts, ground-truth consistency."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from xsim import (
    HEAVY_INDEX,
    PROTECTED_INDEX,
    QUIET_INDEX,
    RENAMED_INDEX,
    SUSPENDED_INDEX,
    SimClock,
    World,
    id_from_time,
    time_from_id,
)
from xsim.posts import T2022_MS, author_index_of
from xsim.timeutil import ms_from_id

START = "2026-11-22T12:00:00Z"


@pytest.fixture(scope="module")
def world() -> World:
    return World(seed=42, accounts=20, start=START)


def test_snowflake_encoding_matches_the_real_scheme() -> None:
    jan_2022 = datetime(2022, 1, 1, tzinfo=UTC)
    assert id_from_time(jan_2022) == 1477067041797046272
    assert time_from_id(1477067041797046272) == jan_2022
    assert time_from_id("1477067041797046272") == jan_2022


def test_same_seed_same_world_different_seed_different_world() -> None:
    a, b, c = (
        World(seed=7, accounts=8, start=START),
        World(seed=7, accounts=8, start=START),
        World(seed=8, accounts=8, start=START),
    )
    assert [x.user_id for x in a.accounts] == [x.user_id for x in b.accounts]
    assert [x.username for x in a.accounts] == [x.username for x in b.accounts]
    uid = a.accounts[6].user_id
    assert a.visible_ids(uid)[:50] == b.visible_ids(uid)[:50]
    first = a.visible_ids(uid)[0]
    assert a.tweet_json(first) == b.tweet_json(first)
    assert [x.user_id for x in a.accounts] != [x.user_id for x in c.accounts]


def test_accounts_have_valid_ids_and_usernames(world: World) -> None:
    lengths = set()
    for acc in world.accounts:
        assert re.fullmatch(r"[A-Za-z0-9_]{1,15}", acc.username)
        assert acc.user_id.isdigit()
        lengths.add(len(acc.user_id) >= 18)
        assert acc.status in {"active", "suspended", "protected"}
    assert lengths == {True, False}, "expected a mix of short old ids and long snowflake ids"
    assert len({a.username.lower() for a in world.accounts}) == len(world.accounts)
    assert len({a.user_id for a in world.accounts}) == len(world.accounts)


def test_special_accounts_sit_at_their_documented_indices(world: World) -> None:
    assert world.heavy is world.accounts[HEAVY_INDEX]
    assert world.quiet is world.accounts[QUIET_INDEX]
    assert world.suspended is world.accounts[SUSPENDED_INDEX] and world.suspended.status == "suspended"
    assert world.protected is world.accounts[PROTECTED_INDEX] and world.protected.status == "protected"
    assert world.renamed is world.accounts[RENAMED_INDEX]
    assert all(a.status == "active" for a in world.accounts[5:])
    with pytest.raises(LookupError):
        _ = World(seed=1, accounts=5, start=START).heavy


def test_heavy_poster_exceeds_the_timeline_cap_since_2022(world: World) -> None:
    since_2022 = [i for i in world.visible_ids(world.heavy.user_id) if ms_from_id(int(i)) >= T2022_MS]
    assert len(since_2022) > 3200
    assert len(world.timeline_ids(world.heavy.user_id)) == 3200


def test_quiet_account_has_nothing_since_2022(world: World) -> None:
    ids = world.visible_ids(world.quiet.user_id)
    assert ids, "the quiet account still has 2021 posts"
    assert all(ms_from_id(int(i)) < T2022_MS for i in ids)


def test_renamed_account_changes_username_about_a_day_after_start(world: World) -> None:
    acc = world.renamed
    before = acc.username_at("2026-11-22T12:00:00Z")
    after = acc.username_at("2026-11-24T00:00:00Z")
    assert before != after
    assert world.account_by_username(before, at="2026-11-22T12:00:00Z") is acc
    assert world.account_by_username(before, at="2026-11-24T00:00:00Z") is None
    assert world.account_by_username(after.upper(), at="2026-11-24T00:00:00Z") is acc
    assert 20 <= (world.rename_at - world.start).total_seconds() / 3600 <= 30


def test_profiles_change_at_dated_times(world: World) -> None:
    changes = [c for acc in world.accounts for c in acc.profile_changes()]
    assert {attr for _, attr, _ in changes} >= {"description", "location", "name", "verified_type"}
    when, attr, value = changes[len(changes) // 2]
    acc = next(a for a in world.accounts if (when, attr, value) in a.profile_changes())
    assert acc.attribute_at(attr, when) == value


def test_ids_are_unique_increasing_and_encode_creation_time(world: World) -> None:
    seen: set[int] = set()
    for acc in world.accounts:
        ids = world.posts(acc.index).ids
        assert ids == sorted(ids)
        assert not seen.intersection(ids)
        seen.update(ids)
        for tid in ids[-50:]:
            assert author_index_of(tid) == acc.index
            st = world.tweet(tid)
            assert st is not None and st.created_ms == ms_from_id(tid)


def test_entity_offsets_point_at_the_right_code_points(world: World) -> None:
    checked = 0
    for acc in world.accounts[:8]:
        for tid in world.visible_ids(acc.user_id)[:150]:
            st = world.tweet(tid)
            assert st is not None
            texts = [(st.text, st.entities)] + ([st.note] if st.note else [])
            for text, entities in texts:
                for tag in entities.get("hashtags", []):
                    assert text[tag["start"] : tag["end"]] == "#" + tag["tag"]
                for tag in entities.get("cashtags", []):
                    assert text[tag["start"] : tag["end"]] == "$" + tag["tag"]
                for mention in entities.get("mentions", []):
                    assert text[mention["start"] : mention["end"]] == "@" + mention["username"]
                for url in entities.get("urls", []):
                    assert text[url["start"] : url["end"]] == url["url"]
                    checked += 1
    assert checked > 20


def test_post_kinds_and_shapes(world: World) -> None:
    kinds = {}
    for tid in world.visible_ids(world.heavy.user_id)[:600]:
        st = world.tweet(tid)
        assert st is not None
        kinds.setdefault(st.kind_name, st)
    assert set(kinds) == {"original", "reply", "quote", "retweet"}
    rt = world.tweet_json(kinds["retweet"].id)
    assert rt["text"].startswith("RT @") and len(rt["text"]) <= 140
    assert rt["referenced_tweets"][0]["type"] == "retweeted"
    assert rt["entities"]["mentions"][0]["start"] == 3
    assert rt["public_metrics"]["like_count"] == 0 and rt["public_metrics"]["reply_count"] == 0
    original = world.tweet_json(rt["referenced_tweets"][0]["id"])
    assert rt["public_metrics"]["retweet_count"] == original["public_metrics"]["retweet_count"]
    reply = world.tweet_json(kinds["reply"].id)
    assert reply["referenced_tweets"][0]["type"] == "replied_to"
    assert reply["in_reply_to_user_id"].isdigit() and reply["conversation_id"].isdigit()
    quote = world.tweet_json(kinds["quote"].id)
    assert quote["referenced_tweets"][0]["type"] == "quoted"
    assert quote["text"].rstrip().split()[-1].startswith("https://t.co/") or quote.get("attachments")


def test_rates_languages_long_posts_and_metric_gaps(world: World) -> None:
    langs, long_posts, missing_impressions, statics = set(), 0, 0, 0
    for acc in world.accounts:
        for tid in world.visible_ids(acc.user_id)[:300]:
            st = world.tweet(tid)
            assert st is not None
            statics += 1
            langs.add(st.lang)
            if st.note is not None:
                long_posts += 1
                assert len(st.text) <= 280 < len(st.note[0])
            if "impression_count" not in world.metrics(tid):
                missing_impressions += 1
    assert {"en", "und"} <= langs and len(langs) >= 5
    assert long_posts > 0
    assert 0 < missing_impressions < statics


def test_world_generation_is_fast_and_lazy() -> None:
    # CPU time of this process: the bar is what generating costs, not how busy the machine is
    started = time.process_time()
    big = World(seed=3, accounts=100, start=START)
    assert not big._posts, "posts must be generated lazily"
    total = sum(len(big.posts(acc.index).ids) for acc in big.accounts)
    elapsed = time.process_time() - started
    assert total > 100 * 2000
    assert elapsed < 3.0, f"world generation took {elapsed:.2f}s"


def test_clock_frozen_follows_wall_time_when_not_frozen() -> None:
    ticks = [100.0]
    frozen = SimClock("2026-11-22T12:00:00Z")
    running = SimClock("2026-11-22T12:00:00Z", frozen=False, monotonic=lambda: ticks[0])
    ticks[0] += 90.0
    assert frozen.now() == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert running.now() == datetime(2026, 11, 22, 12, 1, 30, tzinfo=UTC)
    running.advance(seconds=7200)
    assert running.now().hour == 14
    running.set("2026-11-23T00:00:00Z")
    ticks[0] += 10.0
    assert running.now() == datetime(2026, 11, 23, 0, 0, 10, tzinfo=UTC)
    frozen.advance(hours=1)
    assert frozen.now().hour == 13


def test_activity_scales_tweeting_rates() -> None:
    calm = World(seed=9, accounts=8, start=START, activity=0.5)
    busy = World(seed=9, accounts=8, start=START, activity=2.0)
    uid = calm.accounts[6].user_id
    assert len(busy.visible_ids(uid)) > 3 * len(calm.visible_ids(uid))
