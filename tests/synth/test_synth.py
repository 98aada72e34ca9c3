"""``churn synth``: rows that obey the spec's contract, seeded, any size, with real signal."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from churn.cli.app import app
from churn.contract import load_dataset, target_vector
from churn.spec import Spec, load_spec
from churn.synth import synthesize
from churn.synth.label_model import fit_label_model

ROOT_DATA = Path(__file__).resolve().parents[2] / "data" / "telco_churn.csv"
ROWS = 2_500
CHUNK = 1_000  # three chunks, the last one short


@pytest.fixture(scope="module")
def telco(telco_spec_path: Path) -> Spec:
    return load_spec(telco_spec_path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_synthetic_rows_pass_the_contract_with_the_exact_row_count(
    telco: Spec, tmp_path: Path, suffix: str
) -> None:
    output = tmp_path / f"synthetic{suffix}"
    summary = synthesize(telco, ROWS, output, seed=1, chunk_rows=CHUNK)

    frame = load_dataset(telco, output)  # the full contract, ids unique across chunks
    assert summary.rows == len(frame) == ROWS
    assert frame["customerID"].str.startswith("SYN-").all()
    assert 0.1 < target_vector(telco, frame).mean() < 0.5


def test_numbers_vary_within_the_contract_and_keep_the_real_rows_structure(
    telco: Spec, tmp_path: Path
) -> None:
    frame = load_dataset(telco, synthesize(telco, ROWS, tmp_path / "s.parquet", seed=2).output)
    real = load_dataset(telco)
    assert not frame["MonthlyCharges"].isin(real["MonthlyCharges"]).all()  # jittered
    assert frame["tenure"].between(0, 120).all()
    no_internet = frame["InternetService"] == "No"
    assert (frame.loc[no_internet, "OnlineSecurity"] == "No internet service").all()
    assert frame.loc[frame["tenure"] == 0, "TotalCharges"].isna().all()


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(
    telco: Spec, tmp_path: Path
) -> None:
    first = synthesize(telco, ROWS, tmp_path / "a.csv", seed=3, chunk_rows=CHUNK).output
    again = synthesize(telco, ROWS, tmp_path / "b.csv", seed=3, chunk_rows=CHUNK).output
    other = synthesize(telco, ROWS, tmp_path / "c.csv", seed=4, chunk_rows=CHUNK).output
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_a_model_trained_on_synthetic_rows_ranks_real_customers_well(
    telco: Spec, tmp_path: Path
) -> None:
    synthetic = load_dataset(telco, synthesize(telco, 6_000, tmp_path / "s.parquet").output)
    real = load_dataset(telco)
    model = clone(fit_label_model(telco, real)).fit(synthetic, target_vector(telco, synthetic))
    auc = roc_auc_score(target_vector(telco, real), model.predict_proba(real)[:, 1])
    assert auc > 0.8


def test_synth_command_writes_a_file_that_churn_check_accepts(
    telco_spec_path: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    output = tmp_path / "synthetic.parquet"
    result = runner.invoke(app, ["synth", "--rows", "300", "-o", str(output), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "300 synthetic rows (seed 5)" in result.output
    spec = tmp_path / "spec.yaml"
    text = telco_spec_path.read_text().replace("../data/telco_churn.csv", str(output))
    spec.write_text(text)
    shutil.copytree(telco_spec_path.parent / "gates", tmp_path / "gates")  # its gate tests
    checked = runner.invoke(app, ["check", str(spec), "--home", str(tmp_path / "home")])
    assert checked.exit_code == 0, checked.output
    assert len(pd.read_parquet(output)) == 300


def test_synth_refuses_an_unknown_suffix_with_exit_code_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--rows", "10", "-o", str(tmp_path / "s.xlsx")])
    assert result.exit_code == 2
    assert "use .csv or .parquet" in result.output
    assert not list(tmp_path.iterdir())


def test_labels_follow_the_fitted_probability(telco: Spec, tmp_path: Path) -> None:
    real = load_dataset(telco)
    model = fit_label_model(telco, real)
    frame = load_dataset(telco, synthesize(telco, ROWS, tmp_path / "s.csv", seed=6).output)
    probability = model.predict_proba(frame)[:, 1]
    churned = target_vector(telco, frame)
    assert abs(churned.mean() - probability.mean()) < 0.03
    assert churned[probability > 0.6].mean() > churned[probability < 0.2].mean() + 0.4
    assert np.isfinite(probability).all()


def test_a_csv_is_written_with_the_specs_delimiter(telco_spec_path: Path, tmp_path: Path) -> None:
    real = tmp_path / "telco.csv"
    pd.read_csv(ROOT_DATA, dtype=str, keep_default_na=False).to_csv(real, sep=";", index=False)
    text = telco_spec_path.read_text().replace("../data/telco_churn.csv", str(real))
    text = text.replace('na_values: [" "]', 'na_values: [" "]\n    delimiter: ";"')
    (tmp_path / "spec.yaml").write_text(text)
    spec = load_spec(tmp_path / "spec.yaml")
    output = synthesize(spec, 50, tmp_path / "s.csv").output
    assert output.read_text().splitlines()[0].startswith('"customerID";"gender";')
    assert len(load_dataset(spec, output)) == 50
