"""Recall past 2,000 dimensions (run by high_dimensions.sh), through the
libpq environment of the throwaway cluster."""
import os
import struct
import sys

import numpy as np
import psycopg

from checks import check, summary
from vectors import pydoc_minilm

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from isometry import embed  # noqa: E402

ROWS = 2000
INSERTED = 100
QUERIES = 100
EF_SEARCH = 10
DIMENSIONS = [3072, 16000]


def copy_binary(conn, table, vectors, first_id=0):
    """Loads (id, vector) rows by binary COPY: vector_recv's format."""
    rows = [struct.pack(">hii", 2, 4, first_id + i) + struct.pack(">iHH", 4 + 4 * len(v), len(v), 0) + v.astype(">f4").tobytes()
            for i, v in enumerate(vectors)]
    stream = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + b"".join(rows) + struct.pack(">h", -1)
    with conn.cursor().copy(f"COPY {table} (id, embedding) FROM STDIN WITH (FORMAT binary)") as copy:
        copy.write(stream)


def recall(conn, table, queries, truth):
    conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
    hits = 0
    for query, exact in zip(queries, truth):
        literal = "[" + ",".join(repr(float(x)) for x in query) + "]"
        found = [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY embedding <=> %s::vector LIMIT 10", (literal,))]
        hits += len(set(found) & set(exact))
    return hits / (10 * len(queries))


def unfound_own_vectors(conn, table, ids):
    """Rows among `ids` not in the 10 nearest to their own vector."""
    conn.execute("SET hnsw.ef_search = 100")
    return conn.execute(
        f"SELECT count(*) FROM {table} t WHERE t.id = ANY(%s) AND t.id NOT IN "
        f"(SELECT s.id FROM {table} s ORDER BY s.embedding <=> t.embedding LIMIT 10)", (list(ids),)).fetchone()[0]


def verify(conn, table, when):
    problems = conn.execute(f"SELECT block, item, problem FROM hnsw_verify('{table}_index')").fetchall()
    check(f"{table}: hnsw_verify is clean {when}", not problems, lambda: repr(problems[:3]))


def main():
    base = pydoc_minilm("base.fvecs", ROWS + INSERTED).astype(np.float64)
    queries = pydoc_minilm("query.fvecs", QUERIES).astype(np.float64)
    cosine = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    exact = np.argsort(-(cosine(queries) @ cosine(base[:ROWS]).T), axis=1)[:, :10]
    sets = {384: (base.astype(np.float32), queries.astype(np.float32))}
    for dim in DIMENSIONS:
        both = embed(np.vstack([base, queries]), dim, seed=dim)
        sets[dim] = (both[:len(base)], both[len(base):])
    with psycopg.connect(autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        recalls = {}
        for dim, (vectors, turned_queries) in sets.items():
            table = f"d{dim}"
            conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, embedding vector({dim}))")
            copy_binary(conn, table, vectors[:ROWS])
            conn.execute(f"CREATE INDEX {table}_index ON {table} USING hnsw (embedding vector_cosine_ops)")
            recalls[dim] = recall(conn, table, turned_queries, exact)
            print(f"{table}: recall@10 at ef_search {EF_SEARCH}: {recalls[dim]:.3f}")
            verify(conn, table, "after the build")
            # Rows inserted one by one after the build.
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} (id, embedding) VALUES (%s, %s::vector)",
                                [(ROWS + i, "[" + ",".join(repr(float(x)) for x in v) + "]") for i, v in enumerate(vectors[ROWS:])])
            missing = unfound_own_vectors(conn, table, range(ROWS, ROWS + INSERTED))
            check(f"{table}: each of {INSERTED} inserted rows is found by its own vector ({missing} missing)", missing == 0)
            conn.execute(f"DELETE FROM {table} WHERE id % 10 = 0")
            conn.execute(f"VACUUM {table}")
            verify(conn, table, "after DELETE and VACUUM")
            left = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            missing = unfound_own_vectors(conn, table, range(0, ROWS + INSERTED))
            check(f"{table}: after VACUUM each of {left} rows is found by its own vector ({missing} missing)", missing <= 1)
        for dim in DIMENSIONS:
            check(f"recall at {dim} dimensions ({recalls[dim]:.3f}) is within 0.02 of 384's ({recalls[384]:.3f})",
                  recalls[dim] >= recalls[384] - 0.02)
    return summary("high_dimensions")


if __name__ == "__main__":
    sys.exit(main())
