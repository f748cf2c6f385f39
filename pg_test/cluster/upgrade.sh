#!/usr/bin/env bash
# ALTER EXTENSION vector_ext UPDATE from the first release, 0.1.0, whose
# install script is kept frozen in pg_test/upgrade. A database made with
# 0.1.0 holds SIFT 5k in a vector(128) column with hnsw and ivfflat indexes;
# after the update:
#   - the extension is at the new default version and has exactly the
#     objects a database that installs the new version directly has;
#   - the rows are unchanged and the old indexes are used and return what
#     they returned before the update, and verify clean;
#   - what the new versions add works there: halfvec, sparsevec and bit
#     values, hnsw indexes on halfvec and sparsevec, filter columns.
#   bash pg_test/cluster/upgrade.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

PREVIOUS=0.1.0
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', expected '$3'"; fi; }
value() { sql -At "$@"; }

extension_dir="$("$PG_CONFIG" --sharedir)/extension"
as_root install -m 644 "$REPO/pg_test/upgrade/vector_ext--$PREVIOUS.sql" "$extension_dir/"
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$extension_dir/vector_ext.control")

start_cluster
sql -c "CREATE DATABASE old" -c "CREATE DATABASE fresh"
export PGDATABASE=old
sql -c "CREATE EXTENSION vector_ext VERSION '$PREVIOUS'"
check "an update path leads from $PREVIOUS to $current" \
    "$(value -c "SELECT path IS NOT NULL FROM pg_extension_update_paths('vector_ext') WHERE source = '$PREVIOUS' AND target = '$current'")" "t"
check "the old database starts at $PREVIOUS" "$(value -c "SELECT extversion FROM pg_extension WHERE extname = 'vector_ext'")" "$PREVIOUS"
check "halfvec does not exist before the update" "$(value -c "SELECT to_regtype('halfvec') IS NULL")" "t"
load_sift5k
sql -c "CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops)" \
    -c "CREATE INDEX items_ivfflat ON items USING ivfflat (embedding vector_cosine_ops) WITH (lists = 50)"

# 20 searches through the index of an operator, as ids in order, and a
# checksum of the rows
searches() {
    local operator=$1
    value -c "SET enable_seqscan = off; SET hnsw.ef_search = 100; SET ivfflat.probes = 10;
        SELECT string_agg((SELECT string_agg(id::text, ',') FROM (
                   SELECT i.id FROM items i ORDER BY i.embedding $operator q.embedding LIMIT 10) nearest), ';' ORDER BY q.id)
        FROM items q WHERE q.id % 250 = 0" | tail -1
}
rows_checksum() { value -c "SELECT md5(string_agg(id || ':' || embedding::text, ',' ORDER BY id)) FROM items"; }
before_hnsw=$(searches "<->")
before_ivfflat=$(searches "<=>")
before_rows=$(rows_checksum)

sql -c "ALTER EXTENSION vector_ext UPDATE"
check "the update reaches $current" "$(value -c "SELECT extversion FROM pg_extension WHERE extname = 'vector_ext'")" "$current"

# The same objects as a fresh install of the new version.
members() {
    value -d "$1" -c "SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
        WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
          AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vector_ext') ORDER BY 1"
}
sql -d fresh -c "CREATE EXTENSION vector_ext"
diff <(members old) <(members fresh) > /tmp/vector_ext_upgrade.diff
check "the updated extension has exactly the objects of a fresh $current install ($(members fresh | wc -l) objects)" \
    "$(wc -l < /tmp/vector_ext_upgrade.diff)" "0"
head -20 /tmp/vector_ext_upgrade.diff

check "the rows are unchanged" "$(rows_checksum)" "$before_rows"
plan=$(value -c "SET enable_seqscan = off; EXPLAIN SELECT id FROM items ORDER BY embedding <-> '[$(seq -s, 1 128)]' LIMIT 10")
case "$plan" in *"Index Scan using items_hnsw"*) ok "the old hnsw index is still used" ;; *) fail "the old hnsw index is still used" "$plan" ;; esac
check "the old hnsw index returns what it returned before the update" "$(searches "<->")" "$before_hnsw"
check "the old ivfflat index returns what it returned before the update" "$(searches "<=>")" "$before_ivfflat"
check "hnsw_verify is clean after the update" "$(value -c "SELECT count(*) FROM hnsw_verify('items_hnsw')")" "0"
check "ivfflat_verify is clean after the update" "$(value -c "SELECT count(*) FROM ivfflat_verify('items_ivfflat')")" "0"

check "halfvec works after the update" "$(value -c "SELECT '[1,2]'::halfvec + '[0.5,0.25]'")" "[1.5,2.25]"
check "sparsevec works after the update" "$(value -c "SELECT '{1:3}/2'::sparsevec <-> '{2:4}/2'")" "5"
check "bit distances work after the update" "$(value -c "SELECT binary_quantize(embedding) <~> binary_quantize(embedding) FROM items LIMIT 1")" "0"
# An hnsw index on the embeddings stored as a type the update added: the
# planner uses it, it finds 95% of the exact top 10 (exact: the float4
# embeddings; 20 queries, ef_search 100) and hnsw_verify finds nothing.
check_new_index() {
    local type=$1 opclass=$2 query=$3
    sql -c "ALTER TABLE items ADD COLUMN key $type(128)" -c "UPDATE items SET key = embedding" \
        -c "CREATE INDEX items_key ON items USING hnsw (key $opclass)"
    plan=$(value -c "SET enable_seqscan = off; EXPLAIN SELECT id FROM items ORDER BY key <-> '$query' LIMIT 10")
    case "$plan" in *"Index Scan using items_key "*) ok "a new hnsw index on $type is used" ;; *) fail "a new hnsw index on $type is used" "$plan" ;; esac
    recall=$(value -c "SET hnsw.ef_search = 100;
        SELECT avg((SELECT count(*) FROM (SELECT id FROM items ORDER BY key <-> q.key LIMIT 10) found
                    WHERE id IN (SELECT id FROM items ORDER BY embedding <-> q.embedding LIMIT 10)) / 10.0) >= 0.95
        FROM items q WHERE q.id % 250 = 0" | tail -1)
    check "the $type index finds at least 95% of the exact top 10" "$recall" "t"
    check "hnsw_verify is clean on the $type index" "$(value -c "SELECT count(*) FROM hnsw_verify('items_key')")" "0"
    sql -c "ALTER TABLE items DROP COLUMN key"
}
check_new_index halfvec halfvec_l2_ops "[$(seq -s, 1 128)]"
# SIFT descriptors are sparse (zeros dropped: about 20% of their elements)
check_new_index sparsevec sparsevec_l2_ops "{1:1}/128"

# 0.3.0's filter columns: an hnsw index with an integer column after the
# vector evaluates a WHERE on it in the walk.
sql -c "ALTER TABLE items ADD COLUMN tenant int" -c "UPDATE items SET tenant = id % 10" \
    -c "CREATE INDEX items_filtered ON items USING hnsw (embedding vector_l2_ops, tenant)"
filtered="SELECT id, tenant FROM items WHERE tenant = 3 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10"
plan=$(value -c "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $filtered")
case "$plan" in *"Index Cond: (tenant = 3)"*) ok "a filter column is an index condition" ;; *) fail "a filter column is an index condition" "$plan" ;; esac
check "a filtered search returns 10 rows of its tenant" "$(value -c "SET enable_seqscan = off; SELECT count(*) FILTER (WHERE tenant = 3) FROM ($filtered) s")" "10"

echo "upgrade: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
