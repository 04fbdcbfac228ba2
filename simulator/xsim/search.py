"""Full-archive search and counts: the query language the simulator understands, and which posts
a query matches in a time range.

The simulator answers the operators tweetlake uses — `from:<user id or username>`, `-is:retweet`,
`-is:reply` — joined by spaces (AND). Anything else (keywords, other operators, `OR`, groups) is a
400 in the API's invalid-request shape: a test oracle that silently ignored an operator would
approve a client whose query the real API reads differently. Like the API, a query needs a
non-negated term and is at most 1,024 characters.

Search reaches every post visible at the world time (the newest version of an edited post; no
deleted ones), not just a timeline's newest 3,200; protected and suspended accounts' posts are not
searchable. Bounds follow the documentation: `start_time` inclusive, `end_time` exclusive,
`since_id`/`until_id` exclusive; results newest first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from xsim.accounts import Account
from xsim.parameters import ID_RE, USERNAME_RE
from xsim.posts import REPLY, RETWEET
from xsim.timeutil import id_from_ms
from xsim.world import World

MAX_QUERY_LENGTH = 1024
_NEGATIONS = {"-is:retweet": RETWEET, "-is:reply": REPLY}
_PROCESSING = "There were errors processing your request: "


class QueryError(ValueError):
    """What the API says about a query it cannot run (the 400's message)."""


@dataclass(frozen=True)
class Query:
    authors: tuple[str, ...]  # the `from:` values as written
    dropped: frozenset[int]  # post kinds the negations exclude

    def key(self) -> tuple[object, ...]:
        return (tuple(sorted(a.lower() for a in self.authors)), tuple(sorted(self.dropped)))


def parse_query(text: str) -> Query:
    """The query's terms, or a QueryError with the API's wording."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"{_PROCESSING}Rules must be {MAX_QUERY_LENGTH} characters or less (the query has {len(text)})"
        )
    authors: list[str] = []
    dropped: set[int] = set()
    position = 0
    for term in text.split(" "):
        position += 1
        at = position
        position += len(term)
        if not term:
            continue
        lowered = term.lower()
        if lowered in _NEGATIONS:
            dropped.add(_NEGATIONS[lowered])
        elif lowered.startswith("from:"):
            value = term[5:]
            if not (ID_RE.match(value) or USERNAME_RE.match(value)):
                raise QueryError(f"{_PROCESSING}Invalid value for operator 'from:' (at position {at})")
            authors.append(value)
        elif ":" in term.lstrip("-"):
            operator = term.lstrip("-").split(":", 1)[0]
            raise QueryError(
                f"{_PROCESSING}Reference to invalid operator '{operator}'. Operator is not available "
                f"in current product or product packaging; the simulator serves from:, -is:retweet "
                f"and -is:reply only (at position {at})"
            )
        else:
            raise QueryError(
                f"{_PROCESSING}the simulator serves the operators from:, -is:retweet and -is:reply "
                f"only, not '{term}' (at position {at})"
            )
    if not authors:
        raise QueryError(f"{_PROCESSING}Rules must contain a non-negation term (at position 1)")
    return Query(tuple(authors), frozenset(dropped))


def author(world: World, query: Query, t_ms: int) -> Account | None:
    """The one account every `from:` names (by id or by its username at `t_ms`), or None."""
    found: Account | None = None
    for value in query.authors:
        acc = world.account(value) if value.isdigit() else None
        if acc is None:
            acc = world.account_by_username(value, t_ms)
        if acc is None or (found is not None and acc is not found):
            return None
        found = acc
    if found is None or found.status != "active":
        return None
    return found


@dataclass(frozen=True)
class Bounds:
    since_id: int | None = None
    until_id: int | None = None
    start_s: int | None = None
    end_s: int | None = None


def matching(world: World, acc: Account, query: Query, bounds: Bounds, t_ms: int) -> list[int]:
    """Ids of the posts the query matches within `bounds` at world time `t_ms`, newest first."""
    ids, kinds = world.archive(acc.index, t_ms)
    lo, hi = 0, len(ids)
    if bounds.since_id is not None:
        lo = max(lo, bisect_right(ids, bounds.since_id))
    if bounds.start_s is not None:
        lo = max(lo, bisect_left(ids, id_from_ms(bounds.start_s * 1000)))
    if bounds.until_id is not None:
        hi = min(hi, bisect_left(ids, bounds.until_id))
    if bounds.end_s is not None:
        hi = min(hi, bisect_left(ids, id_from_ms(bounds.end_s * 1000)))
    dropped = query.dropped
    return [ids[i] for i in range(hi - 1, lo - 1, -1) if kinds[i] not in dropped]
