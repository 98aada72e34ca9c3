#!/bin/sh
# Size native thread pools to the container's CPU limit, then exec "$@".
#
# os.cpu_count() and nproc see the host's cores, not the cgroup quota: under a 1-CPU limit on
# a 16-core node, 16 OpenMP threads per fit oversubscribe the quota (one fit ran 90x slower).
# The limit is counted once, by churn itself (churn.cpus.cpu_limit: cgroup v2 cpu.max, else
# cgroup v1's quota and period, else the CPU affinity; CHURN_CGROUP_ROOT, default
# /sys/fs/cgroup, exists for tests). churn sizes its training workers (CHURN_TRAIN_WORKERS) and
# API processes (CHURN_API_WORKERS) from the same count. Variables already set win.
set -eu

cpus=$(python3 -m churn.cpus ${CHURN_CGROUP_ROOT:+"$CHURN_CGROUP_ROOT"})
: "${OMP_NUM_THREADS:=$cpus}"
: "${OPENBLAS_NUM_THREADS:=$cpus}"
: "${MKL_NUM_THREADS:=$cpus}"
: "${NUMEXPR_MAX_THREADS:=$cpus}"
export OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS NUMEXPR_MAX_THREADS

if [ "$#" -eq 0 ]; then
    echo "churn-entrypoint: no command given (try: churn serve, churn run)" >&2
    exit 2
fi
exec "$@"
