#!/usr/bin/env bash
# Crash recovery: an insert workload runs against an hnsw index, the server
# is killed with `pg_ctl stop -m immediate`, restarted, and the index must
# answer exactly like a sequential scan (the WAL replay rebuilt every page).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

start_cluster
sql -c "CREATE EXTENSION vector_ext"
sql <<'SQL'
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(16));
INSERT INTO items (embedding)
SELECT ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16)) FROM generate_series(1, 1000) i;
CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
CHECKPOINT;
SQL

# Two clients insert one row per transaction until the crash.
for client in 1 2; do
    (for batch in $(seq 1 3000); do
        echo "INSERT INTO items (embedding) SELECT ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16)) FROM generate_series(1, 5) i;"
    done | psql -X -q >/dev/null 2>&1 || true) &
done
sleep 2
crash_and_restart
wait

rows=$(psql -X -At -c "SELECT count(*) FROM items")
echo "rows after recovery: $rows"
result=$(psql -X -At -q <<'SQL'
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SET hnsw.iterative_scan = relaxed_order;
-- every committed row is in the index
SELECT (SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 100000) s)
     = (SELECT count(*) FROM items);
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
echo "index holds every row, index answers = sequential scan answers: $(echo $result | tr '\n' ' ')"
[ "$result" = "$(printf 't\nt')" ] || { echo "crash recovery: FAILED"; tail -20 "$CLUSTER_DIR/server.log"; exit 1; }
grep -q "redo done\|redo starts" "$CLUSTER_DIR/server.log" && echo "(the server replayed WAL on restart)"
echo "crash recovery: ok"
