"""/predict records what it scored in the prediction log, and a broken log never fails it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apitools import record

from churn.monitoring.prediction_log import read_prediction_log

pytestmark = pytest.mark.xdist_group("recorder_process")  # one fork server


def _recorded(body: str) -> dict[tuple[str, str], float]:
    found = {}
    for line in body.splitlines():
        if line.startswith("churn_recorded_records_total{"):
            labels, value = line.rsplit(" ", 1)
            sink = labels.split('sink="')[1].split('"')[0]
            result = labels.split('result="')[1].split('"')[0]
            found[sink, result] = float(value)
    return found


def test_predictions_reach_the_log_with_their_answers(make_client, home: Path) -> None:
    client = make_client(home=home, prediction_log_flush_seconds=0.05, recorder_process=True)
    answers = []
    for start in (0, 3, 5):
        response = client.post("/predict", json={"records": [record(start + i) for i in range(2)]})
        assert response.status_code == 200
        answers += response.json()["predictions"]
    deadline = time.monotonic() + 10
    while (table := read_prediction_log(home / "predictions")[0]).num_rows < 6:
        assert time.monotonic() < deadline, "the log did not get the records"
        time.sleep(0.05)
    logged = {row["id"]: row for row in table.to_pylist()}
    for answer in answers:
        row = logged[answer["id"]]
        assert row["churn_probability"] == answer["churn_probability"]
        assert row["will_churn"] == answer["will_churn"]
        assert row["run_id"] == answer["model_version"]
    # the flush counts its records just after the file is in place: wait for the count too
    while _recorded(client.get("/metrics").text).get(("prediction_log", "written"), 0) < 6:
        assert time.monotonic() < deadline, "the written records were not counted"
        time.sleep(0.05)
    assert _recorded(client.get("/metrics").text)["prediction_log", "written"] == 6


def test_a_broken_log_folder_does_not_fail_predict(make_client, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("the log cannot be written under a file")
    client = make_client(
        prediction_log_dir=blocker, prediction_log_flush_seconds=0.05, recorder_process=True
    )
    for i in range(3):
        response = client.post("/predict", json={"records": [record(i)]})
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while _recorded(client.get("/metrics").text).get(("prediction_log", "failed"), 0) < 3:
        assert time.monotonic() < deadline, "the failed writes were not counted"
        time.sleep(0.05)
    assert client.post("/predict", json={"records": [record(9)]}).status_code == 200
