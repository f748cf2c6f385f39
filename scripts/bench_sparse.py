#!/usr/bin/env python3
"""Sparse-vector indexes, vector_ext against pgvector 0.8.6 on the same server.

pydoc-minilm's 41,159 base texts and its first 200 query texts as TF-IDF
sparsevecs (pg_test/cluster/vectors.py's tf_idf: about 10,800 dimensions,
10 non-zeros per text). For each extension, in its own database (vector_ext
in the default one, pgvector in `pgvector`), one connection, parallel query
off, hnsw (m = 16, ef_construction = 64) with sparsevec_cosine_ops and
sparsevec_ip_ops: build seconds, index MiB; per ef_search 40 / 100 / 200 /
400: recall@10 against exact search (a returned row as near as the tenth
counts: identical docstrings tie) and the backend's CPU per query
(bench.run_timed). Prints a markdown table with the ratios vector_ext /
pgvector.
"""
import os
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

from bench import DATA, print_ratio_table, run_timed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pg_test" / "cluster"))
from vectors import ExactSparse, sparse_literal, tf_idf  # noqa: E402

QUERIES = 200


def recall(results, exact, operator, queries):
    hits = total = 0
    for found, query in zip(results, queries):
        distances = exact.distances(operator, query)
        finite = np.sort(distances[np.isfinite(distances)])
        if len(finite) < 10:
            continue
        tenth = finite[9]
        hits += sum(1 for i in found[:10] if distances[i] <= tenth * (1 + 1e-6) + 1e-9)
        total += 10
    return hits / total


def measure(database, dims, base, queries, exact):
    """{row label: value} for one extension."""
    out = {}
    with psycopg.connect(dbname=database, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute(f"CREATE TABLE docs (id int PRIMARY KEY, v sparsevec({dims}))")
        with conn.cursor().copy("COPY docs (id, v) FROM STDIN") as copy:
            for i, vector in enumerate(base):
                copy.write_row((i, sparse_literal(vector, dims)))
        conn.execute("VACUUM ANALYZE docs")
        for opclass, operator in [("sparsevec_cosine_ops", "<=>"), ("sparsevec_ip_ops", "<#>")]:
            started = time.perf_counter()
            conn.execute(f"CREATE INDEX docs_v ON docs USING hnsw (v {opclass}) WITH (m = 16, ef_construction = 64)")
            out[f"{opclass} build (s)"] = time.perf_counter() - started
            out[f"{opclass} index size (MiB)"] = conn.execute("SELECT pg_relation_size('docs_v')").fetchone()[0] / 2**20
            search = f"SELECT id FROM docs ORDER BY v {operator} %s::sparsevec LIMIT 10"
            params = [(sparse_literal(q, dims),) for q in queries]
            for ef in (40, 100, 200, 400):
                conn.execute(f"SET hnsw.ef_search = {ef}")
                timing = run_timed(conn, search, params, min_seconds=2.0)
                out[f"{opclass} ef_search {ef}: recall@10"] = recall(timing.results, exact, operator, queries)
                out[f"{opclass} ef_search {ef}: CPU per query (us)"] = timing.cpu_us_each
            conn.execute("DROP INDEX docs_v")
    return out


def main():
    os.environ.setdefault("DATA", str(DATA))
    dims, base, queries = tf_idf()
    queries = queries[:QUERIES]
    exact = ExactSparse(base)
    ours = measure(os.environ.get("PGDATABASE", "postgres"), dims, base, queries, exact)
    theirs = measure("pgvector", dims, base, queries, exact)
    print(f"pydoc-minilm's {len(base):,} texts as TF-IDF sparsevec({dims}), "
          f"{np.mean([len(v) for v in base]):.1f} non-zeros each on average, {len(queries)} query texts\n")
    print_ratio_table(ours, theirs)


if __name__ == "__main__":
    main()
