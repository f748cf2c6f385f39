#!/usr/bin/env bash
# hnsw and ivfflat on halfvec columns, on real data: 10,000 pydoc-minilm
# sentence embeddings stored as halfvec(384) beside the same rows as
# vector(384). recall@10 of 1,000 queries against exact (float4) search
# must be within 0.01 of the vector index's with the same settings, for
# hnsw (cosine, at ef_search 10, where recall is below 1) and ivfflat
# (cosine, 100 lists, 5 probes); the L2, inner-product and L1 opclasses
# return what an exact scan of the halfvec column returns; rows inserted
# after the build are found by their own vector; the verify functions are
# clean; and the last two again after a crash (immediate stop, WAL replay).
#   bash pg_test/cluster/halfvec_index.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"
test_py="$(dirname "${BASH_SOURCE[0]}")/halfvec_index.py"
DATA=$DATA "$CLIENTS_VENV/bin/python" -u "$test_py"
# WAL replay rebuilds both indexes as they were: the inserted rows are found, verify is clean
crash_and_restart
DATA=$DATA "$CLIENTS_VENV/bin/python" -u "$test_py" recovered
