"""Property-based: schemathesis generates requests from the app's own OpenAPI document and checks
every response (no 5xx, status codes, media types and bodies as documented, auth enforced).

The operations are driven with plain Hypothesis (``operation.as_strategy()``): schemathesis'
pytest loaders do not run under pytest 9 yet.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from common.lake import Lake
from tests.api.conftest import API_KEY, serve
from tweetlake.api import ApiConfig, create_app

OPERATIONS = [
    ("GET", "/accounts"),
    ("POST", "/accounts"),
    ("GET", "/accounts/{username}"),
    ("DELETE", "/accounts/{username}"),
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    lake = Lake.from_uri(tmp_path_factory.mktemp("lake").as_uri())
    with serve(create_app(ApiConfig(lake=lake, api_key=API_KEY))) as base_url:
        yield schemathesis.openapi.from_url(f"{base_url}/openapi.json")


def test_the_document_lists_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_keeps_its_openapi_contract(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: schemathesis.GenerationMode
) -> None:
    """Positive cases: valid requests answered as documented; negative cases (schema-violating
    bodies and paths): rejected with a documented 4xx, never a 5xx."""
    operation = api_schema[path][method]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers={"X-API-Key": API_KEY})
        seen.append(response.status_code)

    check()
    assert seen and all(status < 500 for status in seen)
