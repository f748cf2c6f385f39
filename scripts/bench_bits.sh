#!/usr/bin/env bash
# Bit-string indexes side by side with pgvector 0.8.6 (see bench_bits.py):
#   bash scripts/bench_bits.sh
#   BENCH_INSTALL=1 builds and installs the extension first.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_PGVECTOR=1
prepare_bench
EXTRA_SERVER_OPTIONS="-c shared_buffers=1GB -c maintenance_work_mem=2GB -c max_parallel_maintenance_workers=0 -c jit=off"
start_cluster
create_bench_databases
"$BENCH_VENV/bin/python" -u "$REPO/scripts/bench_bits.py"
