"""Where the report goes: an ``--out`` path or ``file://`` URI, checked before any query runs, and
written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse


class OutputError(ValueError):
    """The report cannot be written where asked (a folder, no such place, no permission)."""


def output_path(text: str) -> Path:
    """``text`` (a path, or ``file:///absolute/file``) as an absolute path to a file that can be
    written; :class:`OutputError` says why not."""
    parsed = urlparse(text)
    if parsed.scheme == "file":
        if parsed.netloc or not parsed.path.startswith("/"):
            raise OutputError(f"a file:// location is file:///absolute/path, not {text!r}")
        path = Path(unquote(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:  # ``c:`` is a drive, not a scheme
        raise OutputError(f"the report is a local file: give a path or file:///…, not {text!r}")
    else:
        path = Path(text).expanduser().resolve()
    if path.is_dir():
        raise OutputError(f"--out {text} is a folder: give a file name, e.g. {path / 'report.html'}")
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"cannot write {path}: permission denied")
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (a temporary file beside it, then a rename)."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
