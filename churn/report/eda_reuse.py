"""Reuse the EDA plots of an earlier run on the same data and EDA settings.

EDA depends only on the data and the parts of the spec it reads (columns, id, target,
``output.eda_max_rows``, the split seed) and on the drawing code. :func:`eda_key` hashes all of
them; ``plots/eda.json`` keeps the key, each PNG's sha256 and the PlotSet's counts. A nightly
run on unchanged data finds an earlier run with the same key and copies its PNGs byte for byte
(each checked against its recorded sha256) instead of drawing them again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from churn.registry.atomic_io import atomic_write, sha256_file
from churn.report import eda, figures
from churn.report.plotset import PlotSet
from churn.spec import Spec

RECORD = "eda.json"
"""The file beside the EDA plots that says what they were drawn from."""
RECORD_MAX_BYTES = 1 << 16
"""A larger ``eda.json`` is not one this module wrote: it is ignored."""
PLOT_MAX_BYTES = 32 << 20
"""A larger PNG is not one EDA drew: the record is ignored."""


def eda_key(spec: Spec, data_sha256: str) -> str:
    """The sha256 of everything the EDA plots depend on."""
    code = [sha256_file(Path(module.__file__)) for module in (eda, figures) if module.__file__]
    inputs = {
        "data_sha256": data_sha256,
        "columns": {name: column.model_dump(mode="json") for name, column in spec.columns.items()},
        "id": spec.data.id,
        "target": spec.data.target.model_dump(mode="json"),
        "eda_max_rows": spec.output.eda_max_rows,
        "seed": spec.evaluation.split.seed,
        "code": code,
        "matplotlib": metadata.version("matplotlib"),
    }
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_record(plots: PlotSet, plots_dir: Path, key: str, *, reused_from: str | None) -> None:
    """``plots_dir/eda.json``: the key, each plot's sha256, the counts, and where they came from."""
    files = {path.name: sha256_file(path) for path in plots.paths}
    record = {
        "key": key,
        "reused_from": reused_from,
        "files": files,
        "sampled": plots.sampled,
        "rows_used": plots.rows_used,
        "missing_values": plots.missing_values,
    }
    data = (json.dumps(record, indent=2) + "\n").encode("utf-8")
    atomic_write(plots_dir / RECORD, lambda stream: stream.write(data))


def reuse(key: str, earlier: Iterable[tuple[str, Path]], plots_dir: Path) -> PlotSet | None:
    """Copy the plots of the first earlier ``(run_id, plots_dir)`` drawn under ``key``.

    Returns None when no earlier run has intact plots of that key (then EDA draws).
    """
    for run_id, folder in earlier:
        found = _intact(folder, key)
        if found is None:
            continue
        record, contents = found
        plots_dir.mkdir(parents=True, exist_ok=True)
        paths = [_write(plots_dir / name, data) for name, data in contents.items()]
        plots = PlotSet(
            paths,
            [],
            sampled=bool(record["sampled"]),
            rows_used=int(record["rows_used"]),
            missing_values={str(k): int(v) for k, v in record["missing_values"].items()},
            reused_from=run_id,
        )
        write_record(plots, plots_dir, key, reused_from=run_id)
        return plots
    return None


def _intact(folder: Path, key: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """The record and the PNG bytes of ``folder`` if its key matches and every file checks out."""
    try:
        record = json.loads(_read(folder / RECORD, RECORD_MAX_BYTES))
        if not isinstance(record, dict) or record.get("key") != key:
            return None
        contents = {}
        for name, digest in dict(record["files"]).items():
            if Path(name).name != name or not name.endswith(".png"):
                return None
            data = _read(folder / name, PLOT_MAX_BYTES)
            if hashlib.sha256(data).hexdigest() != digest:
                return None
            contents[name] = data
        int(record["rows_used"])
        dict(record["missing_values"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record, contents


def _write(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda stream: stream.write(data))


def _read(path: Path, limit: int) -> bytes:
    """A regular file's bytes (no symlink, at most ``limit``), else OSError."""
    if path.is_symlink() or not path.is_file():
        raise FileNotFoundError(path)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path} is larger than {limit} bytes")
    return data
