"""``tweetlake api`` — serve the tracked-accounts REST API locally (the same app Lambda runs).

Auth: every /accounts request needs the header ``X-API-Key: $TWEETLAKE_API_KEY`` (at least 16
characters; it is never logged). Without a key the server refuses to start, unless ``--no-auth``
is given for a local experiment. When an X API token is configured (``X_BEARER_TOKEN`` or
``X_BEARER_TOKEN_SECRET_ARN``; base URL ``X_API_BASE_URL``), new accounts are resolved before they
are tracked (unknown or suspended: 404); without one they are added unresolved.

Exit status: 0 after a clean shutdown, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys

from common.lake import LakeError
from common.logs import configure_logging
from common.settings import env_help, load
from tweetlake.options import ArgumentParser, add_lake, add_log_level, open_lake

log = logging.getLogger("tweetlake.api")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="the port to listen on (default: 8080)")
    add_lake(parser)
    parser.add_argument("--no-auth", action="store_true", help="serve without an API key (local experiments only)")
    parser.add_argument(
        "--no-profile-snapshots",
        action="store_true",
        help="do not read raw/users/ for each account's last profile snapshot date",
    )
    add_log_level(parser, default="INFO")
    parser.epilog = env_help(
        "TWEETLAKE_HOME",
        "TWEETLAKE_LAKE",
        "TWEETLAKE_API_KEY",
        "TWEETLAKE_API_PROFILE_SNAPSHOTS",
        "X_BEARER_TOKEN",
        "X_BEARER_TOKEN_SECRET_ARN",
        "X_API_BASE_URL",
    )
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Raise ``OSError(EADDRINUSE)`` when ``host:port`` is taken (the error boundary words it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level.upper())
    try:
        import uvicorn

        from tweetlake.api.app import ApiConfig, create_app
        from tweetlake.api.service import client_factory
    except ImportError as err:
        print(f"tweetlake api: needs the api extra (pip install 'tweetlake[api]'): {err}", file=sys.stderr)
        return 2
    settings = load()
    key = settings.api_key
    if args.no_auth:
        key = None
        if not _is_loopback(args.host):
            log.warning(
                "serving WITHOUT auth on %s: anyone who can reach it can change the tracked accounts", args.host
            )
    elif not key:
        print(
            "tweetlake api: set TWEETLAKE_API_KEY (clients send it as X-API-Key), "
            "or pass --no-auth for a local experiment",
            file=sys.stderr,
        )
        return 2
    try:
        lake = open_lake(args.lake)
        config = ApiConfig(
            lake=lake,
            auth="none" if args.no_auth else "api_key",
            api_key=key,
            client_factory=client_factory(settings),
            profile_snapshots=not args.no_profile_snapshots,
        )
    except (LakeError, ValueError) as err:
        print(f"tweetlake api: {err}", file=sys.stderr)
        return 2
    _check_port(args.host, args.port)  # uvicorn would log a line and exit 1; say it plainly, exit 2
    app = create_app(config)
    log.info(
        "tracked-accounts API on http://%s:%d (lake %s, auth %s, X lookups %s)",
        args.host,
        args.port,
        lake.uri,
        config.auth,
        "on" if config.client_factory else "off",
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower(), log_config=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
