"""Hostile requests and a hostile registry under the API: each answers the documented status,
names the field, route or file, and leaves the registry byte-identical."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from factories import subscriptions_frame
from fastapi.testclient import TestClient
from hostile_tools import World, move_out, snapshot

from churn.api.app import create_app
from churn.api.settings import Settings

JSON = {"content-type": "application/json"}


def good_record(index: int = 0, **changes: Any) -> dict[str, Any]:
    """One valid record of the subscriptions project (the target left out)."""
    row = subscriptions_frame(5).drop(columns="churned").iloc[index % 5].to_dict()
    row = {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}
    return {**row, **changes}


@dataclass(frozen=True)
class Request:
    """What to send; ``{run}`` in the path is the registry's run id."""

    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))


@dataclass(frozen=True)
class Case:
    request: Request
    status: int
    says: str
    """Text the response must contain (``{run}``, ``{home}`` filled in)."""
    damage: Callable[[World], None] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def link_out(relative: str, content: bytes | None = None) -> Callable[[World], None]:
    """Move ``relative`` (``{run}``: the run folder) outside the home, symlinked back."""

    def damage(world: World) -> None:
        path = world.home / relative.format(run=f"runs/{world.run_id}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is not None:
            path.write_bytes(content)
        move_out(path, world.folder / "outside")

    return damage


def with_plots(world: World) -> None:
    (world.run / "plots").mkdir(exist_ok=True)
    (world.run / "plots" / "roc_curve.png").write_bytes(b"\x89PNG fake")
    (world.run / "report.html").write_text("<html>report</html>")
    move_out(world.run, world.folder / "outside-run")


def altered_model(world: World) -> None:
    model = world.run / "model.joblib"
    model.write_bytes(model.read_bytes() + b"x")


HUGE = "x" * 1_000_000
CASES: dict[str, Case] = {
    "run-folder-symlinked": Case(Request("GET", "/runs/{run}"), 404, "{run}", with_plots),
    "run-folder-symlinked-report": Case(
        Request("GET", "/runs/{run}/report"), 404, "{run}", with_plots
    ),
    "run-folder-symlinked-plot": Case(
        Request("GET", "/runs/{run}/plots/roc_curve.png"), 404, "{run}", with_plots
    ),
    "run-json-symlinked": Case(
        Request("GET", "/runs/{run}"), 404, "{run}", link_out("{run}/run.json")
    ),
    "report-symlinked": Case(
        Request("GET", "/runs/{run}/report"),
        404,
        "run {run} has no report",
        link_out("{run}/report.html", b"<html>outside</html>"),
    ),
    "plot-symlinked": Case(
        Request("GET", "/runs/{run}/plots/roc_curve.png"),
        404,
        "no plot 'roc_curve.png'",
        link_out("{run}/plots/roc_curve.png", b"\x89PNG outside"),
    ),
    "plot-path-traversal": Case(
        Request("GET", "/runs/{run}/plots/..%2F..%2F..%2Fchampion.json"), 404, "Not Found"
    ),
    "hidden-plot-name": Case(
        Request("GET", "/runs/{run}/plots/.champion.png"), 404, "no plot '.champion.png'"
    ),
    "run-id-path-traversal": Case(Request("GET", "/runs/..%2F..%2Fetc"), 404, "Not Found"),
    "run-id-with-dots": Case(Request("GET", "/runs/..champion"), 404, "run '..champion'"),
    "text-plain-body": Case(
        Request(
            "POST", "/predict", body({"records": [good_record()]}), {"content-type": "text/plain"}
        ),
        415,
        "Content-Type text/plain",
    ),
    "no-content-type": Case(
        Request("POST", "/predict", body({"records": [good_record()]}), {}),
        415,
        "Content-Type missing",
    ),
    "form-body": Case(
        Request(
            "POST", "/predict", b"records=1", {"content-type": "application/x-www-form-urlencoded"}
        ),
        415,
        "Content-Type application/x-www-form-urlencoded",
    ),
    "records-not-a-list": Case(
        Request("POST", "/predict", body({"records": True})), 422, '"loc":["body","records"]'
    ),
    "records-a-number": Case(
        Request("POST", "/predict", body({"records": 70})), 422, '"loc":["body","records"]'
    ),
    "megabyte-string-field": Case(
        Request("POST", "/predict", body({"records": [good_record(account_id=HUGE)]})),
        422,
        '"loc":["body","records",0,"account_id"]',
    ),
    "megabyte-extra-field": Case(
        Request("POST", "/predict", body({"records": [good_record(blob=HUGE)]})),
        422,
        '"loc":["body","records",0,"blob"]',
    ),
    "thirty-bad-records": Case(
        Request(
            "POST", "/predict", body({"records": [good_record(i, plan="gold") for i in range(30)]})
        ),
        422,
        "10 more errors not shown",
    ),
    "not-json": Case(Request("POST", "/predict", b'{"records": ['), 422, '"loc":["body"]'),
    "too-many-records": Case(
        Request("POST", "/predict", body({"records": [good_record()] * 30})),
        413,
        "CHURN_MAX_BATCH",
        settings={"max_batch": 20},
    ),
    "body-over-the-limit": Case(
        Request("POST", "/predict", body({"records": [good_record()] * 50})),
        413,
        "CHURN_MAX_BODY_BYTES",
        settings={"max_body_bytes": 2048},
    ),
    "unknown-category": Case(
        Request("POST", "/predict", body({"records": [good_record(plan="gold")]})),
        422,
        '"loc":["body","records",0,"plan"]',
    ),
    "missing-field": Case(
        Request("POST", "/predict", body({"records": [{"account_id": "A1"}]})),
        422,
        '"loc":["body","records",0,"plan"]',
    ),
    "text-for-a-number": Case(
        Request("POST", "/predict", body({"records": [good_record(monthly_fee="12")]})),
        422,
        '"loc":["body","records",0,"monthly_fee"]',
    ),
    "champion-model-altered": Case(
        Request("GET", "/ready"),
        503,
        "model.joblib does not match its recorded hash",
        altered_model,
    ),
    "champion-pointer-symlinked": Case(
        Request("GET", "/ready"), 503, "champion.json is a symlink", link_out("champion.json")
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_request_gets_its_status_names_the_place_and_changes_nothing(
    world: World, case: Case
) -> None:
    if case.damage is not None:
        case.damage(world)
    before = snapshot(world.home)
    settings = Settings(home=world.home, spec=world.spec, reload_interval=0, **case.settings)
    request = case.request
    with TestClient(create_app(settings)) as client:
        response = client.request(
            request.method,
            request.path.format(run=world.run_id),
            content=request.body,
            headers=request.headers,
        )
    assert response.status_code == case.status, response.text
    assert case.says.format(run=world.run_id, home=world.home) in response.text, response.text
    assert len(response.content) < 20_000  # nothing large is echoed back
    assert snapshot(world.home) == before


def test_head_is_answered_on_a_run_without_a_body(world: World) -> None:
    settings = Settings(home=world.home, spec=world.spec, reload_interval=0)
    with TestClient(create_app(settings)) as client:
        response = client.head(f"/runs/{world.run_id}")
    assert response.status_code == 200
    assert response.content == b""
