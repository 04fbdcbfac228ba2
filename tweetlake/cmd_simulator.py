"""`tweetlake simulator`: run the X API v2 simulator as a separate process.

Prints the base URL on one line (so a script can read it) and serves until SIGINT/SIGTERM.
By default the world clock starts now and follows wall time, like a live API would.

The simulator is its own distribution (``simulator/``, import ``xsim``): a development part that
ships in neither the Glue wheel nor the Lambda zip, so it is imported only when this command runs;
without it the command says how to install it and exits 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from common.exit_codes import ExitCode, epilog
from tweetlake.options import ArgumentParser, add_log_level

NOT_INSTALLED = 2
"""Exit code when the simulator distribution is not installed."""


def _rate_limit(text: str) -> tuple[str, int]:
    template, sep, limit = text.rpartition("=")
    if not sep or not template.strip() or not limit.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected 'GET /2/users/:id/tweets=1500', got {text!r}")
    return template.strip(), int(limit)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake simulator",
        description=__doc__,
        epilog=epilog(
            {
                ExitCode.OK: "stopped by SIGINT or SIGTERM",
                ExitCode.USAGE: "bad arguments, the port is in use, or the simulator is not installed"
                " (pip install ./simulator)",
            }
        )
        + "\n\nenvironment:\n  (none: the simulator reads only its options)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="the port to listen on; 0 picks a free one (default: 8000)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="the world's random seed: same seed, same world (default: 42)"
    )
    parser.add_argument("--accounts", type=int, default=20, help="how many accounts the world has (default: 20)")
    parser.add_argument("--now", default=None, help="world clock start (ISO 8601); default: the current time")
    parser.add_argument("--frozen", action="store_true", help="freeze the world clock instead of following wall time")
    parser.add_argument("--token", default=None, help="accept only this bearer token (default: any non-empty one)")
    parser.add_argument("--activity", type=float, default=1.0, help="multiplier on tweeting rates (default: 1.0)")
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of requests answered with a 500 or 503, 0 to 1 (default: 0)",
    )
    parser.add_argument(
        "--slow-rate", type=float, default=0.0, help="share of requests answered late, 0 to 1 (default: 0)"
    )
    parser.add_argument(
        "--slow-seconds", type=float, default=0.0, help="how late a slow answer is, in seconds (default: 0)"
    )
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of connections dropped without an answer, 0 to 1 (default: 0)",
    )
    parser.add_argument("--usage-cap", action="store_true", help="answer every request with the usage-cap 429")
    parser.add_argument(
        "--credits-usd",
        type=float,
        default=None,
        help="prepaid credits; once billed, requests answer 402 (default: unlimited)",
    )
    parser.add_argument(
        "--post-cap", type=int, default=3_000_000, help="post reads per billing cycle (default: 3000000)"
    )
    parser.add_argument(
        "--legacy-plan",
        action="store_true",
        help="a plan without full-archive access: search/all and counts/all answer 403",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        action="append",
        default=[],
        metavar="'TEMPLATE=LIMIT'",
        help="override a 15-minute limit, e.g. 'GET /2/users/:id/tweets=1500' (repeatable; default: the X API's)",
    )
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        from xsim import BillingConfig, FaultConfig, SimulatorServer
    except ModuleNotFoundError as err:
        if err.name != "xsim":  # the simulator is there but broken: that is a bug to see whole
            raise
        print(
            "tweetlake simulator: the X API simulator is a development part, not installed here: "
            "pip install ./simulator",
            file=sys.stderr,
        )
        return NOT_INSTALLED
    faults = FaultConfig(
        error_rate=args.error_rate,
        slow_rate=args.slow_rate,
        slow_seconds=args.slow_seconds,
        drop_rate=args.drop_rate,
        usage_cap=args.usage_cap,
        seed=args.seed,
    )
    sim = SimulatorServer(
        seed=args.seed,
        accounts=args.accounts,
        now=args.now,
        token=args.token,
        rate_limits=dict(args.rate_limit) or None,
        faults=faults,
        activity=args.activity,
        port=args.port,
        host=args.host,
        frozen=args.frozen,
        billing=BillingConfig(credits_usd=args.credits_usd, post_cap=args.post_cap, full_archive=not args.legacy_plan),
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    sim.start()
    print(sim.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
