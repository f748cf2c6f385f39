#!/usr/bin/env bash
# Sets up everything, starts a throwaway PostgreSQL with vector_ext, loads the
# SIFT 5k set and prints the nearest neighbours of a query, exactly and
# through an HNSW index; then semantic search over pydoc-minilm's Python
# docstrings, plain and filtered inside the index by a column.
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

say "semantic search over 41,159 Python docstrings (pydoc-minilm: 384-dimensional sentence embeddings, cosine)"
sql -c "CREATE TABLE docs (id int PRIMARY KEY, chars int, body text, embedding vector(384))"
python3 "$REPO/scripts/pydoc_rows.py" "$DATA" base | sql -c "COPY docs (id, chars, body, embedding) FROM STDIN"
# The column after the vector is a filter column: the index keeps each
# row's value and applies a WHERE on it while it walks the graph.
sql -c "SET maintenance_work_mem = '256MB'" -c "CREATE INDEX ON docs USING hnsw (embedding vector_cosine_ops, chars)"
IFS=$'\t' read -r question embedding < <(python3 "$REPO/scripts/pydoc_rows.py" "$DATA" query 93)
say "the 5 docstrings nearest to the query \"$question\""
psql -X -v ON_ERROR_STOP=1 -c "SELECT id, round((embedding <=> '$embedding')::numeric, 3) AS cosine_distance, body
                  FROM docs ORDER BY embedding <=> '$embedding' LIMIT 5"
say "the same among the short docstrings (WHERE chars <= 40): the index evaluates the condition (Index Cond)"
sql -c "ANALYZE docs"
psql -X -v ON_ERROR_STOP=1 \
    -c "PREPARE nearest_short(vector) AS SELECT id, chars, round((embedding <=> \$1)::numeric, 3) AS cosine_distance, body
        FROM docs WHERE chars <= 40 ORDER BY embedding <=> \$1 LIMIT 5" \
    -c "SET plan_cache_mode = force_generic_plan" \
    -c "EXPLAIN (COSTS OFF) EXECUTE nearest_short('$embedding')" \
    -c "EXECUTE nearest_short('$embedding')"
