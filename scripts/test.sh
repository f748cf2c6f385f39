#!/usr/bin/env bash
# Runs every test tier, or the ones named: unit pg regress cluster.
#   unit     pure-Rust tests of vector_core (kernels, formats, HNSW), no PostgreSQL
#   pg       #[pg_test]s inside a temporary PostgreSQL, through cargo pgrx test
#   regress  pg_regress files under pg_test/, against the installed extension
#   cluster  whole-server scenarios (crash recovery, client libraries)
# Installs what is missing first; leaves nothing running.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(unit pg regress cluster)
passed=0
failed=0

tier_unit() {
    (cd "$REPO" && cargo test -p vector_core --release)
}

tier_pg() {
    local pgdata=/tmp/vector_ext-pgrx-test
    as_root install -d -o postgres -g postgres "$pgdata"
    (cd "$REPO" && cargo pgrx test pg15 --runas postgres --pgdata "$pgdata")
}

tier_regress() {
    install_extension
    start_cluster
    local pg_regress outdir=$REPO/target/pg_regress
    pg_regress="$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress"
    mkdir -p "$outdir"
    local tests
    tests=$(cd "$REPO/pg_test/sql" && ls *.sql | sed 's/\.sql$//' | sort)
    # pg_regress needs write access to its output dir and the server to the
    # COPY files the tests write under /tmp.
    # The tests read the shared data sets through this variable.
    if ! VECTOR_EXT_DATA=$(cd "$DATA" && pwd) "$pg_regress" --inputdir="$REPO/pg_test" --outputdir="$outdir" --bindir="$PG_BIN" \
        --host="$PGHOST" --port="$PGPORT" --user=postgres --load-extension=vector_ext $tests; then
        cat "$outdir/regression.diffs" 2>/dev/null | head -200
        return 1
    fi
}

tier_cluster() {
    local script status=0
    # The pg tier leaves its debug build installed: these run on the release one.
    install_extension
    shopt -s nullglob
    for script in "$REPO"/pg_test/cluster/*.sh; do
        say "cluster test $(basename "$script")"
        bash "$script" || status=1
    done
    return $status
}

ensure_tools
for tier in "${tiers[@]}"; do
    say "test tier: $tier"
    if "tier_$tier"; then
        passed=$((passed + 1))
        say "tier $tier passed"
    else
        failed=$((failed + 1))
        say "tier $tier FAILED"
    fi
done
echo
echo "tiers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
