#!/usr/bin/env bash
# Benchmarks vector_ext on a throwaway PostgreSQL 15: load, HNSW build, recall
# and speed per ef_search, exact scan, inserts, delete + VACUUM (see bench.py).
#   bash scripts/bench.sh [DATASET ...] [bench.py options]
#   DATASET: sift5k | pydoc | pydoc:D | clustered:N:D | pydoc-grown:N
#            (default: sift5k pydoc)
#   BENCH_INSTALL=1 builds and installs the extension first; otherwise the
#   installed one is measured.
#   BENCH_PGVECTOR=0 skips the side-by-side run of pgvector 0.8.6 (built from
#   ../shared/vendor when missing, measured in a database of its own).
# The markdown report is printed and written to target/bench-results.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RESULTS=$REPO/target/bench-results.md

prepare_bench

# Serial index builds, room for the whole graph, no JIT noise; shared
# buffers that hold both extensions' tables and indexes (searched in turn).
EXTRA_SERVER_OPTIONS="-c shared_buffers=2GB -c maintenance_work_mem=2GB -c max_parallel_maintenance_workers=0 -c jit=off"
start_cluster
create_bench_databases

say "benchmarking: ${*:-sift5k pydoc}"
status=0
"$BENCH_VENV/bin/python" -u "$REPO/scripts/bench.py" "${compare[@]}" "$@" | tee "$RESULTS" || status=$?
if [ "$status" -ne 0 ]; then
    say "bench.py failed (exit $status); the end of the server log:"
    tail -n 30 "$CLUSTER_DIR/server.log" >&2
    exit "$status"
fi
say "report written to $RESULTS"
