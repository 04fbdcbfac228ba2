"""Where local state lives does not depend on the current folder: ``TWEETLAKE_HOME``, else one home
per user (XDG), else ``/var/lib/tweetlake`` for root."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import Settings, default_home


def test_the_default_home_is_the_same_from_every_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"HOME": str(tmp_path / "user")}
    homes = set()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        homes.add(Settings.from_env(env).home)
    assert len(homes) == 1 and homes.pop().is_absolute()


def test_xdg_then_the_user_then_root() -> None:
    assert default_home({"XDG_DATA_HOME": "/x/data", "HOME": "/h"}, root=False) == Path("/x/data/tweetlake")
    assert default_home({"XDG_DATA_HOME": "relative", "HOME": "/h"}, root=False) == Path("/h/.local/share/tweetlake")
    assert default_home({"HOME": "/root"}, root=True) == Path("/var/lib/tweetlake")


def test_tweetlake_home_still_wins(tmp_path: Path) -> None:
    env = {"TWEETLAKE_HOME": str(tmp_path / "mine"), "XDG_DATA_HOME": "/x/data"}
    settings = Settings.from_env(env)
    assert settings.home == tmp_path / "mine" and settings.lake_uri == (tmp_path / "mine" / "lake").as_uri()
