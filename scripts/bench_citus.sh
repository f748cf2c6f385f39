#!/usr/bin/env bash
# One server against a two-worker Citus cluster on this machine (see
# bench_citus.py): load, build, recall and throughput with 1 to 8 clients.
#   bash scripts/bench_citus.sh
#   BENCH_INSTALL=1 builds and installs the extension first.
# Builds Citus 13.2.2 from ../shared/vendor when the server lacks it; about
# three minutes on two cores.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_PGVECTOR=0
prepare_bench
install_citus
EXTRA_SERVER_OPTIONS="-c shared_buffers=512MB -c maintenance_work_mem=1GB -c jit=off ${CITUS_BENCH_OPTIONS:-}"
start_citus_coordinator
for port in $((PGPORT + 1)) $((PGPORT + 2)); do
    start_citus_worker "$port"
    sql -c "SELECT citus_add_node('localhost', $port)" >/dev/null
done
"$BENCH_VENV/bin/python" -u "$REPO/scripts/bench_citus.py"
