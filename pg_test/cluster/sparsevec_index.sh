#!/usr/bin/env bash
# hnsw on sparsevec columns, on real data: TF-IDF vectors of 20,000
# pydoc-minilm docstrings over the words at least two of them use (about
# 20,000 dimensions, a few dozen non-zeros each; sparsevec_index.py says
# how they are derived). recall@10 of 500 query texts against exact search
# for each opclass at ef_search 100, counting a row as near as the tenth as
# found (identical docstrings tie); rows inserted after the build are
# found by their own vector (all but 1%: own-vector search is not exact on
# this data) and hnsw_verify is clean after a VACUUM; after a crash
# (immediate stop, WAL replay) the index verifies clean, the inserted rows
# are still found, and new inserts are found too.
#   bash pg_test/cluster/sparsevec_index.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"
test_py="$(dirname "${BASH_SOURCE[0]}")/sparsevec_index.py"
DATA=$DATA "$CLIENTS_VENV/bin/python" -u "$test_py" build
crash_and_restart
DATA=$DATA "$CLIENTS_VENV/bin/python" -u "$test_py" recovered
