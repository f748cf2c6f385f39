#!/usr/bin/env bash
# Sets up everything, starts a throwaway PostgreSQL with vector_ext, loads the
# SIFT 5k set and prints the nearest neighbours of a query, exactly.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_tools
install_extension
start_cluster
say "loading 5,000 SIFT vectors (128 dimensions)"
sql -c "CREATE EXTENSION vector_ext"
load_sift5k

query=$(head -n 1 "$DATA/sift5k-ngt/sift-query-3.tsv" | tr '\t' ',' | sed 's/^/[/; s/$/]/')
say "the 5 nearest items to the first NGT query, by exact L2 search"
psql -X -v ON_ERROR_STOP=1 -c "SELECT id, round((embedding <-> '$query')::numeric, 2) AS l2_distance
                  FROM items ORDER BY embedding <-> '$query' LIMIT 5"
say "the same query through an HNSW index"
sql -c "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)" 2>/dev/null || { echo "(no hnsw access method in this build)"; exit 0; }
psql -X -v ON_ERROR_STOP=1 -c "SET enable_seqscan = off" -c "SELECT id, round((embedding <-> '$query')::numeric, 2) AS l2_distance
                  FROM items ORDER BY embedding <-> '$query' LIMIT 5"
