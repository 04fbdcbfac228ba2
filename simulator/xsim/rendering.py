"""A post's content: text, entities, references and metric targets, drawn from its own seed.

Rendering is lazy and cached by the world, because most benchmarks only ever look at the newest
few thousand posts of each account. Every version of an edited post shares the seed of its first
version, so edits keep the text and only append a correction.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xsim import metrics
from xsim import text as tx
from xsim.accounts import Account
from xsim.posts import EDIT_WINDOW_MS, KIND_NAMES, QUOTE, REPLY, RETWEET, Posts
from xsim.timeutil import DAY_MS, HOUR_MS, format_api_time, from_ms, id_from_ms, ms_from_id

if TYPE_CHECKING:
    from xsim.world import World

_LONG_TEXT_LIMIT = 280
_RT_TEXT_LIMIT = 140
_MAX_DEPTH = 40  # replies to replies: render at most this many ancestors for a conversation id
_SOURCES = ["Twitter for iPhone", "Twitter Web App", "Twitter for Android", "TweetDeck"]
_EDIT_NOTES = ["(edited)", "✏️ typo", "— corrected", "update: fixed link", "*their"]


class TweetStatic:
    """Everything about one post version that does not depend on world time."""

    __slots__ = (
        "author_id",
        "author_index",
        "chain",
        "conversation_id",
        "created_at_text",
        "created_ms",
        "deleted_ms",
        "editable_until_ms",
        "editable_until_text",
        "edits_as_str",
        "entities",
        "final",
        "has_new_metrics",
        "hidden_ms",
        "id",
        "in_reply_to_user_id",
        "kind",
        "lang",
        "media",
        "note",
        "possibly_sensitive",
        "ref",
        "reply_settings",
        "root_id",
        "source",
        "tau_ms",
        "text",
        "version",
    )

    id: int
    root_id: int
    author_id: str
    author_index: int
    created_ms: int
    kind: int
    version: int
    chain: tuple[int, ...]
    text: str
    entities: dict[str, list[dict[str, Any]]]
    note: tuple[str, dict[str, list[dict[str, Any]]]] | None
    lang: str
    possibly_sensitive: bool
    reply_settings: str
    conversation_id: int
    ref: tuple[str, int] | None
    in_reply_to_user_id: str | None
    media: list[tuple[str, str]]
    source: str | None
    editable_until_ms: int
    edits_as_str: bool
    final: tuple[int, int, int, int, int, int]
    tau_ms: float
    has_new_metrics: bool
    hidden_ms: int | None
    deleted_ms: int | None
    created_at_text: str
    editable_until_text: str

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def created_at(self) -> datetime:
        return from_ms(self.created_ms)

    @property
    def deleted_at(self) -> datetime | None:
        return None if self.deleted_ms is None else from_ms(self.deleted_ms)

    @property
    def is_long(self) -> bool:
        return self.note is not None


def render_static(world: World, acc: Account, posts: Posts, i: int, depth: int) -> TweetStatic:
    """Draw the content of the post version at `posts.ids[i]`; `depth` bounds the recursion
    through the posts it replies to, quotes or retweets."""
    tid = posts.ids[i]
    chain = posts.chains.get(tid, (tid,))
    root = chain[0]
    rng = random.Random(root ^ world._seed_mix)
    st = TweetStatic()
    st.id, st.root_id, st.kind = tid, root, posts.kinds[i]
    st.author_id, st.author_index = acc.user_id, acc.index
    st.created_ms = ms_from_id(tid)
    root_ms = ms_from_id(root)
    st.version = chain.index(tid)
    st.chain = chain
    st.hidden_ms = posts.hidden.get(tid)
    st.deleted_ms = posts.deleted.get(root)
    roll = rng.random()
    st.lang = acc.lang if roll < 0.85 else "und" if roll < 0.9 else tx.LANGS[int(rng.random() * len(tx.LANGS))]
    st.possibly_sensitive = rng.random() < 0.03
    roll = rng.random()
    st.reply_settings = "everyone" if roll < 0.92 else "mentionedUsers" if roll < 0.96 else "following"
    st.source = _SOURCES[int(rng.random() * 4)] if rng.random() < 0.05 else None
    st.edits_as_str = rng.random() < 0.3
    st.editable_until_ms = root_ms + EDIT_WINDOW_MS
    st.created_at_text = format_api_time(st.created_ms)
    st.editable_until_text = format_api_time(st.editable_until_ms)
    st.ref = None
    st.in_reply_to_user_id = None
    st.conversation_id = root
    st.media = []
    st.note = None
    n = len(world.accounts)
    mentionable = []
    for _ in range(2):
        other = world.accounts[int(rng.random() * n)]
        mentionable.append((other.username_at(root_ms), other.user_id))
    if st.kind == RETWEET:
        target_id, target_index = _pick_target(world, acc, root_ms, rng, RETWEET)
        st.ref = ("retweeted", target_id)
        _fill_retweet(world, st, target_id, target_index, root_ms, depth + 1)
    else:
        _fill_post(world, st, acc, rng, mentionable, depth)
    metrics.draw_targets(st, rng, acc.followers_base, root_ms)
    return st


def _fill_post(
    world: World, st: TweetStatic, acc: Account, rng: random.Random, mentionable: list[tuple[str, str]], depth: int
) -> None:
    """Text and entities of an original, a reply or a quote (with its media, and a note if long)."""
    root, root_ms = st.root_id, ms_from_id(st.root_id)
    prefix: list[tx.Segment] = []
    suffix: list[tx.Segment] = []
    if st.kind in (REPLY, QUOTE):
        target_id, target_index = _pick_target(world, acc, root_ms, rng, st.kind)
        if target_index >= 0:
            target_acc = world.accounts[target_index]
            t_name, t_uid = target_acc.username_at(root_ms), target_acc.user_id
        else:
            t_name = "user" + str(target_id % 100000)
            t_uid = str(rng.randint(10**17, 10**18))
        if st.kind == REPLY:
            st.ref = ("replied_to", target_id)
            st.in_reply_to_user_id = t_uid
            target = world._static(target_id, depth + 1) if target_index >= 0 and depth < _MAX_DEPTH else None
            st.conversation_id = target.conversation_id if target is not None else target_id
            if rng.random() < 0.8:
                prefix = [(tx.MENTION, "@" + t_name, (t_name, t_uid)), (tx.PLAIN, " ", None)]
        else:
            st.ref = ("quoted", target_id)
            link = f"https://twitter.com/{t_name}/status/{target_id}"
            suffix = [(tx.PLAIN, " ", None), tx.url_segment(rng, link)]
    long_post = rng.random() < 0.03
    body = tx.body_segments(rng, st.lang, mentionable, long_post=long_post)
    if rng.random() < 0.15:
        media_type, prefix_key = rng.choice([("photo", "3"), ("photo", "3"), ("video", "7"), ("animated_gif", "16")])
        key = f"{prefix_key}_{root - 17}"
        st.media = [(key, media_type)]
        short = tx.tco(rng)
        handle = acc.username_at(root_ms)
        media_seg = (
            tx.URL,
            short,
            (short, f"https://x.com/{handle}/status/{root}/photo/1", "pic.x.com/" + short[-10:], key),
        )
        suffix = [*suffix, (tx.PLAIN, " ", None), media_seg]
    edits = [(tx.PLAIN, " " + _EDIT_NOTES[(root + v) % len(_EDIT_NOTES)], None) for v in range(st.version)]
    segs = prefix + body + edits + suffix
    text, entities = tx.render(segs)
    if long_post and len(text) > _LONG_TEXT_LIMIT:
        st.note = (text, entities)
        text, entities = tx.render(segs, limit=_LONG_TEXT_LIMIT)
    st.text, st.entities = text, entities


def _pick_target(world: World, acc: Account, t_ms: int, rng: random.Random, kind: int) -> tuple[int, int]:
    """A post older than `t_ms` to reply to, quote or retweet: (tweet id, author index).

    Replies often continue the author's own thread; quotes and retweets pick public
    accounts. An index of -1 means an account outside the world (a post we cannot serve).
    """
    n = len(world.accounts)
    for attempt in range(5):
        own_thread = kind == REPLY and attempt == 0 and rng.random() < 0.35
        j = acc.index if own_thread else int(rng.random() * n)
        other = world.accounts[j]
        if other.status == "suspended" or (kind != REPLY and other.status == "protected"):
            continue
        target_posts = world.posts(j)
        i = bisect_left(target_posts.ids, id_from_ms(t_ms - 1000)) - 1 - int(rng.random() * 6)
        while i >= 0:
            if target_posts.kinds[i] != RETWEET:
                return target_posts.ids[i], j
            i -= 1
    return id_from_ms(t_ms - rng.randint(HOUR_MS, 3 * DAY_MS), rng.getrandbits(22)), -1


def _fill_retweet(world: World, st: TweetStatic, target_id: int, target_index: int, t_ms: int, depth: int) -> None:
    """`RT @user: ` + the original's text, cut to 140 code points; entities shifted."""
    target = world._static(target_id, depth) if target_index >= 0 and depth < _MAX_DEPTH else None
    if target is None:
        name = "user" + str(target_id % 100000)
        uid = "1" + str(target_id % 10**17)
        body, body_entities, lang = "…", {}, st.lang
    else:
        name = world.accounts[target.author_index].username_at(t_ms)
        uid = target.author_id
        body, body_entities, lang = target.text, target.entities, target.lang
        st.possibly_sensitive = target.possibly_sensitive
        st.media = list(target.media)
    st.lang = lang
    prefix = f"RT @{name}: "
    shift = len(prefix)
    text = prefix + body
    limit = _RT_TEXT_LIMIT
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    entities: dict[str, list[dict[str, Any]]] = {
        "mentions": [{"start": 3, "end": 4 + len(name), "username": name, "id": uid}]
    }
    for key, items in body_entities.items():
        for item in items:
            if item["end"] + shift <= limit - 1:
                moved = dict(item, start=item["start"] + shift, end=item["end"] + shift)
                entities.setdefault(key, []).append(moved)
    st.text = text
    st.entities = {k: entities[k] for k in sorted(entities)}
