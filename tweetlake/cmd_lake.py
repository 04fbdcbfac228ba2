"""``tweetlake lake`` — what the lake holds: files, records and partial errors per dataset and day."""

from __future__ import annotations

import argparse

from common.lake import Lake
from common.lake_summary import render, summarise
from common.settings import default_lake_uri


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tweetlake lake", description=__doc__)
    parser.add_argument("--lake", default=None, help="file:///… or s3://bucket/prefix (default: .tweetlake/lake)")
    args = parser.parse_args(argv)
    lake = Lake.from_uri(args.lake or default_lake_uri())
    print(render(lake, summarise(lake)))
    return 0
