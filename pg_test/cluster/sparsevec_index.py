"""hnsw on sparsevec columns (run by sparsevec_index.sh), through the libpq
environment of the throwaway cluster.

The sparse set is pydoc-minilm's texts as TF-IDF vectors (vectors.tf_idf
says how they are derived).

  python sparsevec_index.py build    recall of each opclass, inserts, verify
  python sparsevec_index.py recovered  after a crash: verify, inserted rows found
"""
import sys

import numpy as np
import psycopg

from checks import check, summary
from vectors import ExactSparse, sparse_literal, tf_idf

ROWS = 20_000
INSERTED = 200
QUERIES = 500


def tie_aware_recall(conn, operator, exact, queries, dims):
    """Share of the first 10 rows an index scan returns that are as near as
    the exact tenth nearest (identical docstrings tie)."""
    hits = total = 0
    for query in queries:
        distances = exact.distances(operator, query)
        finite = distances[np.isfinite(distances)]
        if len(finite) < 10:
            continue
        tenth = np.sort(finite)[9]
        found = [r[0] for r in conn.execute(f"SELECT id FROM docs ORDER BY v {operator} %s::sparsevec LIMIT 10", (sparse_literal(query, dims),))]
        hits += sum(1 for i in found if distances[i] <= tenth * (1 + 1e-6) + 1e-9)
        total += 10
    return hits / total


def copy_rows(conn, vectors, first_id, dims):
    with conn.cursor().copy("COPY docs (id, v) FROM STDIN") as copy:
        for i, v in enumerate(vectors):
            copy.write_row((first_id + i, sparse_literal(v, dims)))


# Own-vector search is not exact on this data (recall@10 0.86 at
# ef_search 100): a row inserted among near-orthogonal texts can be missed
# though it is reachable (1 of 400 in one CI run of three). Reachability is
# what is guaranteed, after a VACUUM (hnsw_verify); findability is held to
# this share.
MAX_UNFOUND_SHARE = 0.01


def unfound_inserted(conn, operator):
    """Inserted rows an index scan for their own vector does not return
    (or return a row with the same vector)."""
    return conn.execute(
        f"SELECT count(*) FROM docs t WHERE t.id >= {ROWS} AND t.v IS NOT NULL AND l2_norm(t.v) > 0 AND t.v NOT IN "
        f"(SELECT s.v FROM docs s ORDER BY s.v {operator} t.v LIMIT 10)").fetchone()[0]


# Short texts share few words, so many pairs are orthogonal and a graph
# walk has little to go on: pgvector 0.8.6's hnsw reaches the same recall
# on this set (scripts/bench_sparse.sh, 41k rows: cosine 0.84 at
# ef_search 100, inner product 0.75; ours 0.86 and 0.74). The floors are a
# few points under what this build measures at ef_search 100.
EF_SEARCH = 100
OPCLASSES = [
    ("sparsevec_cosine_ops", "<=>", 0.80),
    ("sparsevec_ip_ops", "<#>", 0.70),
    ("sparsevec_l2_ops", "<->", 0.80),
    ("sparsevec_l1_ops", "<+>", 0.80),
]


def build(dims, base, queries):
    exact = ExactSparse(base[:ROWS])
    with psycopg.connect(autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(f"CREATE TABLE docs (id int PRIMARY KEY, v sparsevec({dims}))")
        copy_rows(conn, base[:ROWS], 0, dims)
        conn.execute("VACUUM ANALYZE docs")
        nonzeros = [len(v) for v in base[:ROWS]]
        print(f"{ROWS} texts as sparsevec({dims}): {np.mean(nonzeros):.1f} non-zeros on average, {max(nonzeros)} at most, "
              f"{sum(1 for n in nonzeros if n == 0)} empty")
        conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        for opclass, operator, floor in OPCLASSES:
            conn.execute(f"CREATE INDEX docs_v ON docs USING hnsw (v {opclass})")
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT id FROM docs ORDER BY v {operator} '{sparse_literal(queries[0], dims)}' LIMIT 10"))
            check(f"{opclass}: the query uses the index", "Index Scan using docs_v" in plan, plan)
            recall = tie_aware_recall(conn, operator, exact, queries, dims)
            print(f"hnsw {opclass}: recall@10 {recall:.3f} at ef_search {EF_SEARCH}")
            check(f"hnsw {opclass}: recall@10 at least {floor}", recall >= floor, f"{recall:.3f}")
            conn.execute("DROP INDEX docs_v")

        # rows inserted after the build are found; the index is then crashed
        conn.execute("CREATE INDEX docs_v ON docs USING hnsw (v sparsevec_cosine_ops)")
        copy_rows(conn, base[ROWS:ROWS + INSERTED], ROWS, dims)
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET hnsw.ef_search = 100")
        conn.execute("VACUUM docs")
        unfound = unfound_inserted(conn, "<=>")
        check(f"rows inserted after the build are found by their own vector (all but {MAX_UNFOUND_SHARE:.0%})",
              unfound <= MAX_UNFOUND_SHARE * INSERTED, f"{unfound} of {INSERTED}")
        problems = conn.execute("SELECT * FROM hnsw_verify('docs_v')").fetchall()
        check("hnsw_verify is clean after the inserts and a VACUUM", not problems, lambda: repr(problems[:3]))


def recovered(dims, base):
    with psycopg.connect(autocommit=True) as conn:
        problems = conn.execute("SELECT * FROM hnsw_verify('docs_v')").fetchall()
        check("hnsw_verify is clean after crash recovery", not problems, lambda: repr(problems[:3]))
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET hnsw.ef_search = 100")
        unfound = unfound_inserted(conn, "<=>")
        check(f"after recovery, the inserted rows are found by their own vector (all but {MAX_UNFOUND_SHARE:.0%})",
              unfound <= MAX_UNFOUND_SHARE * INSERTED, f"{unfound} of {INSERTED}")
        copy_rows(conn, base[ROWS + INSERTED:ROWS + 2 * INSERTED], ROWS + INSERTED, dims)
        conn.execute("VACUUM docs")
        problems = conn.execute("SELECT * FROM hnsw_verify('docs_v')").fetchall()
        check("hnsw_verify is clean after inserts since recovery and a VACUUM", not problems, lambda: repr(problems[:3]))
        unfound = unfound_inserted(conn, "<=>")
        check(f"rows inserted after recovery are found too (all but {MAX_UNFOUND_SHARE:.0%})",
              unfound <= MAX_UNFOUND_SHARE * 2 * INSERTED, f"{unfound} of {2 * INSERTED}")


def main():
    dims, base, queries = tf_idf()
    if sys.argv[1] == "build":
        build(dims, base, queries[:QUERIES])
    else:
        recovered(dims, base)
    return summary(f"sparsevec_index {sys.argv[1]}")


if __name__ == "__main__":
    sys.exit(main())
