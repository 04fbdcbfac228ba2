"""``tweetlake users add|remove|list`` — the tracked-accounts registry in ``<lake>/state/``.

``add`` resolves every name against the X API first, as the REST API does: a name X does not know
(or a suspended account) is refused, and nothing of the list is written unless every name is
valid and known. ``--offline`` records the names unresolved instead (the next users run resolves
them). A leading ``@`` is dropped, here and in the REST API alike.
"""

from __future__ import annotations

import argparse
import sys

from common.exit_codes import epilog
from common.settings import env_help, load
from common.words import plural
from ingestion.registry import InvalidUsername, Registry, check_username
from tweetlake.errors import ExitCode, UsageError
from tweetlake.options import ArgumentParser, add_lake, add_log_level, open_lake

EPILOG = f"""{
    epilog(
        {
            ExitCode.OK: "done",
            ExitCode.FAILED: "a name X does not know or has suspended (add), or a name not tracked (remove); nothing"
            " written",
            ExitCode.USAGE: "bad arguments: a name that is not 1-15 letters, digits or _, a lake URI, no X API token"
            " (add without --offline)",
            ExitCode.FATAL_API: "the X API refused the lookup (bad token, no access)",
            ExitCode.API_KEPT_FAILING: "the X API did not answer the lookup",
            ExitCode.LAKE: "the lake failed (denied, unreachable, no AWS credentials)",
            ExitCode.BUDGET_REACHED: "the monthly X API budget has no room for the lookup (add: names are user reads,"
            " billed)",
        }
    )
}

{
    env_help(
        "TWEETLAKE_HOME",
        "TWEETLAKE_LAKE",
        "TWEETLAKE_BUDGET_USD",
        "X_BEARER_TOKEN",
        "X_BEARER_TOKEN_SECRET_ARN",
        "X_API_BASE_URL",
    )
}"""


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake users", description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["add", "remove", "list"], help="what to do with the tracked accounts")
    parser.add_argument(
        "usernames",
        nargs="*",
        help="for add and remove: X usernames, with or without @ (separated by commas or spaces)",
    )
    add_lake(parser)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="add: record the names unresolved, without asking the X API (default: resolve)",
    )
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    lake = open_lake(args.lake)
    registry = Registry(lake)
    names = [n.strip() for arg in args.usernames for n in arg.split(",") if n.strip()]
    if args.action == "list":
        accounts = registry.list()
        for a in accounts:
            status = f"  [{a.status}]" if a.status else ""
            print(f"{a.username:<16} {a.user_id or '(unresolved)':<20} added {a.added_at}{status}")
        print(f"{plural(len(accounts), 'tracked account')} in {lake.uri}")
        return 0
    if not names:
        parser.error(f"{args.action} needs at least one username")
    try:
        checked = list(dict.fromkeys(check_username(n) for n in names))  # the whole list, before any write
    except InvalidUsername as err:
        raise UsageError(f"{err}; nothing was changed") from None
    if args.action == "remove":
        missing = [n for n in checked if registry.get(n) is None]
        if missing:
            print(f"tweetlake users: not tracked: {', '.join(missing)}; nothing was changed", file=sys.stderr)
            return ExitCode.FAILED
        for name in checked:
            registry.remove(name)
            print(f"removed: {name} (data already collected is kept)")
        return 0
    return _add(registry, checked, offline=args.offline)


def _add(registry: Registry, names: list[str], *, offline: bool) -> int:
    from ingestion.accounts import AccountStatus, NoAnswer, UnknownAccount, look_up_usernames

    new = [n for n in names if registry.get(n) is None]
    resolved: dict[str, tuple[str | None, AccountStatus | None]] = dict.fromkeys(new, (None, None))
    if new and not offline:
        settings = load()
        if not settings.has_token:
            raise UsageError(
                "resolving names needs the X API: set X_BEARER_TOKEN (or X_BEARER_TOKEN_SECRET_ARN),"
                " or pass --offline to record them unresolved"
            )
        from ingestion.client import XClient
        from ingestion.errors import BudgetReached, ConfigurationError, FatalAPIError, RetriableAPIError
        from ingestion.usage import Budget, budget_usd

        client = XClient.from_settings(
            settings,
            timeout=(3.05, 10.0),
            max_retries=1,
            backoff_base=0.25,
            backoff_max=1.0,
            max_rate_limit_wait=2.0,
            max_rate_limit_retries=0,
        )
        try:
            budget = Budget(budget_usd(None, settings.budget_usd))
            resolved = dict(look_up_usernames(client, new, lake=registry.lake, budget=budget))
        except BudgetReached as err:
            print(f"tweetlake users: {err}; nothing was changed (--offline adds names unresolved)", file=sys.stderr)
            return ExitCode.BUDGET_REACHED
        except UnknownAccount as err:
            print(f"tweetlake users: {err}; nothing was changed (--offline adds names unresolved)", file=sys.stderr)
            return ExitCode.FAILED
        except ConfigurationError as err:
            raise UsageError(str(err)) from None
        except FatalAPIError as err:
            print(f"tweetlake users: the X API refused the lookup: {err}; nothing was changed", file=sys.stderr)
            return ExitCode.FATAL_API
        except (RetriableAPIError, NoAnswer) as err:
            print(f"tweetlake users: the X API did not answer: {err}; nothing was changed", file=sys.stderr)
            return ExitCode.API_KEPT_FAILING
        finally:
            client.close()
        owners = {a.user_id: a.username for a in registry.list() if a.user_id}
        for name, (user_id, _) in resolved.items():
            if user_id in owners and owners[user_id].lower() != name.lower():
                print(
                    f"tweetlake users: @{name} is account {user_id}, already tracked as @{owners[user_id]};"
                    " nothing was changed",
                    file=sys.stderr,
                )
                return ExitCode.FAILED
    for name in names:
        user_id, status = resolved.get(name, (None, None))
        account, created = registry.add(name, user_id)
        if status:
            registry.record_lookups({}, {account.username: status}, {})
        what = f"added: {account.username}" if created else f"already tracked: {account.username}"
        print(what + ("" if not created else f" ({account.user_id or 'unresolved'})"))
    return 0
