"""Response bodies with their expansions: `data`, then what `includes` and `errors` the asked
expansions bring (authors, mentioned users, referenced and earlier-version posts, media).

An expansion that cannot be served (a deleted or protected referenced post, a suspended
author) becomes an `errors` entry with `section: includes`, as the real API reports it.
"""

from __future__ import annotations

import json
from typing import Any

from xsim.accounts import Account
from xsim.errors import not_authorized, not_found, suspended
from xsim.posts import max_id_at
from xsim.rendering import TweetStatic
from xsim.world import World


def users_body(
    world: World, accounts: list[Account], errors: list[dict[str, Any]], fields: dict[str, list[str]], t_ms: int
) -> dict[str, Any]:
    """A user lookup's body: the users, their pinned / most recent posts when expanded, the errors."""
    user_fields = frozenset(fields["user.fields"])
    expansions = fields["expansions"]
    body: dict[str, Any] = {}
    if accounts:
        body["data"] = [world.user_dict(acc, t_ms, user_fields) for acc in accounts]
    tweet_ids: list[int] = []
    for acc in accounts:
        if "pinned_tweet_id" in expansions:
            pinned = world.pinned_tweet_id(acc)
            if pinned is not None and world.tweet_status(pinned, t_ms) == "ok":
                tweet_ids.append(pinned)
        if "most_recent_tweet_id" in expansions and acc.status != "protected":
            recent = world.most_recent_tweet_id(acc, t_ms)
            if recent is not None:
                tweet_ids.append(recent)
    if tweet_ids:
        tweet_fields = frozenset(fields["tweet.fields"])
        seen: set[int] = set()
        tweets = []
        for tid in tweet_ids:
            st = world._static(tid)
            if st is not None and tid not in seen:
                seen.add(tid)
                tweets.append(world.tweet_dict(st, t_ms, tweet_fields))
        body["includes"] = {"tweets": tweets}
    if errors:
        body["errors"] = errors
    return body


class _Includes:
    """What the expansions of one page gather, and the errors of what they could not."""

    def __init__(self, world: World, t_ms: int) -> None:
        self.world = world
        self.t_ms = t_ms
        self.tweets: dict[int, TweetStatic] = {}
        self.users: dict[str, Account] = {}
        self.media: dict[str, str] = {}
        self.errors: list[dict[str, Any]] = []

    def add_user(self, user_id: str, parameter: str, shown: str | None = None) -> None:
        if user_id in self.users:
            return
        acc = self.world.account(user_id)
        value = shown or user_id
        if acc is None:
            self.errors.append(not_found("user", parameter, value, "includes"))
        elif acc.status == "suspended":
            self.errors.append(suspended(parameter, value, "includes"))
        else:
            self.users[user_id] = acc

    def add_mentions(self, st: TweetStatic) -> None:
        for mention in st.entities.get("mentions", []):
            acc = self.world.account_by_username(mention["username"], self.t_ms)
            if acc is None:
                self.errors.append(not_found("user", "entities.mentions.username", mention["username"], "includes"))
            else:
                self.add_user(acc.user_id, "entities.mentions.username", mention["username"])

    def add_versions(self, st: TweetStatic, primary: set[int]) -> None:
        """The post's other edit versions that exist at this time."""
        for version in st.chain:
            if version not in primary and version not in self.tweets and version <= max_id_at(self.t_ms):
                other = self.world._static(version)
                if other is not None:
                    self.tweets[version] = other

    def add_referenced(self, st: TweetStatic, include: bool, referenced: list[TweetStatic]) -> None:
        """The post it replies to, quotes or retweets: into `referenced` (for its author), and
        into the includes when `include` (`referenced_tweets.id` asked), else only errors."""
        if st.ref is None:
            return
        ref_id = st.ref[1]
        status = self.world.tweet_status(ref_id, self.t_ms)
        if status == "ok":
            target = self.world._static(ref_id)
            if target is not None:
                referenced.append(target)
                if include:
                    self.tweets.setdefault(ref_id, target)
        elif include:
            maker = not_authorized if status == "not_authorized" else not_found
            self.errors.append(maker("tweet", "referenced_tweets.id", str(ref_id), "includes"))


def tweets_body(world: World, statics: list[TweetStatic], fields: dict[str, list[str]], t_ms: int) -> dict[str, Any]:
    """`data` plus whatever `includes`/`errors` the requested expansions produce."""
    tweet_fields = frozenset(fields["tweet.fields"])
    user_fields = frozenset(fields["user.fields"])
    expansions = set(fields["expansions"])
    body: dict[str, Any] = {"data": [world.tweet_dict(st, t_ms, tweet_fields) for st in statics]}
    if not expansions:
        return body
    found = _Includes(world, t_ms)
    primary = {st.id for st in statics}
    referenced: list[TweetStatic] = []
    for st in statics:
        if "author_id" in expansions:
            found.add_user(st.author_id, "author_id")
        if "in_reply_to_user_id" in expansions and st.in_reply_to_user_id:
            found.add_user(st.in_reply_to_user_id, "in_reply_to_user_id")
        if "entities.mentions.username" in expansions:
            found.add_mentions(st)
        if "attachments.media_keys" in expansions:
            for key, kind in st.media:
                found.media[key] = kind
        if "edit_history_tweet_ids" in expansions:
            found.add_versions(st, primary)
        if "referenced_tweets.id" in expansions or "referenced_tweets.id.author_id" in expansions:
            found.add_referenced(st, "referenced_tweets.id" in expansions, referenced)
    if "referenced_tweets.id.author_id" in expansions:
        for target in referenced:
            found.add_user(target.author_id, "referenced_tweets.id.author_id")
    includes: dict[str, Any] = {}
    if found.media:
        includes["media"] = [media_object(key, kind, fields["media.fields"]) for key, kind in found.media.items()]
    if found.users:
        includes["users"] = [world.user_dict(acc, t_ms, user_fields) for acc in found.users.values()]
    if found.tweets:
        includes["tweets"] = [world.tweet_dict(st, t_ms, tweet_fields) for st in found.tweets.values()]
    if includes:
        body["includes"] = includes
    if found.errors:
        unique = {json.dumps(e, sort_keys=True): e for e in found.errors}
        body["errors"] = list(unique.values())
    return body


def media_object(key: str, kind: str, media_fields: list[str]) -> dict[str, Any]:
    """A media object: media_key and type by default, a few more fields when asked."""
    out: dict[str, Any] = {"media_key": key, "type": kind}
    seed = sum(key.encode())
    if "width" in media_fields:
        out["width"] = 600 + seed % 1400
    if "height" in media_fields:
        out["height"] = 400 + seed % 1000
    if "url" in media_fields and kind == "photo":
        out["url"] = f"https://pbs.twimg.com/media/{key.split('_', 1)[1][-15:]}.jpg"
    if "preview_image_url" in media_fields and kind != "photo":
        out["preview_image_url"] = f"https://pbs.twimg.com/ext_tw_video_thumb/{key.split('_', 1)[1]}/pu/img/thumb.jpg"
    if "duration_ms" in media_fields and kind == "video":
        out["duration_ms"] = 1000 * (5 + seed % 120)
    return out
