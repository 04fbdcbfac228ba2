"""The shape of X API responses, learned from the recorded-shape fixtures, and a check against it.

A shape records, for every place in a body, the JSON types seen there and, for objects, the keys
seen always (required) and at all (allowed). A post, a user, a partial error and a post's entities
are each one shape, learned from every fixture that holds one wherever it sits (``data``,
``includes``, ``note_tweet``), as the API's documentation defines each object once; everything
else (the body's top level, ``meta``) is learned per fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fixtures import Recorded

LIST = "[]"
_KIND_STARTS = {
    "includes.users.[]": "user",
    "includes.tweets.[]": "tweet",
}
_NESTED_KINDS = {"tweet.entities": "entities", "tweet.note_tweet.entities": "entities"}
_ENTITY_CONTAINERS = {"entities", "user.entities", "user.entities.description"}
"""Entities hold only the kinds a text has (no empty `hashtags` list): none of their keys is required."""


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


@dataclass
class _Node:
    types: set[str] = field(default_factory=set)
    allowed: set[str] = field(default_factory=set)
    required: set[str] | None = None  # None until an object was seen here


def data_kind(path: str) -> str:
    """What `data` holds for an endpoint path: posts on /2/tweets and timelines, users otherwise."""
    return "tweet" if path.endswith("/tweets") else "user"


class Shapes:
    """Shapes learned from recorded responses (see the module docstring)."""

    def __init__(self) -> None:
        self._nodes: dict[str, _Node] = {}

    @classmethod
    def learn(cls, fixtures: list[Recorded]) -> Shapes:
        shapes = cls()
        for fixture in fixtures:
            shapes.walk(fixture.body, fixture, shapes._record)
        return shapes

    def mismatches(self, body: Any, like: Recorded) -> list[str]:
        """Where `body` (an answer to the request `like` records) differs from the learned shapes."""
        problems: list[str] = []

        def check(label: str, value: Any) -> None:
            node = self._nodes.get(label)
            if node is None:
                problems.append(f"{label}: no recorded response has anything here")
                return
            kind = json_type(value)
            if kind not in node.types:
                problems.append(f"{label}: {kind}, recorded as {'|'.join(sorted(node.types))}")
            if isinstance(value, dict) and node.required is not None:
                if extra := sorted(set(value) - node.allowed):
                    problems.append(f"{label}: keys {extra} that no recorded response has")
                if missing := sorted(node.required - set(value)):
                    problems.append(f"{label}: lacks {missing} that every recorded response has")

        self.walk(body, like, check)
        return problems

    def walk(self, body: Any, like: Recorded, visit: Callable[[str, Any], None]) -> None:
        """Call `visit(label, value)` for every value of `body`, labelled as in the learned shapes."""
        self._walk(body, like.name, _Context(like.name, data_kind(like.path), like.status), visit)

    def allowed(self, label: str) -> set[str]:
        """Every key an object at `label` has in some recorded response."""
        node = self._nodes.get(label)
        return set(node.allowed) if node else set()

    def _record(self, label: str, value: Any) -> None:
        node = self._nodes.setdefault(label, _Node())
        node.types.add(json_type(value))
        if isinstance(value, dict):
            node.allowed |= set(value)
            keys = set() if label in _ENTITY_CONTAINERS else set(value)
            node.required = keys if node.required is None else node.required & keys

    def _walk(self, value: Any, label: str, ctx: _Context, visit: Callable[[str, Any], None]) -> None:
        visit(label, value)
        if isinstance(value, dict):
            for key, child in value.items():
                self._walk(child, ctx.child(label, key, child), ctx, visit)
        elif isinstance(value, list):
            for child in value:
                self._walk(child, ctx.child(label, LIST, child), ctx, visit)


@dataclass(frozen=True)
class _Context:
    root: str
    data: str  # the kind `data` holds
    status: int

    def child(self, label: str, key: str, value: Any) -> str:
        """The label of `label`'s child `key`: a kind's name where an API object starts."""
        name = f"{label}.{key}"
        relative = name[len(self.root) + 1 :] if name.startswith(self.root + ".") else None
        if (relative == "data" and isinstance(value, dict)) or relative == "data.[]":
            return self.data
        if relative in _KIND_STARTS:
            return _KIND_STARTS[relative]
        if relative == "errors.[]" and self.status == 200:
            return "partial_error"
        return _NESTED_KINDS.get(name, name)


def header_mismatches(headers: dict[str, str], like: Recorded) -> list[str]:
    """The rate-limit headers and the content type: the same names, numbers where numbers are."""
    actual = {name.lower(): value for name, value in headers.items()}
    recorded = {name.lower(): value for name, value in like.headers.items()}
    problems = []
    limits = {name for name in actual if name.startswith("x-rate-limit-")}
    if limits != {name for name in recorded if name.startswith("x-rate-limit-")}:
        problems.append(f"rate-limit headers {sorted(limits)}, recorded {sorted(n for n in recorded if 'rate' in n)}")
    for name in limits & set(recorded):
        if actual[name].isdigit() != recorded[name].isdigit():
            problems.append(f"{name}: {actual[name]!r}, recorded {recorded[name]!r}")
    if "content-type" in recorded and actual.get("content-type") != recorded["content-type"]:
        problems.append(f"content-type {actual.get('content-type')!r}, recorded {recorded['content-type']!r}")
    return problems
