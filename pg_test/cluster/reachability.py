"""Own-vector reachability (run by reachability.sh): every row of an hnsw
index must come back when searched for with its own vector.

Connects through the libpq environment of the throwaway cluster. The bar
is a rate, at most 1 missing row in 10,000, so each scenario runs as many
rounds as it takes to cover 10,000 rows (two for SIFT 5k, one for
pydoc-minilm) and may miss 1 row per 10,000 covered, rounded down. The
last round's table keeps its index for reachability.sh to verify. Prints a
line per scenario and fails if any scenario misses more.
"""
import os
import sys
import threading

import numpy as np
import psycopg

from vectors import literal

DATA = os.environ["DATA"]
CLIENTS = 4
BATCH = 500
BAR_ROWS = 10000


def sift5k():
    rows = np.loadtxt(f"{DATA}/sift5k-ngt/sift-dataset-5k.tsv", delimiter="\t", usecols=range(128), dtype=np.float32)
    return rows, "vector_l2_ops", "<->"


def pydoc():
    raw = np.fromfile(f"{DATA}/pydoc-minilm/base.fvecs", dtype=np.int32)
    dim = raw[0]
    rows = raw.reshape(-1, dim + 1)[:, 1:].view(np.float32)
    return rows, "vector_cosine_ops", "<=>"


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
            rounds = -(-BAR_ROWS // n)
            allowed = rounds * n // BAR_ROWS
            ids = np.arange(n)
            scenarios = {
                "bulk build": lambda table: (insert_rows(table, vectors, ids),
                                             conn.execute(f"CREATE INDEX {table}_index ON {table} USING hnsw (embedding {opclass})")),
                "one client inserting": lambda table: insert_rows(table, vectors, ids),
                f"{CLIENTS} clients inserting at once": lambda table: run_clients(table, vectors, ids),
            }
            for number, (scenario, load) in enumerate(scenarios.items()):
                table = f"{name}_{number}"
                missing = []
                for _ in range(rounds):
                    create_table(conn, table, dim, opclass, build_index_first=number > 0)
                    load(table)
                    missing.append(missing_rows(conn, table, operator))
                ok = sum(missing) <= allowed
                failed |= not ok
                print(f"{'ok  ' if ok else 'FAIL'} {name} ({rounds} x {n} rows), {scenario}: "
                      f"{' + '.join(map(str, missing))} rows not found by their own vector (allowed {allowed})")
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
