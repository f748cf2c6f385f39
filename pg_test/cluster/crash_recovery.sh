#!/usr/bin/env bash
# Crash recovery, for each index kind: two clients insert into an indexed
# table while a third searches it; the server is killed with
# `pg_ctl stop -m immediate` and restarted, and WAL replay must have rebuilt
# every index page: every committed row is found through the index by its own
# vector (hnsw: ef_search 100, LIMIT 100; ivfflat: probes = lists), 20
# searches answer exactly like a sequential scan, and the index's verify
# function finds nothing.
KIND=${1:-}
if [ -z "$KIND" ]; then
    status=0
    for kind in hnsw ivfflat; do bash "${BASH_SOURCE[0]}" "$kind" || status=1; done
    exit $status
fi
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
case $KIND in
    hnsw) INDEX="USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32)"
          FIND_SETTINGS="SET hnsw.ef_search = 100;"
          EXACT_SETTINGS="SET hnsw.ef_search = 1000; SET hnsw.iterative_scan = relaxed_order; SET hnsw.max_scan_tuples = 1000000;" ;;
    ivfflat) INDEX="USING ivfflat (embedding vector_l2_ops) WITH (lists = 10)"
          FIND_SETTINGS="SET ivfflat.probes = 10;"
          EXACT_SETTINGS="SET ivfflat.probes = 10;" ;;
esac
echo "index kind: $KIND"

start_cluster
sql -c "CREATE EXTENSION vector_ext"
sql <<SQL
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(16));
INSERT INTO items (embedding)
SELECT ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16)) FROM generate_series(1, 1000) i;
CREATE INDEX ON items $INDEX;
CHECKPOINT;
SQL

# Two clients insert one row per transaction until the crash.
for client in 1 2; do
    (for batch in $(seq 1 3000); do
        echo "INSERT INTO items (embedding) SELECT ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16)) FROM generate_series(1, 5) i;"
    done | psql -X -q >/dev/null 2>&1 || true) &
done
# ... and one searches, checking every answer comes back in distance order.
(for query in $(seq 1 3000); do
    echo "SELECT bool_and(d >= p) FROM (SELECT d, lag(d, 1, 0::float8) OVER () AS p FROM (SELECT embedding <-> (SELECT embedding FROM items WHERE id = $((query % 900 + 1))) AS d FROM items ORDER BY 1 LIMIT 10) a) b;"
done | psql -X -At -v ON_ERROR_STOP=1 -c "SET enable_seqscan = off" -f - 2>/dev/null > "$CLUSTER_DIR/searches.out" || true) &
sleep 2
crash_and_restart
wait
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
searched=$(grep -cx t "$CLUSTER_DIR/searches.out" || true)
if [ "$searched" -gt 0 ] && ! grep -qx f "$CLUSTER_DIR/searches.out"; then
    ok "$searched searches during the inserts, before the crash, returned rows in distance order"
else
    fail "searches during the inserts, before the crash, returned rows in distance order" \
        "$searched in order, $(grep -cx f "$CLUSTER_DIR/searches.out" || true) out of order"
fi
grep -q "redo done\|redo starts" "$CLUSTER_DIR/server.log" && echo "(the server replayed WAL on restart)"
rows=$(psql -X -At -c "SELECT count(*) FROM items")
echo "rows after recovery: $rows"

# Every committed row, found through the index by its own vector.
read -r missing examples <<<"$(psql -X -At -q -F ' ' <<SQL
SET enable_seqscan = off;
$FIND_SETTINGS
SELECT count(*), coalesce(string_agg(id::text, ',' ORDER BY id), '-') FROM (
    SELECT r.id FROM items r
    WHERE NOT r.id = ANY(ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> r.embedding LIMIT 100))) m;
SQL
)"
# A full walk (an iterative scan for every row) tells unreachable rows from
# rows the search misses.
unreached=$(psql -X -At -q <<SQL
SET enable_seqscan = off;
$EXACT_SETTINGS
SELECT count(*) FROM items WHERE id NOT IN (
    SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 1000000);
SQL
)
if [ "$missing" = 0 ]; then
    ok "each of the $rows committed rows is found through the index by its own vector"
else
    fail "each of the $rows committed rows is found through the index by its own vector" \
        "$missing missing (ids $(cut -c1-200 <<<"$examples")); a full walk does not reach $unreached rows"
fi

# 20 searches answer like a sequential scan.
same=$(psql -X -At -q <<SQL
SET enable_seqscan = off;
$EXACT_SETTINGS
CREATE TEMP TABLE queries AS SELECT id, embedding FROM items ORDER BY id DESC LIMIT 20;
CREATE TEMP TABLE from_index AS
SELECT q.id, ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
SET enable_indexscan = off;
RESET enable_seqscan;
SELECT count(*) FILTER (WHERE f.ids = ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10))
FROM queries q JOIN from_index f USING (id);
SQL
)
if [ "$same" = 20 ]; then ok "20 index searches return the ids of a sequential scan, in its order"
else fail "20 index searches return the ids of a sequential scan, in its order" "$same of 20"; fi

# An insert the crash killed between storing its element and linking it
# leaves an unlinked element for a row that never committed (every committed
# row was found above); VACUUM removes it, as it removes the dead row.
sql -q -c "VACUUM items"
if verify_index items_embedding_idx; then ok "verify items_embedding_idx after recovery and VACUUM"
else fail "verify items_embedding_idx after recovery and VACUUM"; fi

echo "crash recovery $KIND: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    tail -20 "$CLUSTER_DIR/server.log"
    exit 1
fi
