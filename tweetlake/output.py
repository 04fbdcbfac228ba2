"""What the ``tweetlake`` commands print: result tables, and a run's progress line on a terminal."""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

MAX_CELL = 60
_ESCAPES = {"\\": "\\\\", "|": "\\|", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """A value on one line that cannot break the columns: ``|``, backslashes, line breaks and other
    control characters are written as escapes (``\\|``, ``\\\\``, ``\\n``, ``\\x1b``)."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def is_identifier_column(name: str) -> bool:
    """Ids and keys are names, not quantities: no thousands separators (``tweet_id``, ``date_key``)."""
    return name in ("id", "key") or name.endswith(("_id", "_key"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _cell(value: Any, *, separators: bool, max_cell: int | None) -> str:
    if value is None:
        text = "NULL"
    elif _is_number(value) and separators:
        text = f"{value:,}"
    else:
        text = escape(str(value))
    return text if max_cell is None or len(text) <= max_cell else text[: max_cell - 1] + "…"


def format_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    max_cell: int | None = MAX_CELL,
    width: int | None = None,
    expanded: bool = False,
) -> str:
    """An aligned text table as psql prints it: numbers right-aligned with thousands separators
    (ids and keys without), values escaped, cut at ``max_cell`` characters (``None``: never). A
    table wider than ``width`` (or ``expanded``) is printed one record at a time, like psql's ``\\x``."""
    names = [escape(c) for c in columns]
    cells = [
        [_cell(v, separators=not is_identifier_column(c), max_cell=max_cell) for v, c in zip(row, columns, strict=True)]
        for row in rows
    ]
    right = [bool(rows) and all(_is_number(r[i]) or r[i] is None for r in rows) for i in range(len(columns))]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(names)]
    footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    if expanded or (width is not None and sum(widths) + 3 * len(widths) > width):
        return _expanded(names, cells, footer, width)

    def line(values: Sequence[str], align: Sequence[bool]) -> str:
        return "|".join(f" {v.rjust(w) if r else v.ljust(w)} " for v, w, r in zip(values, widths, align, strict=True))

    out = [line(names, [False] * len(names)).rstrip(), "+".join("-" * (w + 2) for w in widths)]
    out += [line(r, right).rstrip() for r in cells]
    out.append(footer)
    return "\n".join(out)


def _expanded(names: Sequence[str], cells: Sequence[Sequence[str]], footer: str, width: int | None) -> str:
    """One record at a time: ``-[ RECORD 1 ]`` then ``column | value`` lines, values cut to fit."""
    label = max((len(n) for n in names), default=0)
    room = max(10, (width or 10**6) - label - 3)
    out = []
    for number, row in enumerate(cells, 1):
        head = f"-[ RECORD {number} ]"
        out.append(head + "-" * max(0, min(width or 40, label + 3 + max(map(len, row), default=0)) - len(head)))
        out += [
            f"{n.ljust(label)} | {v if len(v) <= room else v[: room - 1] + '…'}".rstrip()
            for n, v in zip(names, row, strict=True)
        ]
    out.append(footer)
    return "\n".join(out)


def terminal_width(stream: TextIO | None = None) -> int | None:
    """The terminal's width when ``stream`` (default stdout) is one; ``None`` for a pipe or a file."""
    stream = stream or sys.stdout
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size((100, 24)).columns


def command_name() -> str:
    """How to call this ``tweetlake`` from the current folder, for a ``next:`` line that runs as
    printed: ``tweetlake`` when the shell finds this one, else its path (``.venv/bin/tweetlake``
    from the repository root)."""
    mine = Path(sys.executable).parent / "tweetlake"
    if not mine.exists():
        return "tweetlake"
    found = shutil.which("tweetlake")
    if found and Path(found).resolve() == mine.resolve():
        return "tweetlake"
    with contextlib.suppress(ValueError):
        return shlex.quote(str(mine.relative_to(Path.cwd())))
    return shlex.quote(str(mine))


class Progress:
    """A one-line progress display on a terminal; silent when stderr is not a TTY (logs, CI).

    Called as a run's progress callback (``progress(done, total, tweets=…)``); :meth:`close` ends
    the line once the run is over."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._drawn = False
        self._last = 0.0

    def __call__(self, done: int, total: int, **figures: int) -> None:
        if not self.enabled or time.monotonic() - self._last < 0.2:
            return
        self._last = time.monotonic()
        width = 24
        filled = int(width * done / total) if total else width
        extra = " · ".join(f"{v:,} {k}" for k, v in figures.items())
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {extra} ")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
