"""/docs and /redoc work offline; the OpenAPI document shows the generated record schema."""

from __future__ import annotations

import re

import pytest
from apitools import TestClient

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets_that_load(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    urls = [a or b for a, b in URL.findall(html)]
    assets = [u for u in urls if u.endswith((".js", ".css", ".png"))]
    assert any(u.endswith(".js") for u in assets)
    for url in urls:
        assert url.startswith("/"), url
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url


def test_openapi_shows_every_record_field_with_its_type_and_allowed_values(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PredictRequest"}
    components = schema["components"]["schemas"]
    request = components["PredictRequest"]
    assert request["properties"]["records"]["items"] == {
        "$ref": "#/components/schemas/CustomerRecord"
    }
    record = components["CustomerRecord"]
    fields = record["properties"]
    assert set(fields) == {
        "account_id",
        "plan",
        "region",
        "monthly_fee",
        "support_calls",
        "months_active",
    }
    assert set(record["required"]) == set(fields)
    assert record["additionalProperties"] is False
    assert fields["plan"]["enum"] == ["basic", "pro", "enterprise"]
    assert fields["region"]["enum"] == ["north", "south", "east", "west"]
    assert fields["monthly_fee"]["type"] == "number" and fields["monthly_fee"]["minimum"] == 0
    assert fields["support_calls"]["type"] == "integer"
    assert fields["account_id"]["type"] == "string"


def test_openapi_documents_the_unseen_category_policy_and_error_codes(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    assert "Unseen categories" in operation["description"]
    assert {"200", "413", "422", "503"} <= set(operation["responses"])


def test_every_json_route_declares_its_response_model(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            content = operation["responses"]["200"].get("content", {})
            if "application/json" in content:
                assert "$ref" in content["application/json"]["schema"], (method, path)
