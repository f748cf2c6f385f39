#!/usr/bin/env bash
# CREATE INDEX ... USING hnsw reports its progress and can be cancelled
# while it builds the graph. Another session samples
# pg_stat_progress_create_index during a two-thread build: the graph and
# findability phases must each show tuples_done advancing towards
# tuples_total. A second build is cancelled in the graph phase and must
# stop within a second or two, leaving no index behind.
#   bash pg_test/cluster/build_progress.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"
"$CLIENTS_VENV/bin/python" -u "$(dirname "${BASH_SOURCE[0]}")/build_progress.py"
