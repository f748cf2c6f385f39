#!/usr/bin/env python3
"""One server against a two-worker Citus cluster, on this machine.

Run by bench_citus.sh, which starts a Citus coordinator and two workers
(lib.sh: start_citus_coordinator, start_citus_worker). pydoc-minilm's 41,159
base vectors (cosine) go into three tables of the coordinator:
  - `items_local`, an ordinary table: one server;
  - `items_2` and `items_4`, distributed by id over 2 and 4 shards (one and
    two per worker).
Each gets hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction =
64). Printed, for each: the load and build wall time (the shards' indexes
build concurrently on the workers), recall@10 of 200 queries against
groundtruth.ivecs at several hnsw.ef_search (SET LOCAL, which Citus passes
to the shard queries), and at ef_search 40 the throughput of 1, 2, 4 and 8
clients (one connection each, prepared top-10 queries for SECONDS seconds):
queries per second, median and 95th percentile latency, and the machine's
CPU per query (all processes, from /proc/stat, the Python clients too).
  python bench_citus.py
"""
import os
import struct
import sys
import threading
import time

import numpy as np
import psycopg

from bench import DATA, read_vecs, vector_literal

QUERIES = 200
EF_SEARCH = (10, 20, 40, 80)
THROUGHPUT_EF = 40
CLIENTS = tuple(int(c) for c in os.environ.get("BENCH_CLIENTS", "1 2 4 8").split())
SECONDS = 8
K = 10
# table: its shard count (None: an ordinary table on the coordinator)
TABLES = {"items_local": None, "items_2": 2, "items_4": 4}


def label(table):
    shards = TABLES[table]
    return "one server" if shards is None else f"Citus, 2 workers, {shards} shards"


def log(message):
    print(message, file=sys.stderr, flush=True)


def copy_rows(conn, table, vectors):
    """Binary COPY of (id, embedding), ids 0..N-1."""
    dim = vectors.shape[1]
    row = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("vec_len", ">i4"),
                    ("dim", ">u2"), ("unused", ">u2"), ("vec", ">f4", (dim,))])
    rows = np.zeros(len(vectors), dtype=row)
    rows["fields"], rows["id_len"], rows["id"] = 2, 8, np.arange(len(vectors))
    rows["vec_len"], rows["dim"], rows["vec"] = 4 + 4 * dim, dim, vectors
    payload = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + rows.tobytes() + struct.pack(">h", -1)
    with conn.cursor().copy(f"COPY {table} (id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)


def timed(conn, sql):
    started = time.perf_counter()
    conn.execute(sql)
    return time.perf_counter() - started


def recall(conn, table, literals, truth, ef_search):
    hits = 0
    sql = f"SELECT id FROM {table} ORDER BY embedding <=> %s::vector LIMIT {K}"
    for literal, exact in zip(literals, truth):
        with conn.transaction():
            conn.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
            hits += len({r[0] for r in conn.execute(sql, (literal,))} & set(exact[:K].tolist()))
    return hits / (K * len(literals))


def busy_jiffies():
    """The machine's CPU time so far (all cores, all processes), in clock ticks."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # everything but idle and iowait


def throughput(table, literals, clients):
    """Queries per second of `clients` connections running top-10 queries for SECONDS."""
    latencies = [[] for _ in range(clients)]
    sql = f"SELECT id FROM {table} ORDER BY embedding <=> %s::vector LIMIT {K}"
    conns = [psycopg.connect(autocommit=True) for _ in range(clients)]
    for conn in conns:  # one round first: plans prepared, connections to the workers open
        for literal in literals[:5]:
            conn.execute(sql, (literal,), prepare=True).fetchall()
    barrier = threading.Barrier(clients + 1)

    def client(i):
        cur = conns[i].cursor()
        barrier.wait()
        deadline = time.perf_counter() + SECONDS
        n = i
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            cur.execute(sql, (literals[n % len(literals)],), prepare=True)
            cur.fetchall()
            latencies[i].append((time.perf_counter() - t0) * 1e3)
            n += clients

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    jiffies = busy_jiffies()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    cpu_ms = (busy_jiffies() - jiffies) * 1e3 / os.sysconf("SC_CLK_TCK")
    for conn in conns:
        conn.close()
    every = np.concatenate([np.array(l) for l in latencies])
    return len(every) / seconds, np.percentile(every, 50), np.percentile(every, 95), cpu_ms / len(every)


def main():
    folder = DATA / "pydoc-minilm"
    base = read_vecs(folder / "base.fvecs", "<f4").astype(np.float32)
    queries = read_vecs(folder / "query.fvecs", "<f4")[:QUERIES]
    truth = read_vecs(folder / "groundtruth.ivecs", "<i4")[:QUERIES]
    literals = [vector_literal(q) for q in queries]
    conn = psycopg.connect(autocommit=True)
    workers = conn.execute("SELECT count(*) FROM citus_get_active_worker_nodes()").fetchone()[0]
    conn.execute("CREATE EXTENSION vector_ext")
    conn.execute("SET citus.propagate_set_commands = 'local'")
    loads, builds = {}, {}
    for table, shards in TABLES.items():
        conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding vector({base.shape[1]}))")
        if shards:
            conn.execute(f"SELECT create_distributed_table('{table}', 'id', shard_count := {shards})")
        log(f"loading and indexing {table}")
        started = time.perf_counter()
        copy_rows(conn, table, base)
        loads[table] = time.perf_counter() - started
        builds[table] = timed(conn, f"CREATE INDEX ON {table} USING hnsw (embedding vector_cosine_ops) "
                                    "WITH (m = 16, ef_construction = 64)")
        conn.execute(f"VACUUM ANALYZE {table}")

    print(f"\n## One server against Citus ({workers} workers) on {os.cpu_count()} cores\n")
    print(f"pydoc-minilm, {len(base):,} x {base.shape[1]} cosine; the coordinator, both workers and the clients share this machine.\n")
    print("| | load (COPY) | CREATE INDEX | " + " | ".join(f"recall@10 ef {ef}" for ef in EF_SEARCH) + " |")
    print("|---|---|---|" + "---|" * len(EF_SEARCH))
    for table in TABLES:
        log(f"recall of {table}")
        recalls = [recall(conn, table, literals, truth, ef) for ef in EF_SEARCH]
        print(f"| {label(table)} | {loads[table]:.1f} s | {builds[table]:.1f} s | " + " | ".join(f"{r:.3f}" for r in recalls) + " |")

    print(f"\nThroughput at hnsw.ef_search = {THROUGHPUT_EF} (ALTER DATABASE ... SET, which reaches the workers' sessions), "
          f"{SECONDS} s per row; CPU is the whole machine's per query, the benchmark's own clients included.\n")
    conn.execute(f"ALTER DATABASE postgres SET hnsw.ef_search = {THROUGHPUT_EF}")
    print("| | clients | queries/s | p50 | p95 | CPU per query | q/s against one server |")
    print("|---|---|---|---|---|---|---|")
    single = {}
    for table in TABLES:
        for clients in CLIENTS:
            log(f"{clients} clients on {table}")
            rate, p50, p95, cpu = throughput(table, literals, clients)
            single.setdefault(clients, rate)
            print(f"| {label(table)} | {clients} | {rate:,.0f} | {p50:.2f} ms | {p95:.2f} ms | {cpu:.2f} ms | {rate / single[clients]:.2f}x |")
    conn.execute("ALTER DATABASE postgres RESET hnsw.ef_search")


if __name__ == "__main__":
    main()
