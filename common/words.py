"""Plain words for what the commands print: counts with the right plural, lists without reprs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files`` (``many`` when the plural is not ``word + "s"``)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def counts(figures: Mapping[str, int]) -> str:
    """``{"alice": 3, "bob": 1}`` → ``alice 3, bob 1`` (never a Python repr)."""
    return ", ".join(f"{name} {value:,}" for name, value in figures.items())


def listing(items: Iterable[str], *, limit: int = 5) -> str:
    """``a, b, c`` — the first ``limit`` items, then ``and N more``."""
    shown = list(items)
    rest = len(shown) - limit
    text = ", ".join(shown[:limit])
    return f"{text} and {rest:,} more" if rest > 0 else text
