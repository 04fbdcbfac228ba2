"""The API's JSON objects for a post and a user at a world time, with opt-in fields.

Without `tweet.fields` a post has only `id`, `text` and `edit_history_tweet_ids`; without
`user.fields` a user has only `id`, `name` and `username`: every other key appears only when
asked for, and only when it has a value, as in the real responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xsim.accounts import Account
from xsim.posts import RETWEET
from xsim.rendering import TweetStatic
from xsim.timeutil import format_api_time, ms_from_id

if TYPE_CHECKING:
    from xsim.world import World

TWEET_FIELDS_RENDERED = frozenset(
    [
        "attachments",
        "author_id",
        "conversation_id",
        "created_at",
        "edit_controls",
        "entities",
        "in_reply_to_user_id",
        "lang",
        "note_tweet",
        "possibly_sensitive",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "source",
    ]
)
"""The tweet.fields the simulator fills; it accepts every documented one and omits the rest."""
USER_FIELDS_RENDERED = frozenset(
    [
        "created_at",
        "description",
        "entities",
        "location",
        "most_recent_tweet_id",
        "pinned_tweet_id",
        "profile_image_url",
        "protected",
        "public_metrics",
        "url",
        "verified",
        "verified_type",
    ]
)
"""The user.fields the simulator fills."""
_EDITS_ALLOWED = 5


def tweet_object(world: World, st: TweetStatic, t_ms: int, fields: frozenset[str] | set[str]) -> dict[str, Any]:
    """The API object for a post version with the requested tweet.fields."""
    if len(st.chain) == 1:
        history = [str(st.id)]
    else:
        history = [str(v) for v in st.chain if ms_from_id(v) <= t_ms] or [str(st.id)]
    out: dict[str, Any] = {"id": str(st.id), "text": st.text, "edit_history_tweet_ids": history}
    if not fields:
        return out
    if "attachments" in fields and st.media:
        out["attachments"] = {"media_keys": [key for key, _ in st.media]}
    if "author_id" in fields:
        out["author_id"] = st.author_id
    if "conversation_id" in fields:
        out["conversation_id"] = str(st.conversation_id)
    if "created_at" in fields:
        out["created_at"] = st.created_at_text
    if "edit_controls" in fields:
        remaining = _EDITS_ALLOWED - (len(history) - 1)
        out["edit_controls"] = {
            "edits_remaining": str(remaining) if st.edits_as_str else remaining,
            "is_edit_eligible": st.kind != RETWEET,
            "editable_until": st.editable_until_text,
        }
    if "entities" in fields and st.entities:
        out["entities"] = st.entities
    if "in_reply_to_user_id" in fields and st.in_reply_to_user_id is not None:
        out["in_reply_to_user_id"] = st.in_reply_to_user_id
    if "lang" in fields:
        out["lang"] = st.lang
    if "note_tweet" in fields and st.note is not None:
        note: dict[str, Any] = {"text": st.note[0]}
        if st.note[1]:
            note["entities"] = st.note[1]
        out["note_tweet"] = note
    if "possibly_sensitive" in fields:
        out["possibly_sensitive"] = st.possibly_sensitive
    if "public_metrics" in fields:
        out["public_metrics"] = world.metrics_at(st, t_ms)
    if "referenced_tweets" in fields and st.ref is not None:
        out["referenced_tweets"] = [{"type": st.ref[0], "id": str(st.ref[1])}]
    if "reply_settings" in fields:
        out["reply_settings"] = st.reply_settings
    if "source" in fields and st.source is not None:
        out["source"] = st.source
    return out


def user_object(world: World, acc: Account, t_ms: int, fields: frozenset[str] | set[str]) -> dict[str, Any]:
    """The API object for a user with the requested user.fields."""
    out: dict[str, Any] = {
        "id": acc.user_id,
        "name": acc.attribute_at("name", t_ms),
        "username": acc.username_at(t_ms),
    }
    if not fields:
        return out
    description, desc_entities = acc.attribute_at("description", t_ms)
    if "created_at" in fields:
        out["created_at"] = format_api_time(acc.created_ms)
    if "description" in fields:
        out["description"] = description
    if "entities" in fields:
        entities = _user_entities(acc, desc_entities)
        if entities:
            out["entities"] = entities
    location = acc.attribute_at("location", t_ms)
    if "location" in fields and location is not None:
        out["location"] = location
    if "most_recent_tweet_id" in fields:
        recent = world.most_recent_tweet_id(acc, t_ms)
        if recent is not None:
            out["most_recent_tweet_id"] = str(recent)
    if "pinned_tweet_id" in fields:
        pinned = world.pinned_tweet_id(acc)
        if pinned is not None and world.tweet_status(pinned, t_ms) == "ok":
            out["pinned_tweet_id"] = str(pinned)
    if "profile_image_url" in fields:
        out["profile_image_url"] = acc.profile_image_url
    if "protected" in fields:
        out["protected"] = acc.status == "protected"
    if "public_metrics" in fields:
        out["public_metrics"] = world.user_metrics(acc, t_ms)
    if "url" in fields and acc.url is not None:
        out["url"] = acc.url[0]
    verified_type = acc.attribute_at("verified_type", t_ms)
    if "verified" in fields:
        out["verified"] = verified_type != "none"
    if "verified_type" in fields:
        out["verified_type"] = verified_type
    return out


def _user_entities(acc: Account, desc_entities: dict[str, Any]) -> dict[str, Any]:
    """The profile url's entity and the description's, as `entities.url` / `entities.description`."""
    entities: dict[str, Any] = {}
    if acc.url is not None:
        short, expanded = acc.url
        display = expanded.split("://", 1)[-1]
        entities["url"] = {
            "urls": [{"start": 0, "end": len(short), "url": short, "expanded_url": expanded, "display_url": display}]
        }
    if desc_entities:
        entities["description"] = desc_entities
    return entities
