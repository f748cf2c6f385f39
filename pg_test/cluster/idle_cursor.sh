#!/usr/bin/env bash
# An idle cursor never freezes its table. For each index kind: rows are
# deleted, a session opens a cursor over an index scan, fetches one row and
# then sits idle; meanwhile VACUUM, an INSERT and a new index search must
# each finish within seconds. The cursor's own session then inserts (a
# heavyweight-lock wait there would hang it forever, unseen by the deadlock
# detector) and fetches more rows, none of them deleted.
#   bash pg_test/cluster/idle_cursor.sh [hnsw|ivfflat]
KIND=${1:-}
if [ -z "$KIND" ]; then
    for kind in hnsw ivfflat; do bash "${BASH_SOURCE[0]}" "$kind" || exit 1; done
    exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
case $KIND in
    hnsw) INDEX="USING hnsw (embedding vector_l2_ops)" ;;
    ivfflat) INDEX="USING ivfflat (embedding vector_l2_ops) WITH (lists = 20)" ;;
esac
echo "index kind: $KIND"
IDLE_SECONDS=8
# Each step must finish well before the cursor wakes up.
STEP_LIMIT=5

start_cluster
sql -c "CREATE EXTENSION vector_ext"
sql <<SQL
CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
INSERT INTO items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(1, 5000) i;
CREATE INDEX items_index ON items $INDEX;
DELETE FROM items WHERE id % 10 = 0;
SQL

QUERY="SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 20"
cursor_out=$CLUSTER_DIR/cursor.out
timeout $((IDLE_SECONDS + 30)) psql -X -At -v ON_ERROR_STOP=1 >"$cursor_out" 2>&1 <<SQL &
BEGIN;
SET enable_seqscan = off;
SET hnsw.ef_search = 100;
DECLARE c CURSOR FOR $QUERY;
FETCH 1 FROM c;
SELECT 'idle';
SELECT pg_sleep($IDLE_SECONDS);
INSERT INTO items VALUES (100001, '[0.5,0.5,0.5]');
SELECT 'inserted';
FETCH 19 FROM c;
COMMIT;
SQL
cursor_pid=$!
# wait until the cursor has fetched its first row
for _ in $(seq 1 50); do grep -qx idle "$cursor_out" && break; sleep 0.1; done

status=0
step() {
    local name=$1 started elapsed
    shift
    started=$(date +%s%N)
    if ! timeout "$STEP_LIMIT" psql -X -q -v ON_ERROR_STOP=1 -c "SET enable_seqscan = off" -c "$@" >/dev/null; then
        echo "FAIL $name did not finish within ${STEP_LIMIT}s while a cursor was idle"
        status=1
        return
    fi
    elapsed=$((($(date +%s%N) - started) / 1000000))
    echo "ok   $name finished in ${elapsed} ms while a cursor was idle"
}
step "VACUUM" "VACUUM items"
step "INSERT" "INSERT INTO items VALUES (100000, '[0.4,0.4,0.4]')"
step "a new index search" "$QUERY"

if ! wait "$cursor_pid"; then
    echo "FAIL the cursor's session did not finish (its insert waited for a lock?):"
    cat "$cursor_out"
    status=1
elif ! grep -qx inserted "$cursor_out"; then
    echo "FAIL the cursor's session could not insert:"
    cat "$cursor_out"
    status=1
else
    echo "ok   the cursor's own session inserted and fetched on"
    # every row the cursor returned is a live row (none of the deleted ids)
    returned=$(grep -xE '[0-9]+' "$cursor_out" | wc -l)
    deleted=$(grep -xE '[0-9]+' "$cursor_out" | awk '$1 % 10 == 0 && $1 <= 5000' | wc -l)
    if [ "$returned" -ne 20 ] || [ "$deleted" -ne 0 ]; then
        echo "FAIL the cursor returned $returned rows, $deleted of them deleted"
        status=1
    else
        echo "ok   the cursor returned 20 rows, none deleted"
    fi
fi
verify_index items_index || status=1
[ "$status" -eq 0 ] && echo "idle cursor ($KIND): ok" || echo "idle cursor ($KIND): FAILED"
exit "$status"
