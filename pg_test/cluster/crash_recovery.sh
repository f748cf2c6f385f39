#!/usr/bin/env bash
# Crash recovery, for each index kind: two clients insert into an indexed
# table while a third searches it; the server is killed with
# `pg_ctl stop -m immediate`, restarted, and the index must answer exactly
# like a sequential scan (the WAL replay rebuilt every page) and still reach
# (nearly) every row.
KIND=${1:-}
if [ -z "$KIND" ]; then
    for kind in hnsw ivfflat; do bash "${BASH_SOURCE[0]}" "$kind" || exit 1; done
    exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
case $KIND in
    hnsw) INDEX="USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32)"
          EXACT_SETTINGS="SET hnsw.ef_search = 1000; SET hnsw.iterative_scan = relaxed_order; SET hnsw.max_scan_tuples = 1000000;" ;;
    ivfflat) INDEX="USING ivfflat (embedding vector_l2_ops) WITH (lists = 10)"
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
if grep -qx f "$CLUSTER_DIR/searches.out"; then
    echo "a search during the inserts returned rows out of order"
    exit 1
fi
echo "searches completed during the insert workload: $(grep -cx t "$CLUSTER_DIR/searches.out")"

rows=$(psql -X -At -c "SELECT count(*) FROM items")
echo "rows after recovery: $rows"
result=$(psql -X -At -q <<SQL
SET enable_seqscan = off;
$EXACT_SETTINGS
-- a full walk of the graph reaches every committed row (HNSW does not
-- promise every element an incoming link: allow one in a thousand)
SELECT (SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 1000000) s)
     >= 0.999 * (SELECT count(*) FROM items);
-- and 20 searches answer like a sequential scan
CREATE TEMP TABLE queries AS SELECT id, embedding FROM items ORDER BY id DESC LIMIT 20;
CREATE TEMP TABLE from_index AS
SELECT q.id, ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
SET enable_indexscan = off;
RESET enable_seqscan;
SELECT bool_and(f.ids = ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10))
FROM queries q JOIN from_index f USING (id);
SQL
)
echo "graph reaches the rows, index answers = sequential scan answers: $(echo $result | tr '\n' ' ')"
[ "$result" = "$(printf 't\nt')" ] || { echo "crash recovery: FAILED"; tail -20 "$CLUSTER_DIR/server.log"; exit 1; }
grep -q "redo done\|redo starts" "$CLUSTER_DIR/server.log" && echo "(the server replayed WAL on restart)"
echo "crash recovery: ok"
