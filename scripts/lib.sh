# Helpers shared by the scripts: privileges, tool installation and a
# throwaway PostgreSQL cluster. Sourced, never run.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_BIN=/usr/lib/postgresql/15/bin
PGRX_VERSION=0.18.1
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 libclang-dev clang build-essential pkg-config libssl-dev sudo python3-venv)
DATA="$REPO/../shared/data"

say() { printf '\n==> %s\n' "$*"; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Runs a command as the postgres OS user (initdb and the server refuse root).
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

# Installs the apt packages named that are missing.
ensure_apt_packages() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing apt packages: ${missing[*]}"
        # sudo itself may be what is missing; as root we do not need it yet.
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
    fi
}

# Installs whatever is missing: apt packages, cargo-pgrx, pgrx's pg15 config.
ensure_tools() {
    ensure_apt_packages "${APT_PACKAGES[@]}"
    if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
        say "installing cargo-pgrx $PGRX_VERSION (about 5 minutes)"
        cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
    fi
    # Re-running init rewrites pgrx's config and forces a rebuild: only when needed.
    if ! grep -qs '^pg15' "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        say "pointing pgrx at the system PostgreSQL 15"
        cargo pgrx init --pg15 "$PG_CONFIG"
    fi
}

# Creates a Python venv at $1 with the pinned packages that follow, or
# refreshes it when the pins change (a stamp file remembers them).
ensure_venv() {
    local venv=$1
    shift
    local stamp=$venv/.packages
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
        say "installing $* into $venv"
        "$venv/bin/pip" install -q "$@"
        echo "$*" >"$stamp"
    fi
}

# The Python of the cluster tests: pgvector's client libraries and numpy.
CLIENTS_VENV=$REPO/target/clients-venv
CLIENTS_PACKAGES=("psycopg[binary]==3.3.9" "pgvector==0.5.1" "asyncpg==0.32.0" "SQLAlchemy==2.1.9" "numpy==2.4.6")
# The Python of the benchmarks.
BENCH_VENV=$REPO/target/bench-venv
BENCH_PACKAGES=("psycopg[binary]==3.3.9" "numpy==2.4.6")

# Builds the extension in release mode and installs it into the system PostgreSQL.
install_extension() {
    say "building and installing vector_ext (release)"
    local sudo_flag=()
    [ "$(id -u)" -eq 0 ] || sudo_flag=(--sudo)
    (cd "$REPO" && cargo pgrx install --release --pg-config "$PG_CONFIG" "${sudo_flag[@]}")
}

# Builds and installs pgvector 0.8.6 from ../shared/vendor (PGXS) unless this
# server already has it: the reference of side-by-side benchmarks. It
# installs extension `vector`, which needs a database of its own. Built with
# its default flags (-march=native): its best speed on this machine.
PGVECTOR_TARBALL=$REPO/../shared/vendor/pgvector-0.8.6.tar.gz
install_pgvector() {
    if [ -f "$("$PG_CONFIG" --sharedir)/extension/vector--0.8.6.sql" ]; then
        return
    fi
    say "building and installing pgvector 0.8.6 (reference for benchmarks)"
    local build
    build=$(mktemp -d /tmp/pgvector-build.XXXXXX)
    tar xzf "$PGVECTOR_TARBALL" -C "$build"
    (cd "$build/pgvector-0.8.6" && make -s PG_CONFIG="$PG_CONFIG" && as_root make -s install PG_CONFIG="$PG_CONFIG")
    rm -rf "$build"
}

# Builds and installs Citus 13.2.2 from ../shared/vendor (with the patch for
# Debian's PostgreSQL 15.20 headers) unless this server already has it: the
# scale-out tests and benchmark distribute tables with it. About a minute and
# a half on two cores; the installed library is the cache.
CITUS_TARBALL=$REPO/../shared/vendor/citus-13.2.2.tar.gz
CITUS_PATCH=$REPO/../shared/vendor/citus-13.2.2-pg15.20.patch
CITUS_APT_PACKAGES=(libzstd-dev liblz4-dev libcurl4-openssl-dev libkrb5-dev)
install_citus() {
    if grep -qas 'Citus 13.2.2' "$("$PG_CONFIG" --pkglibdir)/citus.so"; then
        return
    fi
    say "building and installing Citus 13.2.2 (scale-out tests)"
    ensure_apt_packages "${CITUS_APT_PACKAGES[@]}"
    local build
    build=$(mktemp -d /tmp/citus-build.XXXXXX)
    tar xzf "$CITUS_TARBALL" -C "$build"
    if ! (cd "$build/citus-13.2.2" && patch -s -p1 <"$CITUS_PATCH" &&
        ./configure PG_CONFIG="$PG_CONFIG" && make -j"$(nproc)" && as_root make install) >"$build/build.log" 2>&1; then
        tail -n 30 "$build/build.log" >&2
        return 1
    fi
    rm -rf "$build"
}

# What a benchmark needs before its server starts: the tools, the bench
# venv, the extension rebuilt when BENCH_INSTALL=1, and pgvector unless
# BENCH_PGVECTOR=0. Sets `compare`, the bench scripts' pgvector arguments.
prepare_bench() {
    ensure_tools
    ensure_venv "$BENCH_VENV" "${BENCH_PACKAGES[@]}"
    if [ "${BENCH_INSTALL:-0}" = 1 ]; then install_extension; fi
    compare=()
    if [ "${BENCH_PGVECTOR:-1}" = 1 ]; then
        install_pgvector
        compare=(--pgvector-database pgvector)
    fi
}

# vector_ext in the default database; pgvector in database `pgvector`
# (both define type `vector`) when `compare` asks for it.
create_bench_databases() {
    sql -c "CREATE EXTENSION vector_ext"
    if [ ${#compare[@]} -gt 0 ]; then
        sql -c "CREATE DATABASE pgvector"
        sql -d pgvector -c "CREATE EXTENSION vector"
    fi
}

# Runs a Python benchmark that measures vector_ext beside pgvector on one
# throwaway server (each extension in its own database, see
# create_bench_databases): scripts/$1.
run_side_by_side_bench() {
    BENCH_PGVECTOR=1
    prepare_bench
    EXTRA_SERVER_OPTIONS="-c shared_buffers=1GB -c maintenance_work_mem=2GB -c max_parallel_maintenance_workers=0 -c jit=off"
    start_cluster
    create_bench_databases
    "$BENCH_VENV/bin/python" -u "$REPO/scripts/$1"
}

# Starts a throwaway cluster listening only on a private unix socket and
# stops it (and removes it) when the calling script exits.
# Sets PGHOST, PGPORT, PGUSER, PGDATABASE and CLUSTER_DIR.
start_cluster() {
    CLUSTER_DIR=$(mktemp -d /tmp/vector_ext-cluster.XXXXXX)
    chmod 755 "$CLUSTER_DIR"
    as_root chown postgres:postgres "$CLUSTER_DIR"
    export PGHOST=$CLUSTER_DIR PGPORT=$((5500 + RANDOM % 400)) PGUSER=postgres PGDATABASE=postgres
    as_postgres "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
    start_server
    trap stop_cluster EXIT
}

start_server() {
    # RUST_BACKTRACE would add Rust backtraces to error details.
    as_postgres env -u RUST_BACKTRACE "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w \
        -o "-c listen_addresses='' -k $CLUSTER_DIR -p $PGPORT ${EXTRA_SERVER_OPTIONS:-}" start >/dev/null
}

# Kills the server as a power loss would (no checkpoint, no clean shutdown)
# and starts it again: recovery replays the WAL.
crash_and_restart() {
    as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null
    start_server
}

stop_cluster() {
    if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        as_root rm -rf "$CLUSTER_DIR"
    fi
}

# A Citus cluster on this machine: the throwaway cluster is the coordinator,
# each worker another server in $CLUSTER_DIR/worker-PORT on the same socket
# directory. Citus reaches its nodes by host name, so they also listen on
# localhost; wal_level = logical lets the rebalancer move shards while they
# take writes.
CITUS_SERVER_OPTIONS="-c listen_addresses=localhost -c shared_preload_libraries=citus -c wal_level=logical"
CITUS_WORKER_PORTS=()
start_citus_coordinator() {
    EXTRA_SERVER_OPTIONS="$CITUS_SERVER_OPTIONS ${EXTRA_SERVER_OPTIONS:-}"
    start_cluster
    trap stop_citus EXIT
    sql -c "CREATE EXTENSION citus" -c "SELECT citus_set_coordinator_host('localhost', $PGPORT)" >/dev/null
}

# Starts a worker server on port $1 with Citus created in it; adding it to
# the cluster (citus_add_node) is the caller's step.
start_citus_worker() {
    local port=$1 dir=$CLUSTER_DIR/worker-$1
    as_postgres "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
    as_postgres env -u RUST_BACKTRACE "$PG_BIN/pg_ctl" -D "$dir" -l "$dir.log" -w \
        -o "-k $CLUSTER_DIR -p $port $EXTRA_SERVER_OPTIONS" start >/dev/null
    CITUS_WORKER_PORTS+=("$port")
    sql -p "$port" -c "CREATE EXTENSION citus"
}

stop_citus() {
    local port
    for port in "${CITUS_WORKER_PORTS[@]}"; do
        as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/worker-$port" -m fast -w stop >/dev/null 2>&1 || true
    done
    stop_cluster
}

# psql against the throwaway cluster, stopping at the first error.
sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# Loads the SIFT 5k base set as items(id, embedding vector(128)).
load_sift5k() {
    sql -c "CREATE TABLE items (id int PRIMARY KEY, embedding vector(128))"
    # 128 integer components, then the id, tab-separated.
    awk -F'\t' '{ v = $1; for (i = 2; i <= 128; i++) v = v "," $i; print $129 "\t[" v "]" }' \
        "$DATA/sift5k-ngt/sift-dataset-5k.tsv" | sql -c "COPY items (id, embedding) FROM STDIN"
}

# Runs the index's own verify function (hnsw_verify or ivfflat_verify, one
# row per problem); prints what it found and fails unless it found nothing.
verify_index() {
    local index=$1 am problems
    am=$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = '$index'::regclass")
    problems=$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT format('block %s item %s: %s', block, item, problem) FROM ${am}_verify('$index'::regclass)") || return 1
    if [ -n "$problems" ]; then
        echo "verify $index ($am) found problems:" >&2
        echo "$problems" | head -20 >&2
        return 1
    fi
    echo "verify $index ($am): clean"
}
