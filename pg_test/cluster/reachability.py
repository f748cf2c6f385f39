"""Own-vector reachability (run by reachability.sh): every row of an hnsw
index must come back when searched for with its own vector.

Connects through the libpq environment of the throwaway cluster. For each
data set and scenario, one table keeps its index for reachability.sh to
verify afterwards. Prints a line per scenario and fails if more than 1 row
in 10,000 (rounded down) is missing in any of them, except where the bar is
not met yet (KNOWN_SHORTFALLS), which may miss KNOWN_SHORTFALL_ROWS and say so.
"""
import os
import sys
import threading

import numpy as np
import psycopg

DATA = os.environ["DATA"]
CLIENTS = 4
BATCH = 500
# Not yet at the bar (issue 7): on SIFT 5k, four clients inserting at once
# leave 1 of 5,000 rows unfindable in about one run in four (0 in the
# others; sequential inserts: 0 in every run). Any step back still fails.
KNOWN_SHORTFALLS = {("sift5k", 2)}
KNOWN_SHORTFALL_ROWS = 1


def sift5k():
    rows = np.loadtxt(f"{DATA}/sift5k-ngt/sift-dataset-5k.tsv", delimiter="\t", usecols=range(128), dtype=np.float32)
    return rows, "vector_l2_ops", "<->"


def pydoc():
    raw = np.fromfile(f"{DATA}/pydoc-minilm/base.fvecs", dtype=np.int32)
    dim = raw[0]
    rows = raw.reshape(-1, dim + 1)[:, 1:].view(np.float32)
    return rows, "vector_cosine_ops", "<=>"


def literal(vector):
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def create_table(conn, table, dim, opclass, build_index_first):
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, embedding vector({dim}))")
    if build_index_first:
        conn.execute(f"CREATE INDEX {table}_index ON {table} USING hnsw (embedding {opclass})")


def insert_rows(table, vectors, ids):
    """One client inserting rows in order, a transaction per batch."""
    with psycopg.connect(autocommit=False) as conn:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} (id, embedding) VALUES (%s, %s::vector)",
                                [(int(i), literal(vectors[i])) for i in chunk])
            conn.commit()


def missing_rows(conn, table, operator):
    """Rows not among the 100 nearest to their own vector, found by one
    statement that runs an index search per row inside the server."""
    conn.execute("SET enable_seqscan = off")
    conn.execute("SET hnsw.ef_search = 100")
    return conn.execute(
        f"SELECT count(*) FROM {table} a WHERE a.id <> ALL (ARRAY("
        f"SELECT b.id FROM {table} b ORDER BY b.embedding {operator} a.embedding LIMIT 100))").fetchone()[0]


def main(names):
    failed = False
    with psycopg.connect(autocommit=True) as conn:
        for name in names:
            vectors, opclass, operator = {"sift5k": sift5k, "pydoc": pydoc}[name]()
            n, dim = vectors.shape
            allowed = n // 10000
            ids = np.arange(n)
            scenarios = {
                "bulk build": lambda table: (insert_rows(table, vectors, ids),
                                             conn.execute(f"CREATE INDEX {table}_index ON {table} USING hnsw (embedding {opclass})")),
                "one client inserting": lambda table: insert_rows(table, vectors, ids),
                f"{CLIENTS} clients inserting at once": lambda table: run_clients(table, vectors, ids),
            }
            for number, (scenario, load) in enumerate(scenarios.items()):
                table = f"{name}_{number}"
                create_table(conn, table, dim, opclass, build_index_first=number > 0)
                load(table)
                missing = missing_rows(conn, table, operator)
                known = (name, number) in KNOWN_SHORTFALLS
                limit = max(allowed, KNOWN_SHORTFALL_ROWS) if known else allowed
                ok = missing <= limit
                failed |= not ok
                note = f"bar {allowed}; known shortfall, {limit} allowed" if known else f"allowed {allowed}"
                print(f"{'ok  ' if ok else 'FAIL'} {name} ({n} rows), {scenario}: "
                      f"{missing} rows not found by their own vector ({note})")
    return 1 if failed else 0


def run_clients(table, vectors, ids):
    """CLIENTS clients start together on an empty index, each inserting
    every CLIENTS-th row; any client's error fails the test."""
    errors = []
    start = threading.Barrier(CLIENTS)

    def client(part):
        try:
            start.wait()
            insert_rows(table, vectors, part)
        except Exception as e:  # reported below, in the main thread
            errors.append(e)

    threads = [threading.Thread(target=client, args=(ids[c::CLIENTS],)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"a client failed: {errors[0]!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
