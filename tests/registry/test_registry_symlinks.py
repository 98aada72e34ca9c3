"""Registry reads never leave the home through a symlink, wherever it points."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import saved_champion

from churn.errors import RegistryError
from churn.registry import Registry, RunNotFound

RUN = "20260101T000000.000000Z-aaaaaa"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    saved_champion(tmp_path / "home")
    return tmp_path / "home"


def move_out(path: Path, outside: Path) -> Path:
    """Move ``path`` to ``outside`` and leave a symlink to it in its place."""
    shutil.move(path, outside)
    path.symlink_to(outside, target_is_directory=outside.is_dir())
    return outside


def test_a_symlinked_run_folder_is_not_listed_and_its_manifest_is_refused(
    home: Path, tmp_path: Path
) -> None:
    move_out(home / "runs" / RUN, tmp_path / "elsewhere")
    registry = Registry(home)
    assert registry.run_ids() == []
    assert registry.records() == []
    with pytest.raises(RunNotFound, match="is a symlink"):
        registry.record(RUN).as_dict()


def test_a_symlinked_run_json_is_refused(home: Path, tmp_path: Path) -> None:
    move_out(home / "runs" / RUN / "run.json", tmp_path / "run.json")
    registry = Registry(home)
    assert registry.run_ids() == [RUN]
    assert registry.records() == []
    with pytest.raises(RunNotFound, match=r"run\.json is a symlink"):
        registry.record(RUN).as_dict()


def test_a_symlinked_champion_model_is_refused_before_it_is_read(
    home: Path, tmp_path: Path
) -> None:
    move_out(home / "runs" / RUN / "model.joblib", tmp_path / "model.joblib")
    registry = Registry(home)
    with pytest.raises(RegistryError, match=r"model\.joblib is a symlink"):
        registry.verify_champion()
    with pytest.raises(RegistryError, match="is a symlink"):
        registry.load_champion()
    with pytest.raises(RegistryError, match="is a symlink"):
        registry.load_model(RUN, "0" * 64)


def test_a_champion_pointer_naming_a_file_outside_the_home_is_refused(
    home: Path, tmp_path: Path
) -> None:
    pointer = home / "champion.json"
    outside = tmp_path / "outside.joblib"
    shutil.copy(home / "runs" / RUN / "model.joblib", outside)
    pointer.write_text(pointer.read_text().replace(f"runs/{RUN}/model.joblib", str(outside)))
    with pytest.raises(RegistryError, match=f"model_path '{outside}' is not the model file of run"):
        Registry(home).verify_champion()


@pytest.mark.parametrize("name", ["champion.json", "ledger.jsonl"])
def test_symlinked_champion_pointer_or_ledger_is_refused(
    home: Path, tmp_path: Path, name: str
) -> None:
    move_out(home / name, tmp_path / name)
    registry = Registry(home)
    with pytest.raises(RegistryError, match="is a symlink"):
        registry.champion() if name == "champion.json" else registry.ledger()


def test_a_symlinked_home_is_fine(home: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(home, target_is_directory=True)
    assert Registry(link).verify_champion() is not None
