"""Single-row INSERT latency while VACUUM repairs an hnsw index (run by
bench_vacuum_inserts.sh). pydoc-minilm is loaded and indexed; one client
inserts rows one per transaction and its latencies are recorded, first on
a quiet index, then while another session VACUUMs after 10% of the rows
were deleted (the repair pass). Prints a markdown table of p50/p99/max and
the ratio of the p99s (the bar: at most 5x).
"""
import os
import threading
import time

import numpy as np
import psycopg

DATA = os.environ["DATA"]


def literal(v):
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def pydoc():
    raw = np.fromfile(f"{DATA}/pydoc-minilm/base.fvecs", dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].view(np.float32)


def insert_latencies(conn, vectors, first_id, stop=None, count=None):
    """Inserts rows one per transaction until `stop` is set (or `count` rows);
    returns their latencies in ms."""
    latencies = []
    i = 0
    while (stop is None or not stop.is_set()) and (count is None or i < count):
        started = time.perf_counter()
        conn.execute("INSERT INTO items (id, embedding) VALUES (%s, %s::vector)", (first_id + i, literal(vectors[i % len(vectors)])))
        latencies.append((time.perf_counter() - started) * 1000)
        i += 1
    return latencies


def row(name, latencies):
    lat = np.array(latencies)
    return f"| {name} | {len(lat)} | {np.percentile(lat, 50):.2f} | {np.percentile(lat, 99):.2f} | {lat.max():.2f} |"


def main():
    vectors = pydoc()
    n = len(vectors)
    with psycopg.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(384))")
        with conn.cursor().copy("COPY items (id, embedding) FROM STDIN") as copy:
            for i, v in enumerate(vectors):
                copy.write_row((i, literal(v)))
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
        extra = vectors[::-1]
        quiet = insert_latencies(conn, extra, 10_000_000, count=1000)
        conn.execute("DELETE FROM items WHERE id %% 10 = 3 AND id < %s", (n,))
        stop = threading.Event()
        vacuum_seconds = []

        def vacuum():
            with psycopg.connect(autocommit=True) as v:
                started = time.perf_counter()
                v.execute("VACUUM items")
                vacuum_seconds.append(time.perf_counter() - started)
            stop.set()

        t = threading.Thread(target=vacuum)
        t.start()
        during = insert_latencies(conn, extra, 20_000_000, stop=stop)
        t.join()
    print(f"INSERT latency (ms), one client, pydoc-minilm {n} x 384, hnsw cosine; VACUUM of 10% deleted took {vacuum_seconds[0]:.1f} s\n")
    print("| phase | inserts | p50 | p99 | max |\n|---|---|---|---|---|")
    print(row("quiet index", quiet))
    print(row("during VACUUM", during))
    print(f"\np99 during VACUUM / p99 quiet: {np.percentile(during, 99) / np.percentile(quiet, 99):.2f}x")


if __name__ == "__main__":
    main()
