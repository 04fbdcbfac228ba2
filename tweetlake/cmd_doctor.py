"""``tweetlake doctor [--for PATH] [--api] [--aws] [--stack NAME]``: what each path needs, checked in
seconds before anything is spent; each line ✓ or ✗, and a ✗ with the one command that fixes it.

Nothing here is billed: the X token is only looked at unless ``--api`` asks ``GET /2/usage/tweets``
(which X does not bill); AWS is asked only with ``--aws`` or ``--stack``.
"""

from __future__ import annotations

import argparse
import sys

from common.exit_codes import ExitCode, epilog
from common.settings import env_help, load
from tweetlake.doctor import PATHS, check_stack, run_checks
from tweetlake.options import ArgumentParser, add_log_level

EPILOG = f"""paths (--for): {", ".join(f"{p} ({', '.join(c)})" for p, c in PATHS.items())}

{epilog({ExitCode.OK: "every check passed", ExitCode.USAGE: "a check failed (its line says how to fix it)"})}

{env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL", "TWEETLAKE_JDBC_JAR", "TWEETLAKE_JDBC_SEARCH", "X_BEARER_TOKEN")}
"""


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake doctor",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--for",
        dest="path",
        choices=tuple(PATHS),
        default=None,
        help="check only what this path needs (default: every local check)",
    )
    parser.add_argument("--api", action="store_true", help="ask the X API whether it takes the token (free)")
    parser.add_argument("--aws", action="store_true", help="check the AWS credentials (sts get-caller-identity)")
    parser.add_argument("--stack", metavar="NAME", default=None, help="check this CloudFormation stack (implies --aws)")
    parser.add_argument("--quiet", action="store_true", help="print only the failed checks")
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.path:
        names = PATHS[args.path]
    else:
        names = tuple(dict.fromkeys(n for path in ("demo", "test", "ingest") for n in PATHS[path]))
    if args.aws or args.stack:
        names = (*names, "aws") if "aws" not in names else names
    checks = run_checks(names, load(), ask_api=args.api)
    if args.stack:
        checks.append(check_stack(args.stack))
    failed = [c for c in checks if not c.ok]
    for check in checks:
        if not args.quiet or not check.ok:
            print(check.render(), file=sys.stdout if not args.quiet else sys.stderr)
    if not args.quiet:
        checked, bad = {c.name for c in checks}, {c.name for c in failed}
        covered = [p for p, need in PATHS.items() if set(need) <= checked]
        ready = ", ".join(p for p in covered if not bad & set(PATHS[p])) or "none"
        blocked = ", ".join(p for p in covered if bad & set(PATHS[p]))
        print(f"\nready for: {ready}" + (f"; not ready for: {blocked} (fix the ✗ lines)" if blocked else ""))
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
