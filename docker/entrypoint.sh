#!/bin/sh
# Size native thread pools and worker processes to the container's CPU limit, then exec "$@".
#
# os.cpu_count() and nproc see the host's cores, not the cgroup quota: under a 1-CPU limit on
# a 16-core node, 16 OpenMP threads per fit oversubscribe the quota (one fit ran 90x slower).
# Reads cgroup v2 cpu.max, else cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us, else nproc.
# CHURN_CGROUP_ROOT (default /sys/fs/cgroup) exists for tests. Variables already set win.
set -eu

cgroup_root="${CHURN_CGROUP_ROOT:-/sys/fs/cgroup}"

cpu_limit() {
    # GNU nproc reports OMP_NUM_THREADS when it is set: ask for the cores without it
    cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1)
    quota=""
    period=""
    if [ -r "$cgroup_root/cpu.max" ]; then
        read -r quota period < "$cgroup_root/cpu.max"
    elif [ -r "$cgroup_root/cpu/cpu.cfs_quota_us" ] && [ -r "$cgroup_root/cpu/cpu.cfs_period_us" ]; then
        quota=$(cat "$cgroup_root/cpu/cpu.cfs_quota_us")
        period=$(cat "$cgroup_root/cpu/cpu.cfs_period_us")
    fi
    case "$quota:$period" in
        *[!0-9:]* | :* | *: ) echo "$cores"; return ;;  # "max", -1 or unreadable: no limit
    esac
    if [ "$quota" -le 0 ] || [ "$period" -le 0 ]; then
        echo "$cores"
        return
    fi
    limit=$(( (quota + period - 1) / period ))  # 1.5 CPUs -> 2: round up, never 0
    if [ "$limit" -lt "$cores" ]; then echo "$limit"; else echo "$cores"; fi
}

cpus=$(cpu_limit)
: "${CHURN_WORKERS:=$cpus}"
: "${OMP_NUM_THREADS:=$cpus}"
: "${OPENBLAS_NUM_THREADS:=$cpus}"
: "${MKL_NUM_THREADS:=$cpus}"
: "${NUMEXPR_MAX_THREADS:=$cpus}"
export CHURN_WORKERS OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS NUMEXPR_MAX_THREADS

if [ "$#" -eq 0 ]; then
    echo "churn-entrypoint: no command given (try: churn serve, churn run)" >&2
    exit 2
fi
exec "$@"
