"""What the ``tweetlake`` commands print: result tables, and a run's progress line on a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

MAX_CELL = 60


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, max_cell: int | None = MAX_CELL) -> str:
    """An aligned text table; values longer than ``max_cell`` are cut with ``…`` (``None``: never)."""

    def cell(value: Any) -> str:
        text = "NULL" if value is None else str(value)
        text = text.replace("\n", "\\n")
        return text if max_cell is None or len(text) <= max_cell else text[: max_cell - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), line]
    out += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


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
