"""Every command's ``--help``: each option says what it does and its default, the environment
variables the command reads are listed, and no reStructuredText markup leaks in."""

from __future__ import annotations

import argparse
import importlib

import pytest

from tweetlake.cli import COMMANDS, usage

OWN_COMMANDS = tuple(COMMANDS)  # every command, the ones added later too


def parser_of(command: str) -> argparse.ArgumentParser:
    module = importlib.import_module(COMMANDS[command][0])
    return module.build_parser()  # type: ignore[no-any-return]


@pytest.mark.parametrize("command", OWN_COMMANDS)
def test_every_option_has_help_with_its_default(command: str) -> None:
    parser = parser_of(command)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{command} {name} has no help"
        takes_value = action.nargs != 0 and action.option_strings
        if takes_value and action.default is not None:
            assert "default" in action.help.lower(), f"{command} {name}: default {action.default!r} not shown"


@pytest.mark.parametrize("command", OWN_COMMANDS)
def test_help_lists_the_environment_and_has_no_markup(command: str) -> None:
    text = parser_of(command).format_help()
    assert "environment:" in text
    assert "``" not in text and ":class:" not in text and ":func:" not in text
    assert "--log-level" in text


def test_the_top_level_help_lists_every_command_and_action() -> None:
    text = usage()
    for command in COMMANDS:
        assert f"  {command} " in text
    for action in ("job all", "db", "migrate", "url", "start", "stop", "status", "add", "remove", "list"):
        assert action.split()[-1] in text
    assert "TWEETLAKE_HOME" in text and "exit codes" in text
