"""Property-based conformance: the app against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from apitools import TestClient, Trained
from hypothesis import HealthCheck, settings

from churn.api.app import create_app
from churn.api.settings import Settings

CONFIG = schemathesis.Config.from_dict(
    # 413 is how /predict refuses more records than the documented maxItems; 415 a non-JSON body.
    {"checks": {"negative_data_rejection": {"expected-statuses": [400, 404, 405, 413, 415, 422]}}}
)


@pytest.fixture(scope="module")
def api_schema(trained: Trained) -> Iterator[schemathesis.BaseSchema]:
    """The app's schema, with the app started (champion loaded) for the whole module."""
    app = create_app(
        Settings(home=trained.home, spec=trained.spec_path, reload_interval=0, max_batch=20)
    )
    with TestClient(app):
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.schemathesis
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_without_5xx_and_as_documented(case) -> None:
    case.call_and_validate()
