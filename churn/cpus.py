"""The CPUs a container may use, counted once: churn's worker counts default to it and the
image's entrypoint sizes the native thread pools with it (``python3 -m churn.cpus [ROOT]``).

This module imports only the standard library, so the entrypoint pays about one interpreter
start for it (importing pydantic-settings would cost seconds on a busy node).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Final

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")
"""Where the cgroup files are (``CHURN_CGROUP_ROOT`` names another, for tests)."""


def cpu_limit(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The CPUs this process may use: the cgroup CPU quota (v2 ``cpu.max``, else v1's
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), rounded up, capped by the CPU affinity.

    ``os.cpu_count()`` sees the node's cores, not the container's quota: under a 1-CPU limit on
    a 16-core node, 16 OpenMP threads per fit oversubscribe it (one fit ran 90x slower).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(1, cores or 1)
    quota = _quota(cgroup_root)
    if quota is None:
        return cores
    return max(1, min(cores, math.ceil(quota)))


def _quota(root: Path) -> float | None:
    """CPUs allowed by the cgroup under ``root``; None when unlimited or unreadable."""
    try:
        if (root / "cpu.max").is_file():
            quota, period = (root / "cpu.max").read_text().split()[:2]
        else:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        if int(quota) <= 0 or int(period) <= 0:
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):  # "max", "-1", missing files: no limit
        return None


def print_limit(argv: list[str]) -> int:
    """``python3 -m churn.cpus [CGROUP_ROOT]``: print the CPU limit; exit 2 on a bad call."""
    if len(argv) > 1:
        print("usage: python3 -m churn.cpus [CGROUP_ROOT]", file=sys.stderr)
        return 2
    print(cpu_limit(Path(argv[0]) if argv else CGROUP_ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(print_limit(sys.argv[1:]))
