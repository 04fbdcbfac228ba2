"""The tweets collector's cursors: ``state/tweets/cursors.json``, one entry per account.

The document::

    {"version": 1,
     "accounts": {"<user id>": {"newest_id", "pending", "gaps", "username", "exclude", "exclude_from",
                                "updated_at", "tweet_count"}},
     "intent": {"part": "<raw key>", "accounts": {"<user id>": {…}}}}      # only between two steps

**The cursor never runs ahead of the lake, and moves exactly once with it.** The collector stages
its cursor changes while it writes pages. Just before a raw part is published,
:meth:`CursorStore.record_intent` writes the staged changes into the document as an *intent*
naming that part; just after, :meth:`CursorStore.commit` lays them over the accounts and drops the
intent. A run killed in between leaves the intent behind; :meth:`CursorStore.settle_intent` (the
next run's first step) applies it if the part is in the lake and drops it if not.

**What the timeline could not reach is a gap, and a gap is a position too.** When a pass meets the
timeline's 3,200 cap before its lower bound, the part below the oldest tweet it reached is recorded
as a :class:`Gap` (``{lower, until_id}``). Full-archive search fills it from ``until_id`` down, and
each published part moves ``until_id`` down with it, through the same intent and commit; a gap
search has emptied is dropped. A run without search (``--backfill off``, a plan that answers 403)
keeps its gaps for a run that has it.

Every change is a conditional write (:func:`ingestion.state.update_json`); a change lays the new
entry over the stored one, so a field a change leaves out (``tweet_count`` when the pages did not
carry it) keeps its stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.lake import Lake
from ingestion.state import corrupt, read_json, update_json

CURSORS_KEY = "state/tweets/cursors.json"


@dataclass(frozen=True)
class Pending:
    """An interrupted pass: the next run fetches the rest of its backlog first (``until_id``)."""

    lower: dict[str, str]  # {"since_id": …} or {"start_time": …}: where the pass stops
    until_id: str | None  # the oldest tweet written so far: the backlog lies below it
    top_id: str | None  # the newest tweet written in the pass
    fetched: int = 0  # tweets written in the pass
    scanned: int = 0  # timeline positions paged through (for the 3,200 cap)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> Pending | None:
        if not doc:
            return None
        fetched = int(doc.get("fetched", 0))
        # cursors from before "scanned" was recorded: every position held a written tweet
        return cls(
            lower=dict(doc["lower"]),
            until_id=doc.get("until_id"),
            top_id=doc.get("top_id"),
            fetched=fetched,
            scanned=int(doc.get("scanned", fetched)),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "until_id": self.until_id,
            "top_id": self.top_id,
            "fetched": self.fetched,
            "scanned": self.scanned,
        }


@dataclass(frozen=True)
class Gap:
    """Tweets the timeline could not reach, left for full-archive search: every tweet below
    ``until_id`` (none: from the newest) down to ``lower``."""

    lower: dict[str, str]  # {"start_time": …} or {"since_id": …}: where the gap ends
    until_id: str | None  # the oldest tweet in the lake above the gap; moves down as search publishes
    fetched: int = 0  # tweets search has written into the lake from it
    unreached: int | None = None  # what the profile's tweet_count said was out of the timeline's reach

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Gap:
        unreached = doc.get("unreached")
        return cls(
            lower=dict(doc["lower"]),
            until_id=doc.get("until_id"),
            fetched=int(doc.get("fetched", 0)),
            unreached=int(unreached) if unreached is not None else None,
        )

    def to_doc(self) -> dict[str, Any]:
        return {"lower": self.lower, "until_id": self.until_id, "fetched": self.fetched, "unreached": self.unreached}


@dataclass(frozen=True)
class AccountCursor:
    """Where an account's timeline stands in the lake."""

    newest_id: str | None = None  # the newest tweet in the lake (the next pass's since_id)
    pending: Pending | None = None
    gaps: tuple[Gap, ...] = ()  # what the timeline could not reach, for full-archive search
    username: str | None = None  # as of the pass (the cursor is keyed by user id)
    exclude: tuple[str, ...] = ()  # the kinds (retweets, replies) the passes that moved it left out
    exclude_from: str | None = None  # the tweet since which they were left out; None: since --since
    updated_at: str | None = None
    tweet_count: int | None = None  # the profile's tweet_count when newest_id was the newest tweet

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> AccountCursor:
        count = doc.get("tweet_count")
        return cls(
            newest_id=doc.get("newest_id"),
            pending=Pending.from_doc(doc.get("pending")),
            gaps=tuple(Gap.from_doc(g) for g in doc.get("gaps") or ()),
            username=doc.get("username"),
            exclude=tuple(doc.get("exclude") or ()),
            exclude_from=doc.get("exclude_from"),
            updated_at=doc.get("updated_at"),
            tweet_count=int(count) if count is not None else None,
        )

    def to_doc(self) -> dict[str, Any]:
        """The entry a change writes; without ``tweet_count`` when unknown (the stored one stays)."""
        doc: dict[str, Any] = {
            "newest_id": self.newest_id,
            "pending": self.pending.to_doc() if self.pending else None,
            "gaps": [gap.to_doc() for gap in self.gaps],
            "username": self.username,
            "exclude": list(self.exclude),
            "exclude_from": self.exclude_from,
            "updated_at": self.updated_at,
        }
        if self.tweet_count is not None:
            doc["tweet_count"] = self.tweet_count
        return doc


def _empty() -> dict[str, Any]:
    return {"version": 1, "accounts": {}}


def _shape(doc: Any) -> str | None:
    """What is wrong with a cursors document's shape."""
    accounts = doc.get("accounts") if isinstance(doc, dict) else None
    if not isinstance(accounts, dict) or not all(isinstance(entry, dict) for entry in accounts.values()):
        return 'not a cursors document: {"accounts": {user id: {…}}} expected'
    intent = doc.get("intent")
    if intent is not None and not (
        isinstance(intent, dict) and isinstance(intent.get("part"), str) and isinstance(intent.get("accounts"), dict)
    ):
        return "an intent of another shape"
    return None


def _merge(doc: dict[str, Any], changes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``doc`` with the per-account changes laid over its entries."""
    for user_id, entry in changes.items():
        doc["accounts"][user_id] = {**doc["accounts"].get(user_id, {}), **entry}
    return doc


class CursorStore:
    """Reads and changes the cursor document of one lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def read(self) -> dict[str, AccountCursor]:
        """Every account's committed cursor, by user id (an intent not yet settled is not in it)."""
        doc = read_json(self.lake, CURSORS_KEY, check=_shape) or _empty()
        try:
            return {user_id: AccountCursor.from_doc(entry) for user_id, entry in doc["accounts"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise corrupt(self.lake, CURSORS_KEY, f"a cursor of another shape: {type(err).__name__}: {err}") from None

    def get(self, user_id: str) -> AccountCursor | None:
        return self.read().get(user_id)

    def record_intent(self, part: str, staged: Mapping[str, AccountCursor]) -> None:
        """Record what publishing ``part`` will make true, before it exists."""
        intent = {"part": part, "accounts": {uid: cursor.to_doc() for uid, cursor in staged.items()}}

        def change(doc: Any) -> tuple[Any, None]:
            return {**(doc or _empty()), "intent": intent}, None

        update_json(self.lake, CURSORS_KEY, change, check=_shape)

    def commit(self, staged: Mapping[str, AccountCursor]) -> None:
        """Lay the staged cursors over the stored ones: the parts they describe are published."""
        changes = {uid: cursor.to_doc() for uid, cursor in staged.items()}

        def change(doc: Any) -> tuple[Any, None]:
            doc = doc or _empty()
            doc.pop("intent", None)  # its part is published, and these changes hold the intent's own
            return _merge(doc, changes), None

        update_json(self.lake, CURSORS_KEY, change, check=_shape)

    def settle_intent(self) -> tuple[str, bool] | None:
        """Settle the intent of a run killed between publishing a part and committing its cursors:
        ``(part, applied)`` — applied when the part is in the lake, dropped when not — or ``None``."""
        intent = (read_json(self.lake, CURSORS_KEY, check=_shape) or {}).get("intent")
        if not intent:
            return None
        published = self.lake.exists(intent["part"])

        def change(doc: Any) -> tuple[Any, None]:
            if not doc or doc.get("intent") != intent:
                return None, None
            doc.pop("intent")
            return (_merge(doc, intent["accounts"]) if published else doc), None

        update_json(self.lake, CURSORS_KEY, change, check=_shape)
        return str(intent["part"]), published
