#!/usr/bin/env bash
# The scale run (see bench_scale.py): a million rows, vector_ext and
# pgvector 0.8.6 side by side, searched with shared_buffers above and then
# below the index size.
#   bash scripts/bench_scale.sh [DATASET]      (default pydoc-grown:1000000)
#   BENCH_INSTALL=1 builds and installs the extension first;
#   BENCH_PGVECTOR=0 leaves pgvector out.
# Needs about 12 GB of disk and 10 GB of memory; takes about 20 minutes on
# two cores. The report is printed and written to target/bench-scale.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATASET=${1:-pydoc-grown:1000000}
RESULTS=$REPO/target/bench-scale.md
STATE=$REPO/target/bench-scale.json

prepare_bench
run() { DATA=$DATA "$BENCH_VENV/bin/python" -u "$REPO/scripts/bench_scale.py" "$@" --dataset "$DATASET" --state "$STATE" "${compare[@]}"; }

# Room for the whole graph in maintenance_work_mem (both extensions fall
# back to slow on-disk inserts otherwise), and for both indexes in shared_buffers.
EXTRA_SERVER_OPTIONS="-c shared_buffers=6GB -c maintenance_work_mem=8GB -c max_wal_size=8GB -c jit=off"
start_cluster
create_bench_databases
say "scale run, phase 1: load, build and search ($DATASET)"
run build

say "scale run, phase 2: search again with shared_buffers below the index size"
as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null
EXTRA_SERVER_OPTIONS="-c shared_buffers=256MB -c jit=off"
start_server
run small | tee "$RESULTS"
say "report written to $RESULTS"
