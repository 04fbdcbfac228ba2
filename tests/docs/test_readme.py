"""The README is a first screen whose links all land, and the docs hold one exit-code table."""

from __future__ import annotations

import re
from pathlib import Path

from common.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _relative_links(markdown: str) -> list[str]:
    return [t for t in LINK.findall(markdown) if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def test_every_relative_link_of_the_readme_names_a_file_or_folder_of_the_repository() -> None:
    links = _relative_links((ROOT / "README.md").read_text(encoding="utf-8"))
    assert links, "the README links to the docs"
    missing = [t for t in links if not (ROOT / t.split("#", 1)[0]).exists()]
    assert missing == []


def test_the_readme_is_a_first_screen_that_says_the_x_api_bills_every_read() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    first_screen = "\n".join(lines[:40]).lower()
    assert "bill" in first_screen and "$0.005 a post read" in first_screen


def test_the_operations_page_lists_every_exit_code_once_in_one_table() -> None:
    docs = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md")}
    rows = {name: re.findall(r"^\| (\d+) \|", text, re.MULTILINE) for name, text in docs.items()}
    tables = {name: codes for name, codes in rows.items() if codes}
    assert list(tables) == ["operations.md"]
    assert tables["operations.md"] == [str(int(code)) for code in ExitCode]
