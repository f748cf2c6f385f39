#!/usr/bin/env bash
# Streaming replication: the indexes are WAL-logged so that a hot standby
# built by pg_basebackup -R replays them page for page. The standby is taken
# before anything is loaded, so every index page it has came through WAL: the
# build, inserts, deletes and VACUUM. Three tables hold SIFT 5k, each with one
# index: hnsw vector_l2_ops, hnsw vector_cosine_ops and ivfflat vector_l2_ops.
# After each phase (build; 500 inserts; 20% deleted and VACUUM), once the
# standby has replayed the primary's WAL position:
#   - 50 index searches (LIMIT 10, enable_seqscan off) and 5 filtered
#     iterative searches return the same ids in the same order on both;
#   - those searches are real: 10 rows each, recall against an exact scan;
#   - every row is found through the index by its own vector (hnsw
#     ef_search 100, ivfflat probes = lists; LIMIT 100), on both servers;
#   - the verify functions find nothing, on the primary and on the standby
#     (they only read: they must work on a hot standby).
# Then the primary inserts, deletes and vacuums in rounds while the standby
# searches: no search fails, each returns 10 rows, recall against an exact
# scan of the same snapshot holds, and the newest row a snapshot holds is
# found by its own vector; once replayed, the checks above pass again.
# Last the standby is promoted (pg_promote): its indexes take inserts, the
# new rows and the old ones are found by their own vector, verify is clean.
#   bash pg_test/cluster/replica.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# PostgreSQL 15's defaults already allow this; spelled out so the test does
# not depend on them.
EXTRA_SERVER_OPTIONS="-c wal_level=replica -c max_wal_senders=4 -c hot_standby=on"
TABLES=(t_hnsw_l2 t_hnsw_cos t_ivfflat)
declare -A OP=([t_hnsw_l2]="<->" [t_hnsw_cos]="<=>" [t_ivfflat]="<->")
declare -A INDEX=(
    [t_hnsw_l2]="USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)"
    [t_hnsw_cos]="USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
    [t_ivfflat]="USING ivfflat (embedding vector_l2_ops) WITH (lists = 50)")
# Search settings: ef_search 100 (README: recall >= 0.95 on SIFT 5k); 10 of 50 cells.
SEARCH_SETTINGS="SET enable_seqscan = off; SET hnsw.ef_search = 100; SET ivfflat.probes = 10;"
# Own-vector searches: ivfflat probes every cell.
FIND_SETTINGS="SET enable_seqscan = off; SET hnsw.ef_search = 100; SET ivfflat.probes = 50;"
RECALL_FLOOR=0.9

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', expected '$3'"; fi; }

start_cluster
STANDBY_DIR=$(mktemp -d /tmp/vector_ext-standby.XXXXXX)
STANDBY_PORT=$((PGPORT + 400))
chmod 755 "$STANDBY_DIR"
as_root chown postgres:postgres "$STANDBY_DIR"

cleanup() {
    local status=$?
    if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
        echo "--- the end of the primary's log:" >&2
        tail -n 25 "$CLUSTER_DIR/server.log" >&2 || true
        echo "--- the end of the standby's log:" >&2
        tail -n 25 "$STANDBY_DIR/server.log" >&2 || true
    fi
    as_postgres "$PG_BIN/pg_ctl" -D "$STANDBY_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    as_root rm -rf "$STANDBY_DIR"
    stop_cluster
}
trap cleanup EXIT

# psql, unaligned, on either server.
primary() { psql -X -At -q -v ON_ERROR_STOP=1 "$@"; }
standby() { PGHOST=$STANDBY_DIR PGPORT=$STANDBY_PORT psql -X -At -q -v ON_ERROR_STOP=1 "$@"; }

# The replication line initdb writes with --auth=trust; added if it is not there.
if ! grep -Eq '^local[[:space:]]+replication[[:space:]]+all[[:space:]]+trust' "$CLUSTER_DIR/data/pg_hba.conf"; then
    echo "local replication all trust" | as_postgres tee -a "$CLUSTER_DIR/data/pg_hba.conf" >/dev/null
    primary -c "SELECT pg_reload_conf()" >/dev/null
fi
primary -c "CREATE EXTENSION vector_ext" >/dev/null

say "standby: pg_basebackup -R, port $STANDBY_PORT"
as_postgres "$PG_BIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$STANDBY_DIR/data" -R -X stream -c fast
as_postgres env -u RUST_BACKTRACE "$PG_BIN/pg_ctl" -D "$STANDBY_DIR/data" -l "$STANDBY_DIR/server.log" -w \
    -o "-c listen_addresses='' -k $STANDBY_DIR -p $STANDBY_PORT" start >/dev/null
check "the standby is in recovery" "$(standby -c "SELECT pg_is_in_recovery()")" t
check "the primary streams to it" "$(primary -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" 1

# Waits (at most 60 s) until the standby has replayed the primary's current WAL position.
wait_for_replay() {
    local lsn i
    lsn=$(primary -c "SELECT pg_current_wal_lsn()")
    for i in $(seq 1 600); do
        if [ "$(standby -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ]; then
            ok "$1: the standby replayed the primary's WAL up to $lsn"
            return 0
        fi
        sleep 0.1
    done
    fail "$1: the standby replayed the primary's WAL up to $lsn within 60 s" \
        "replayed $(standby -c "SELECT pg_last_wal_replay_lsn()")"
    return 1
}

# The searches, one line each: query number, then the ids in order.
searches() {
    local table=$1 op=${OP[$1]}
    cat <<SQL
$SEARCH_SETTINGS
SELECT 'plain ' || q.qid || ': ' || array_to_string(ARRAY(
    SELECT t.id FROM $table t ORDER BY t.embedding $op q.embedding LIMIT 10), ',')
FROM queries q ORDER BY q.qid;
-- 2% of the rows pass the filter: only an iterative scan finds 10 of them.
SET hnsw.iterative_scan = strict_order;
SET ivfflat.iterative_scan = relaxed_order;
SELECT 'iterative ' || q.qid || ': ' || array_to_string(ARRAY(
    SELECT t.id FROM $table t WHERE t.id % 50 = 7 ORDER BY t.embedding $op q.embedding LIMIT 10), ',')
FROM queries q WHERE q.qid <= 5 ORDER BY q.qid;
SQL
}

# Recall of the plain searches against an exact scan (the ORDER BY expression
# `+ 0` is not the indexed operator), and the fewest rows any search returned.
quality() {
    local table=$1 op=${OP[$1]}
    cat <<SQL
$SEARCH_SETTINGS
SELECT round(avg((SELECT count(*) FROM unnest(ids) i WHERE i = ANY(exact))) / 10, 3), min(cardinality(ids))
FROM (SELECT ARRAY(SELECT t.id FROM $table t ORDER BY t.embedding $op q.embedding LIMIT 10) AS ids,
             ARRAY(SELECT t.id FROM $table t ORDER BY (t.embedding $op q.embedding) + 0 LIMIT 10) AS exact
      FROM queries q) s;
SET hnsw.iterative_scan = strict_order;
SET ivfflat.iterative_scan = relaxed_order;
SELECT min(cardinality(ARRAY(SELECT t.id FROM $table t WHERE t.id % 50 = 7 ORDER BY t.embedding $op q.embedding LIMIT 10)))
FROM queries q WHERE q.qid <= 5;
SQL
}

# Prints, for the rows of table $2 with id >= $3 on server $1 (primary or
# standby): how many an own-vector search (LIMIT 100) does not return, how
# many rows there are, and (to tell the two failures apart) how many of the
# missing ones a full walk of the index (an iterative scan returning every
# row) does not reach either.
missing_own() {
    local server=$1 table=$2 op=${OP[$2]} from=$3 missing total unreached=0
    read -r missing total <<<"$($server -F ' ' -f - <<SQL
$FIND_SETTINGS
SELECT coalesce(string_agg(r.id::text, ',') FILTER (
           WHERE NOT r.id = ANY(ARRAY(SELECT t.id FROM $table t ORDER BY t.embedding $op r.embedding LIMIT 100))), '-'),
       count(*)
FROM $table r WHERE r.id >= $from;
SQL
)"
    if [ "$missing" != - ]; then
        unreached=$($server -f - <<SQL
$FIND_SETTINGS
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.max_scan_tuples = 100000000;
SET ivfflat.iterative_scan = relaxed_order;
SELECT count(*) FROM $table WHERE id IN ($missing) AND id NOT IN (
    SELECT t.id FROM $table t ORDER BY t.embedding $op (SELECT embedding FROM queries WHERE qid = 1) LIMIT 100000000);
SQL
)
        missing=$(tr ',' '\n' <<<"$missing" | wc -l)
    else
        missing=0
    fi
    echo "$missing $total $unreached"
}

# Rows an hnsw index may miss by their own vector: the bar of 1 in 10,000
# (rounded down); ivfflat: none.
allowed_missing() {
    local table=$1 total=$2
    case $table in t_hnsw_*) echo $((total / 10000)) ;; *) echo 0 ;; esac
}

# Checks that every row with id >= $3 of table $2 on server $1 is found by
# its own vector (up to the bar, and then the same rows on both servers:
# MISSING_ON records what each server missed).
declare -A MISSING_ON
check_own() {
    local server=$1 table=$2 from=$3 label=$4 missing total unreached allowed
    read -r missing total unreached <<<"$(missing_own "$server" "$table" "$from")"
    allowed=$(allowed_missing "$table" "$total")
    MISSING_ON[$server]=$missing
    if [ "$missing" = 0 ]; then
        ok "$label: each of $total rows is found by an own-vector search"
    elif [ "$missing" -le "$allowed" ]; then
        ok "$label: $missing of $total rows not found by an own-vector search ($unreached unreachable; the bar allows $allowed)"
    else
        fail "$label: each of $total rows is found by an own-vector search" \
            "$missing rows missing, $unreached of them not reached by a full walk either"
    fi
}

verify_table() {
    verify_index "$1_embedding_idx"
}

# Both servers answer every search the same; the answers are real ones.
compare() {
    local phase=$1 table on_primary on_standby differ plan
    for table in "${TABLES[@]}"; do
        plan=$(primary -f - 2>&1 <<SQL || true
$SEARCH_SETTINGS
EXPLAIN (COSTS OFF) SELECT ARRAY(SELECT t.id FROM $table t ORDER BY t.embedding ${OP[$table]} q.embedding LIMIT 10) FROM queries q;
SQL
)
        if grep -q "Index Scan using ${table}_embedding_idx" <<<"$plan"; then
            ok "$phase, $table: the searches run as scans of ${table}_embedding_idx"
        else
            fail "$phase, $table: the searches run as scans of ${table}_embedding_idx" "$(tr '\n' ' ' <<<"$plan")"
        fi
        on_primary=$(searches "$table" | primary -f -)
        on_standby=$(searches "$table" | standby -f -) || on_standby="(error)"
        if [ "$on_primary" = "$on_standby" ]; then
            ok "$phase, $table: 50 searches + 5 iterative return the same ids in the same order on both servers"
        else
            differ=$(diff <(echo "$on_primary") <(echo "$on_standby") | head -4 | tr '\n' ' ')
            fail "$phase, $table: 50 searches + 5 iterative return the same ids in the same order on both servers" \
                "$(diff <(echo "$on_primary") <(echo "$on_standby") | grep -c '^<' || true) lines differ: $differ"
        fi
        read -r recall fewest fewest_iterative <<<"$(quality "$table" | primary -F ' ' -f - | tr '\n' ' ')"
        if awk -v r="$recall" -v f="$RECALL_FLOOR" 'BEGIN { exit !(r >= f) }' && [ "$fewest" = 10 ]; then
            ok "$phase, $table: every search returns 10 rows, recall@10 $recall >= $RECALL_FLOOR"
        else
            fail "$phase, $table: every search returns 10 rows, recall@10 >= $RECALL_FLOOR" "recall $recall, fewest rows $fewest"
        fi
        check "$phase, $table: every filtered iterative search returns 10 rows" "$fewest_iterative" 10
    done
}

# Every row of every table is found by an own-vector search, on both servers.
find_all() {
    local phase=$1 table
    for table in "${TABLES[@]}"; do
        check_own primary "$table" 0 "$phase, $table on the primary"
        check_own standby "$table" 0 "$phase, $table on the standby"
        check "$phase, $table: the standby misses exactly the rows the primary misses" "${MISSING_ON[standby]}" "${MISSING_ON[primary]}"
    done
}

verify_both() {
    local phase=$1 table
    for table in "${TABLES[@]}"; do
        if verify_table "$table"; then ok "$phase: verify ${table}_embedding_idx on the primary"
        else fail "$phase: verify ${table}_embedding_idx on the primary"; fi
        if PGHOST=$STANDBY_DIR PGPORT=$STANDBY_PORT verify_table "$table"; then
            ok "$phase: verify ${table}_embedding_idx on the standby"
        else fail "$phase: verify ${table}_embedding_idx on the standby"; fi
    done
}

say "phase 1: load SIFT 5k into three tables, build the indexes"
load_sift5k
primary <<SQL
ALTER TABLE items RENAME TO t_hnsw_l2;
CREATE TABLE t_hnsw_cos (LIKE t_hnsw_l2 INCLUDING ALL);
INSERT INTO t_hnsw_cos SELECT * FROM t_hnsw_l2;
CREATE TABLE t_ivfflat (LIKE t_hnsw_l2 INCLUDING ALL);
INSERT INTO t_ivfflat SELECT * FROM t_hnsw_l2;
-- 50 query vectors: rows of the set moved by up to 8 in each component.
CREATE TABLE queries AS
SELECT row_number() OVER (ORDER BY id)::int AS qid,
       ARRAY(SELECT x + floor(random() * 17) - 8 FROM unnest(embedding::real[]) x)::vector(128) AS embedding
FROM t_hnsw_l2 WHERE id % 100 = 42;
SQL
for table in "${TABLES[@]}"; do
    primary -c "CREATE INDEX ${table}_embedding_idx ON $table ${INDEX[$table]}"
done
primary -c "ANALYZE"
check "50 query vectors" "$(primary -c "SELECT count(*) FROM queries")" 50
wait_for_replay "after the build" || true
compare "after the build"
find_all "after the build"
verify_both "after the build"

say "phase 2: 500 inserts into each table"
primary <<SQL
CREATE TABLE new_rows AS
SELECT 200000 + g AS id,
       ARRAY(SELECT abs(x + floor(random() * 11) - 5) FROM unnest(t.embedding::real[]) x)::vector(128) AS embedding
FROM generate_series(1, 500) g JOIN t_hnsw_l2 t ON t.id = 100001 + (g * 7) % 5000;
SQL
check "500 new rows" "$(primary -c "SELECT count(*) FROM new_rows")" 500
for table in "${TABLES[@]}"; do
    # One row per statement, as an application inserts.
    primary -c "SELECT 'INSERT INTO $table VALUES (' || id || ', ''' || embedding::text || ''');' FROM new_rows ORDER BY id" \
        | primary -f -
done
wait_for_replay "after the inserts" || true
compare "after the inserts"
find_all "after the inserts"
verify_both "after the inserts"

say "phase 3: delete 20% of each table, VACUUM"
for table in "${TABLES[@]}"; do
    primary -c "DELETE FROM $table WHERE id % 5 = 0" -c "VACUUM $table"
done
wait_for_replay "after DELETE + VACUUM" || true
compare "after DELETE + VACUUM"
find_all "after DELETE + VACUUM"
verify_both "after DELETE + VACUUM"

say "phase 4: searches on the standby while the primary inserts, deletes and vacuums"
# The primary writes in rounds: 100 rows inserted into each table, 50 old
# rows deleted, VACUUM. Meanwhile the standby runs searches, each in a
# REPEATABLE READ transaction that also scans exactly and finds the newest
# row it sees by that row's own vector: whatever the replay position, the
# index answers for the rows the standby's snapshot holds.
writer() {
    local round table
    for round in $(seq 1 "$WRITE_ROUNDS"); do
        for table in "${TABLES[@]}"; do
            primary <<SQL
INSERT INTO $table
SELECT 250000 + $round * 1000 + g, ARRAY(SELECT abs(x + floor(random() * 11) - 5) FROM unnest(embedding::real[]) x)::vector(128)
FROM (SELECT row_number() OVER (ORDER BY id) AS g, embedding FROM $table WHERE id < 200000 AND id % 7 = $round) t WHERE g <= 100;
DELETE FROM $table WHERE id IN (SELECT id FROM $table WHERE id < 200000 AND id % 7 = $round ORDER BY id LIMIT 50);
VACUUM $table;
SQL
        done
    done
}

# One standby transaction: prints the table, the rows the index search
# returned, how many of them the exact scan has, and whether the newest
# row was found by its own vector, and the replay position.
standby_check() {
    local table=$1 qid=$2 op=${OP[$1]}
    cat <<SQL
BEGIN ISOLATION LEVEL REPEATABLE READ;
$FIND_SETTINGS
SELECT '$table', cardinality(found), (SELECT count(*) FROM unnest(found) f WHERE f = ANY(exact)),
       newest.id = ANY(ARRAY(SELECT t.id FROM $table t ORDER BY t.embedding $op newest.embedding LIMIT 10)),
       pg_last_wal_replay_lsn()
FROM (SELECT ARRAY(SELECT t.id FROM $table t ORDER BY t.embedding $op q.embedding LIMIT 10) AS found,
             ARRAY(SELECT t.id FROM $table t ORDER BY (t.embedding $op q.embedding) + 0 LIMIT 10) AS exact
      FROM queries q WHERE q.qid = $qid) s,
     (SELECT id, embedding FROM $table ORDER BY id DESC LIMIT 1) newest;
COMMIT;
SQL
}

WRITE_ROUNDS=10
writer &
writer_pid=$!
: >"$STANDBY_DIR/during.out"
: >"$STANDBY_DIR/during.err"
rounds=0
while kill -0 "$writer_pid" 2>/dev/null || [ "$rounds" -lt 30 ]; do
    rounds=$((rounds + 1))
    for table in "${TABLES[@]}"; do standby_check "$table" $((rounds % 50 + 1)); done |
        standby -F ' ' -f - >>"$STANDBY_DIR/during.out" 2>>"$STANDBY_DIR/during.err" || echo "psql failed" >>"$STANDBY_DIR/during.err"
done
wait "$writer_pid" && ok "the primary wrote $WRITE_ROUNDS rounds" || fail "the primary wrote $WRITE_ROUNDS rounds"
check "no standby search failed while the primary wrote" "$(head -c 300 "$STANDBY_DIR/during.err")" ""
read -r searches positions fewest recall unfound <<<"$(awk '{ n++; hits += $3; if (n == 1 || $2 < min) min = $2; if ($4 != "t") miss++; if (!seen[$5]++) positions++ }
    END { printf "%d %d %d %.3f %d\n", n, positions, min, n ? hits / (10 * n) : 0, miss }' "$STANDBY_DIR/during.out")"
check "standby searches during the writes, at $positions replay positions: every one of $searches returned 10 rows" "$fewest" 10
if awk -v r="$recall" -v f="$RECALL_FLOOR" 'BEGIN { exit !(r >= f) }'; then
    ok "standby searches during the writes: recall@10 $recall against an exact scan of the same snapshot"
else
    fail "standby searches during the writes: recall@10 >= $RECALL_FLOOR against an exact scan of the same snapshot" "$recall"
fi
check "standby searches during the writes: the newest row each snapshot holds is found by its own vector" "$unfound" 0
wait_for_replay "after the writes" || true
compare "after the writes"
find_all "after the writes"
verify_both "after the writes"

say "phase 5: promote the standby"
check "pg_promote() on the standby" "$(standby -c "SELECT pg_promote(true, 60)")" t
check "the promoted server is out of recovery" "$(standby -c "SELECT pg_is_in_recovery()")" f
for table in "${TABLES[@]}"; do
    standby <<SQL
INSERT INTO $table
SELECT 300000 + g, ARRAY(SELECT abs(x + floor(random() * 11) - 5) FROM unnest(embedding::real[]) x)::vector(128)
FROM (SELECT row_number() OVER (ORDER BY id) AS g, embedding FROM $table) t WHERE g <= 300;
SQL
    check "promoted, $table: 300 rows inserted" "$(standby -c "SELECT count(*) FROM $table WHERE id > 300000")" 300
    check_own standby "$table" 300000 "promoted, $table, the rows inserted after the promotion"
    check_own standby "$table" 0 "promoted, $table, all rows"
    if PGHOST=$STANDBY_DIR PGPORT=$STANDBY_PORT verify_table "$table"; then
        ok "promoted: verify ${table}_embedding_idx"
    else fail "promoted: verify ${table}_embedding_idx"; fi
done

echo
echo "replica: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
