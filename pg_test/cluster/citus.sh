#!/usr/bin/env bash
# vector_ext distributed with Citus 13.2.2 (built from ../shared/vendor when
# this server lacks it): a coordinator and two workers on this machine, a
# third worker added later. citus.py holds the checks: the extension reaches
# the workers, a distributed table of pydoc-minilm vectors gets one hnsw
# index per shard, top-k queries run as an index scan with LIMIT on every
# shard merged on the coordinator, recall is no worse than one server's at
# the same ef_search, filter columns work, hnsw.ef_search reaches the shards
# the ways the README gives, inserts through the coordinator are found, a
# reference table is searched through its index, and after a worker is added
# and the shards rebalanced every row is found by its own vector.
#   bash pg_test/cluster/citus.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

install_citus
ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_citus_coordinator
for port in $((PGPORT + 1)) $((PGPORT + 2)) $((PGPORT + 3)); do
    start_citus_worker "$port"
done

status=0
DATA=$DATA CITUS_WORKERS="${CITUS_WORKER_PORTS[*]:0:2}" CITUS_SPARE_WORKER="${CITUS_WORKER_PORTS[2]}" \
    "$CLIENTS_VENV/bin/python" -u "$(dirname "${BASH_SOURCE[0]}")/citus.py" || status=$?
if [ "$status" -ne 0 ]; then
    for log in "$CLUSTER_DIR/server.log" "$CLUSTER_DIR"/worker-*.log; do
        echo "--- the end of $(basename "$log"):" >&2
        tail -n 15 "$log" >&2
    done
fi
exit "$status"
