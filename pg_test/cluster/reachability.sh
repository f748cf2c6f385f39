#!/usr/bin/env bash
# Every row can be found by its own vector. On SIFT 5k (L2) and pydoc-minilm
# (41k x 384, cosine), in three scenarios (a bulk build; one client
# inserting into an empty index; four clients inserting into an empty index
# at once), every row is searched for with its own vector
# (hnsw.ef_search = 100, LIMIT 100) and must be among the results, with at
# most 1 row in 10,000 missing (each scenario runs until it has covered
# 10,000 rows: twice on SIFT 5k); the verify function must be clean.
#   bash pg_test/cluster/reachability.sh            (both data sets)
#   DATASETS=sift5k bash pg_test/cluster/reachability.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"

status=0
DATA=$DATA "$CLIENTS_VENV/bin/python" -u "$(dirname "${BASH_SOURCE[0]}")/reachability.py" ${DATASETS:-sift5k pydoc} || status=$?
for index in $(psql -X -At -c "SELECT indexrelid::regclass FROM pg_index JOIN pg_class c ON c.oid = indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw'"); do
    verify_index "$index" || status=1
done
if [ "$status" -ne 0 ]; then
    echo "reachability: FAILED; the end of the server log:" >&2
    tail -n 20 "$CLUSTER_DIR/server.log" >&2
fi
exit "$status"
