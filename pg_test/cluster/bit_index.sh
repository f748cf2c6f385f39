#!/usr/bin/env bash
# hnsw and ivfflat on bit columns, on real data: 10,000 pydoc-minilm
# sentence embeddings, binary-quantized to bit(384). recall@10 of 1,000
# quantized queries against exact Hamming (and Jaccard) search, counting a
# row as near as the tenth as found (integer distances tie): hnsw
# bit_hamming_ops and bit_jaccard_ops at ef_search 40, ivfflat
# bit_hamming_ops at 10 of 100 probes, and exact with every probe.
# pgvector's binary-quantization recipe (an expression index on
# binary_quantize(embedding)::bit(384), 100 candidates re-ranked by cosine
# distance) against exact cosine search; rows inserted after the build are
# found by their own bits; the verify functions are clean; and the last two
# again after a crash (immediate stop, WAL replay).
#   bash pg_test/cluster/bit_index.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"
test_py="$(dirname "${BASH_SOURCE[0]}")/bit_index.py"
DATA=$DATA "$CLIENTS_VENV/bin/python" -u "$test_py"
# WAL replay rebuilds both indexes as they were: the inserted rows are found, verify is clean
crash_and_restart
DATA=$DATA "$CLIENTS_VENV/bin/python" -u "$test_py" recovered
