#!/usr/bin/env bash
# Stress: for each access method, inserters, a deleter, an updater of the
# vector column, a VACUUM loop and searchers (plain, iterative, filtered) run
# at once against one indexed table for STRESS_SECONDS (default 60) each.
# Every search is checked against an exact scan in the same snapshot, errors
# are counted by SQLSTATE (none is expected: no deadlock, no lock or
# statement timeout), every live row must then be found by its own vector,
# and the index's verify function must find nothing (see stress.py).
#   bash pg_test/cluster/stress.sh [hnsw|ivfflat ...]
#   STRESS_SECONDS=600 bash pg_test/cluster/stress.sh hnsw
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

STRESS_SECONDS=${STRESS_SECONDS:-60}
KINDS=("$@")
[ ${#KINDS[@]} -gt 0 ] || KINDS=(hnsw ivfflat)

ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"

status=0
for kind in "${KINDS[@]}"; do
    say "stress $kind, $STRESS_SECONDS s"
    started=$SECONDS
    # stress.py has its own deadline; this one catches a hang outside it
    # (setup, the final searches).
    result=0
    timeout --kill-after=10 $((STRESS_SECONDS + 600)) \
        "$CLIENTS_VENV/bin/python" -u "$(dirname "${BASH_SOURCE[0]}")/stress.py" "$kind" "$STRESS_SECONDS" || result=$?
    [ "$result" -ne 124 ] && [ "$result" -ne 137 ] || echo "FAIL stress.py $kind did not finish within $((STRESS_SECONDS + 600)) s"
    if verify_index "stress_${kind}_embedding_idx"; then
        echo "ok   verify stress_${kind}_embedding_idx after the stress"
    else
        echo "FAIL verify stress_${kind}_embedding_idx after the stress"
        result=1
    fi
    echo "stress $kind: $([ "$result" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s"
    [ "$result" -eq 0 ] || status=1
done

if [ "$status" -ne 0 ]; then
    echo "stress: FAILED; the end of the server log:" >&2
    tail -n 30 "$CLUSTER_DIR/server.log" >&2
    # A backend stuck on an index lock would keep a fast shutdown waiting.
    as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
fi
exit "$status"
