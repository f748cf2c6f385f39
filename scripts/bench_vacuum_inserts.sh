#!/usr/bin/env bash
# INSERT latency during an hnsw VACUUM repair (see bench_vacuum_inserts.py):
#   bash scripts/bench_vacuum_inserts.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_tools
ensure_venv "$BENCH_VENV" "${BENCH_PACKAGES[@]}"
EXTRA_SERVER_OPTIONS="-c shared_buffers=1GB -c maintenance_work_mem=2GB -c jit=off"
start_cluster
sql -c "CREATE EXTENSION vector_ext"
DATA=$DATA "$BENCH_VENV/bin/python" -u "$REPO/scripts/bench_vacuum_inserts.py"
