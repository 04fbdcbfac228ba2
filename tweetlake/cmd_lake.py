"""``tweetlake lake`` — what the lake holds: files, records and partial errors per dataset and day."""

from __future__ import annotations

import argparse

from common.exit_codes import ExitCode, epilog
from common.lake_summary import render, summarise
from common.settings import env_help
from tweetlake.options import ArgumentParser, add_lake, add_log_level, open_lake

EPILOG = f"""{
    epilog(
        {
            ExitCode.OK: "done",
            ExitCode.USAGE: "bad arguments: a lake URI that is not file:///… or s3://…, or no lake folder there",
            ExitCode.LAKE: "the lake failed (denied, unreachable, no AWS credentials, no such bucket)",
        }
    )
}

{env_help("TWEETLAKE_HOME", "TWEETLAKE_LAKE")}"""


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake lake", description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_lake(parser)
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from common.logs import configure_logging

    configure_logging(args.log_level)
    lake = open_lake(args.lake, must_exist=True)
    print(render(lake, summarise(lake)))
    return 0
