"""The prediction log on a disk that fills up (ENOSPC), not a stand-in for one: a 256 KiB
tmpfs mounted in a private user and mount namespace (``unshare -Urm``), so no privilege is
needed and nothing outside the test sees it. Skipped where the kernel refuses the namespace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WRITER = textwrap.dedent(
    """
    import json, logging, sys
    from pathlib import Path
    import numpy as np
    from churn.monitoring.prediction_log import (
        PredictionLogFolder, log_files, log_sink, read_prediction_log)
    from churn.monitoring.recorder import ScoreRecorder
    from churn.monitoring.scored import ScoredBatch

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    folder = Path(sys.argv[1]) / "log"
    counted = []
    recorder = ScoreRecorder([log_sink(PredictionLogFolder(folder, max_bytes=10**9))],
                             count=lambda *c: counted.append(c))
    for i in range(60):  # 2,000 records a flush: about 20 KiB of Parquet each
        proba = np.random.default_rng(i).uniform(size=2000)
        ids = [f"C{i:02d}-{j:05d}" for j in range(2000)]
        recorder.record(ScoredBatch(ids, "run-a", 1_765_000_000.0 + i, proba, proba >= 0.5))
        recorder.flush()
    table, skipped = read_prediction_log(folder)
    leftovers = [p.name for p in folder.rglob("*") if p.is_file() and p.suffix != ".parquet"]
    print(json.dumps({"counted": counted, "rows": table.num_rows, "skipped": skipped,
                      "files": len(log_files(folder)), "leftovers": leftovers}))
    """
)


def test_a_full_disk_is_counted_logged_once_and_leaves_no_torn_file(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    mount = f"mount -t tmpfs -o size=256k tmpfs {disk} && exec {sys.executable} {script} {disk}"
    result = subprocess.run([unshare, "-Urm", "sh", "-c", mount], capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    if result.returncode != 0 and "mount" in result.stderr and not result.stdout:
        pytest.skip(f"no private mount namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr

    seen = json.loads(result.stdout)
    results = {(sink, outcome) for sink, outcome, _ in seen["counted"]}
    written = sum(n for _, outcome, n in seen["counted"] if outcome == "written")
    failed = sum(n for _, outcome, n in seen["counted"] if outcome == "failed")
    assert results == {("prediction_log", "written"), ("prediction_log", "failed")}
    assert written + failed == 60 * 2000 and failed > 0  # the disk filled up; nothing raised
    assert seen["rows"] == written and seen["skipped"] == []  # every file whole and readable
    assert seen["leftovers"] == []  # no temporary or partial file
    errors = [line for line in result.stderr.splitlines() if "not recorded" in line]
    assert len(errors) == 1 and "No space left on device" in errors[0]  # logged once
