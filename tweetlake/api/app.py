"""The FastAPI application: routes, auth, problem+json errors and the OpenAPI document.

Auth is one of three modes, fixed when the application is built:

* ``api_key`` — the ``X-API-Key`` header must equal the configured key (compared with
  :func:`hmac.compare_digest`; the key is registered with the log redactor and never logged);
* ``iam`` — on Lambda: API Gateway has already checked the caller's SigV4 signature (``AWS_IAM``
  on every route); the application refuses any event whose ``requestContext.authorizer.iam`` is
  missing, so a mis-wired gateway fails closed instead of open;
* ``none`` — local experiments only (``tweetlake api --no-auth``).

The OpenAPI document at ``/openapi.json`` (and the docs pages) is served without auth locally (it
holds no data); every other path, known or not, needs it.

The API checks before it reads: :class:`ChecksFirst`, an ASGI middleware in front of the routes,
refuses a declared ``Content-Length`` over :data:`MAX_BODY_BYTES` (413), then authenticates from
the headers alone (401, the body never read), then reads the body counting what arrives (chunked,
or more than the header said) and stops with 413 at the limit. FastAPI then parses a body that is
known to come from a caller with the key and to be small.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from common import __version__
from common.lake import Lake
from common.logs import register_secret
from ingestion.errors import StateCorrupt
from ingestion.registry import USERNAME_RE, InvalidUsername
from tweetlake.api.checks import ChecksFirst
from tweetlake.api.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemError, problem_response
from tweetlake.api.service import AccountsService, AccountView, ClientFactory

log = logging.getLogger("tweetlake.api")

AuthMode = Literal["api_key", "iam", "none"]
USERNAME_PATTERN = "^@?" + USERNAME_RE.pattern.removeprefix("^")
"""A username, with or without a leading ``@`` (dropped), as ``tweetlake users add`` takes it."""
API_KEY_HEADER = "X-API-Key"
MIN_API_KEY_LENGTH = 16
MAX_BODY_BYTES = 64 * 1024


@dataclass
class ApiConfig:
    lake: Lake
    auth: AuthMode = "api_key"
    api_key: str | None = None
    # builds the X client that resolves new accounts; None: add them unresolved (the next users
    # run resolves them)
    client_factory: ClientFactory | None = None
    # read raw/users/ partitions for each account's last profile snapshot date
    profile_snapshots: bool = True
    # a larger request body is refused with 413 before it is parsed
    max_body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if self.auth == "api_key":
            if not self.api_key or len(self.api_key) < MIN_API_KEY_LENGTH:
                raise ValueError(
                    f"API key auth needs a key of at least {MIN_API_KEY_LENGTH} characters (TWEETLAKE_API_KEY)"
                )
            register_secret(self.api_key)


# -- the JSON shapes -----------------------------------------------------------------------------
class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"username": "NASA"}]})

    username: str = Field(pattern=USERNAME_PATTERN, description="the X username (a leading @ is dropped)")


class TweetsOut(BaseModel):
    newest_id: str | None = Field(description="newest tweet collected (state/tweets/cursors.json)")
    cursor_updated_at: str | None = Field(description="when the tweets cursor last moved")
    backfill_pending: bool = Field(description="the first backfill was interrupted and resumes next run")
    collected: int | None = Field(
        description="tweets of this account in the tweet index, as of the last metrics run; null when not known"
    )


class AccountOut(BaseModel):
    username: str
    user_id: str | None = Field(description="null until a lookup resolved the name")
    added_at: str | None
    status: str | None = Field(description="null (fine), not_found, suspended or protected, from the last lookup")
    previous_usernames: list[str]
    last_profile_snapshot: date | None = Field(
        description="the raw/users/dt= day of the newest published profile of this account (recorded by the"
        " users collector; else looked up in the last 35 partitions, where the lake allows it)"
    )
    tweets: TweetsOut

    @classmethod
    def of(cls, view: AccountView) -> AccountOut:
        a, t, snapshot = view.account, view.tweets, view.last_profile_snapshot
        return cls(
            username=a.username,
            user_id=a.user_id,
            added_at=a.added_at or None,
            status=a.status,
            previous_usernames=a.previous_usernames,
            last_profile_snapshot=date.fromisoformat(snapshot) if snapshot else None,
            tweets=TweetsOut(
                newest_id=t.newest_id,
                cursor_updated_at=t.cursor_updated_at,
                backfill_pending=t.backfill_pending,
                collected=t.collected,
            ),
        )


class AccountList(BaseModel):
    accounts: list[AccountOut]
    count: int


UsernamePath = Annotated[str, Path(pattern=USERNAME_PATTERN, description="the X username (case-insensitive)")]


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "malformed request body",
        401: "missing or wrong credentials",
        404: "not found",
        409: "conflict",
        413: f"request body over the limit ({MAX_BODY_BYTES // 1024} KiB by default)",
        422: "invalid username or body",
        502: "the X API refused the lookup",
        503: "the X API or the lake is unavailable; retry",
    }
    return {code: {"model": Problem, "description": text[code]} for code in codes}


# -- the application -----------------------------------------------------------------------------
def create_app(config: ApiConfig) -> FastAPI:
    service = AccountsService(config.lake, client_factory=config.client_factory, snapshots=config.profile_snapshots)
    app = FastAPI(
        title="tweetlake accounts API",
        version=__version__,
        description="Manage the X accounts tweetlake tracks. Errors are RFC 9457 problem details.",
    )
    app.state.service = service
    app.state.config = config
    auth_codes: tuple[int, ...] = (401,) if config.auth != "none" else ()
    public = frozenset(
        p for p in (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p
    )
    app.add_middleware(ChecksFirst, authenticate=_authenticator(config), public=public, limit=config.max_body_bytes)
    router = APIRouter()

    @router.get(
        "/accounts",
        response_model=AccountList,
        responses=_problems(*auth_codes),
        summary="the tracked accounts",
        operation_id="listAccounts",
    )
    def list_accounts() -> AccountList:
        accounts = [AccountOut.of(v) for v in service.list()]
        return AccountList(accounts=accounts, count=len(accounts))

    @router.post(
        "/accounts",
        status_code=201,
        response_model=AccountOut,
        operation_id="addAccount",
        summary="track an account (idempotent: 200 when already tracked)",
        responses={
            200: {"model": AccountOut, "description": "already tracked; nothing changed"},
            201: {"description": "now tracked"},
            **_problems(400, *auth_codes, 404, 409, 413, 422, 502, 503),
        },
    )
    def add_account(new: Annotated[NewAccount, Body()], response: Response) -> AccountOut:
        view, created = service.add(new.username)
        response.status_code = 201 if created else 200
        response.headers["Location"] = f"/accounts/{view.account.username}"
        return AccountOut.of(view)

    @router.get(
        "/accounts/{username}",
        response_model=AccountOut,
        operation_id="getAccount",
        summary="one tracked account",
        responses=_problems(*auth_codes, 404, 422),
    )
    def get_account(username: UsernamePath) -> AccountOut:
        return AccountOut.of(service.get(username))

    @router.delete(
        "/accounts/{username}",
        status_code=204,
        response_class=Response,
        operation_id="removeAccount",
        summary="stop tracking an account (what was collected is kept)",
        responses={204: {"description": "no longer tracked"}, **_problems(*auth_codes, 404, 409, 422)},
    )
    def remove_account(username: UsernamePath) -> Response:
        service.remove(username)
        return Response(status_code=204)

    app.include_router(router)
    _install_error_handlers(app)
    _install_openapi(app, config.auth)
    return app


# -- checks before the body is read ------------------------------------------------------------
def _authenticator(config: ApiConfig) -> Callable[[Scope], None]:
    """Raises a 401 :class:`ProblemError` unless the request's headers (or, on Lambda, the API
    Gateway event) show an authenticated caller."""

    def authenticate(scope: Scope) -> None:
        if config.auth == "none":
            return
        if config.auth == "api_key":
            given = Headers(scope=scope).get(API_KEY_HEADER, "")
            assert config.api_key is not None
            if not hmac.compare_digest(given.encode("utf-8"), config.api_key.encode("utf-8")):
                raise ProblemError(
                    401,
                    "unauthenticated",
                    f"missing or wrong {API_KEY_HEADER} header"
                    if given
                    else f"send the API key in the {API_KEY_HEADER} header",
                    headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'},
                )
            return
        event = scope.get("aws.event") or {}
        iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam")
        if not iam:
            raise ProblemError(401, "unauthenticated", "requests must be signed (API Gateway IAM auth)")

    return authenticate


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def on_problem(request: Request, err: ProblemError) -> Response:
        return problem_response(err, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, err: RequestValidationError) -> Response:
        errors = [
            {
                "location": ".".join(str(p) for p in e.get("loc", ())),
                "message": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in err.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            problem = ProblemError(400, "malformed-json", "the request body is not valid JSON", errors=errors)
        else:
            problem = ProblemError(
                422,
                "invalid-request",
                'usernames are 1-15 letters, digits or underscores; the body is {"username": "…"}',
                errors=errors,
            )
        return problem_response(problem, request.url.path)

    @app.exception_handler(InvalidUsername)
    async def on_bad_name(request: Request, err: InvalidUsername) -> Response:
        return problem_response(ProblemError(422, "invalid-request", str(err)), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, err: StarletteHTTPException) -> Response:
        detail = err.detail if isinstance(err.detail, str) else None
        return problem_response(
            ProblemError(err.status_code, None, detail or "", headers=dict(err.headers or {})), request.url.path
        )

    @app.exception_handler(StateCorrupt)
    async def on_corrupt(request: Request, err: StateCorrupt) -> Response:
        log.error("%s", err)  # the registry itself: nothing to answer from
        return problem_response(ProblemError(503, "state-corrupt", str(err)), request.url.path)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, err: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(ProblemError(500, None, "an unexpected error; it has been logged"), request.url.path)


def _install_openapi(app: FastAPI, auth: AuthMode) -> None:
    """FastAPI's document, with errors as problem+json and the security scheme that applies."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = make()
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    if int(code) >= 400:
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                if auth != "none":
                    operation["security"] = [{"apiKey" if auth == "api_key" else "sigv4": []}]
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        if auth == "api_key":
            doc["components"]["securitySchemes"] = {
                "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
            }
        elif auth == "iam":
            doc["components"]["securitySchemes"] = {
                "sigv4": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "AWS Signature Version 4 (API Gateway IAM auth, service execute-api)",
                }
            }
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
