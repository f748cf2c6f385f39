#!/usr/bin/env python3
"""Benchmark of vector_ext: exact search, HNSW search, and writes into an HNSW index.

Per dataset, against the server named by the libpq environment (PGHOST, PGPORT,
PGUSER, PGDATABASE), on one connection, sequentially:

1. load: CREATE TABLE items (id int PRIMARY KEY, embedding vector(D)), then a
   binary COPY of the base vectors (id = 0-based row of the base set); seconds.
2. build: CREATE INDEX ... USING hnsw (embedding <opclass>) WITH (m = 16,
   ef_construction = 64); seconds and pg_relation_size of the index (MiB).
   If the access method is missing or fails, "hnsw index unavailable: <error>"
   is printed and only the exact-search parts run.
3. search, for hnsw.ef_search in 10 20 40 80 160 320:
   SELECT id FROM items ORDER BY embedding <op> $1::vector LIMIT 10
   as a server-side prepared statement, the query vector sent as a text literal.
   recall@10 = mean |returned top-10 & true top-10| / 10 (ids = base rows);
   QPS, p50/p99 latency (client side, per statement), and backend CPU per query
   (utime + stime of the backend from /proc/<pid>/stat, before and after).
   The query set is repeated until at least --min-seconds have passed, so that
   the 10 ms CPU clock ticks are a small error; recall uses the first pass.
   EXPLAIN checks once (custom and generic plan) that the index is used.
4. exact: the same statement with enable_indexscan = off on a subset of the
   queries; its recall is a sanity check of the ground truth (should be 1.0;
   "tie-aware" also counts a returned row whose exact distance equals the 10th).
5. writes: single-row INSERTs (autocommit, one statement each) of new
   vectors, each the midpoint of two random base rows, under new ids; rows/s
   and backend CPU per row. Then one DELETE of 10% of the base rows (at most
   4,000; random, seeded) together with all the inserted rows, then VACUUM (autocommit); then recall@10 at
   ef_search = 40 against a ground truth recomputed over the surviving rows.

With --pgvector-database DB, each dataset also runs every step on a second
connection to DB, where pgvector's extension `vector` is installed (the two
cannot share a database: both define type `vector`): loads and builds one
after the other, then the searches (3) and the exact scan (4) interleaved,
SWEEP_ROUNDS rounds alternating between the two per ef_search, each keeping
its round of median CPU, so the drift of a shared machine hits both alike;
then the writes one after the other. A table
puts the two side by side with ratios vector_ext / pgvector: build time,
index size, backend CPU per query at recall@10 0.95 (interpolated between
the two ef_search values around it), insert CPU per row, delete + VACUUM
time and recall after it. Both run on the same server in the same run, one
after the other, so drift on a shared machine hits both alike.

Parallel query is off in the session (max_parallel_workers_per_gather = 0) so
the backend CPU is all the CPU a query costs.

Datasets (files under ../shared/data relative to the repository):
  sift5k          5,000 x 128 SIFT (L2), 100 siftsmall queries, exact ground truth
  pydoc           41,159 x 384 sentence embeddings (cosine), 1,000 queries,
                  groundtruth.ivecs (first 10 of the top-100)
  clustered:N:D   N x D Gaussian mixture (L2, seeded), 200 queries, exact truth
  pydoc-grown:N   pydoc-minilm grown to N rows along its own neighborhoods
                  (cosine, seeded; see load_pydoc_grown), pydoc's queries,
                  float32 brute-force truth; the scale run's set

Run through scripts/bench.sh, which starts a throwaway server:
  bash scripts/bench.sh                      # sift5k pydoc
  bash scripts/bench.sh sift5k clustered:20000:64 --max-queries 200
  BENCH_PGVECTOR=0 bash scripts/bench.sh     # without pgvector alongside
Markdown goes to stdout, progress to stderr.
"""

import argparse
import os
import platform
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

import isometry

K = 10
EF_SEARCH = (10, 20, 40, 80, 160, 320)
EF_AFTER_VACUUM = 40
M, EF_CONSTRUCTION = 16, 64
INDEX_NAME = "items_embedding_idx"
METRICS = {  # metric -> (operator, operator class)
    "l2": ("<->", "vector_l2_ops"),
    "cosine": ("<=>", "vector_cosine_ops"),
}
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CLUSTERED_SEED = 20240607
CLUSTERED_QUERIES = 200
GROWN_SEED = 20261206
GROWN_NEIGHBORS = 10


def log(message):
    print(f"-- {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- datasets


@dataclass
class Dataset:
    name: str
    metric: str
    base: np.ndarray  # float32, N x D; row i is stored with id i
    queries: np.ndarray  # float32, Q x D
    truth: np.ndarray  # int, Q x K: base rows, nearest first
    note: str = ""


def read_vecs(path, dtype):
    """Reads .fvecs / .ivecs: per vector an int32 dimension, then the elements."""
    raw = np.fromfile(path, dtype="<i4")
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    assert (rows[:, 0] == dim).all(), f"{path}: mixed dimensions"
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def load_sift5k(max_queries):
    table = np.loadtxt(DATA / "sift5k-ngt" / "sift-dataset-5k.tsv", delimiter="\t", dtype=np.int64)
    base = table[:, :128].astype(np.float32)
    queries = read_vecs(DATA / "sift5k-ngt" / "siftsmall_query.fvecs", "<f4")[:max_queries].astype(np.float32)
    truth = exact_top_k(base, queries, "l2")
    return Dataset("sift5k", "l2", base, queries, truth,
                   "NGT's 5k SIFT sample, siftsmall queries; truth: numpy float64 brute force")


def load_pydoc(max_queries):
    folder = DATA / "pydoc-minilm"
    base = read_vecs(folder / "base.fvecs", "<f4").astype(np.float32)
    queries = read_vecs(folder / "query.fvecs", "<f4")[:max_queries].astype(np.float32)
    truth = read_vecs(folder / "groundtruth.ivecs", "<i4")[:max_queries, :K].astype(np.int64)
    return Dataset("pydoc", "cosine", base, queries, truth,
                   "all-MiniLM-L6-v2 docstring embeddings; truth: groundtruth.ivecs")


def load_pydoc_embedded(spec, max_queries):
    """pydoc:D, pydoc-minilm mapped isometrically into D dimensions
    (isometry.py): the same distances and ground truth at the size of
    today's common embeddings (1,536) or past pgvector's 2,000."""
    try:
        dim = int(spec.split(":")[1])
    except (IndexError, ValueError):
        sys.exit(f"bad dataset {spec!r}: expected pydoc:D")
    ds = load_pydoc(max_queries)
    both = isometry.embed(np.vstack([ds.base, ds.queries]), dim, seed=dim)
    return Dataset(spec, ds.metric, both[:len(ds.base)], both[len(ds.base):], ds.truth,
                   f"pydoc-minilm turned isometrically into {dim} dimensions (seed {dim}); truth: groundtruth.ivecs")


def load_clustered(spec, max_queries):
    """clustered:N:D, a seeded Gaussian mixture: sqrt(N)/2 centres ~ N(0, 1),
    per-cluster spread 0.15..0.45, uneven cluster sizes; queries from the same mixture."""
    try:
        _, n, dim = spec.split(":")
        n, dim = int(n), int(dim)
    except ValueError:
        sys.exit(f"bad dataset {spec!r}: expected clustered:N:D")
    rng = np.random.default_rng([CLUSTERED_SEED, n, dim])
    clusters = max(2, int(np.sqrt(n) / 2))
    centres = rng.normal(0.0, 1.0, (clusters, dim))
    spreads = rng.uniform(0.15, 0.45, clusters)
    weights = rng.dirichlet(np.full(clusters, 2.0))

    def sample(count):
        which = rng.choice(clusters, size=count, p=weights)
        points = centres[which] + rng.normal(0.0, 1.0, (count, dim)) * spreads[which, None]
        return points.astype(np.float32)

    base = sample(n)
    queries = sample(min(CLUSTERED_QUERIES, max_queries))
    truth = exact_top_k(base, queries, "l2")
    return Dataset(spec, "l2", base, queries, truth,
                   f"{clusters} Gaussian clusters, seed {CLUSTERED_SEED}; truth: numpy float64 brute force")


def unit_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def nearest_rows(base, queries, k, chunk=2000):
    """The k rows of `base` with the highest inner product with each query
    (unit rows: the nearest by cosine), nearest first, float32."""
    nearest = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = queries[start:start + chunk] @ base.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        nearest[start:start + chunk] = np.take_along_axis(top, order, axis=1)
    return nearest


def load_pydoc_grown(spec, max_queries):
    """pydoc-grown:N, pydoc-minilm's 41,159 rows (normalized) followed by
    N - 41,159 generated ones, for scale runs. Each generated row lies
    between a real row and one of its 10 nearest real rows (weight uniform
    in [0.2, 0.8]), moved off that segment by Gaussian noise a quarter as
    long as it, then normalized: the new rows fill the neighborhoods real
    sentence embeddings have rather than a synthetic distribution's, and
    the queries are pydoc's own. Truth: float32 brute force over all N."""
    try:
        n = int(spec.split(":")[1])
    except (IndexError, ValueError):
        sys.exit(f"bad dataset {spec!r}: expected pydoc-grown:N")
    real = load_pydoc(max_queries)
    real_rows = unit_rows(real.base).astype(np.float32)
    if n <= len(real_rows):
        sys.exit(f"pydoc-grown:N needs N above pydoc's {len(real_rows):,} rows")
    rng = np.random.default_rng([GROWN_SEED, n])
    # Each real row's nearest real rows, itself (the first) left out.
    neighbors = nearest_rows(real_rows, real_rows, GROWN_NEIGHBORS + 1)[:, 1:]
    base = np.empty((n, real_rows.shape[1]), dtype=np.float32)
    base[:len(real_rows)] = real_rows
    for start in range(len(real_rows), n, 100_000):
        count = min(100_000, n - start)
        a = rng.integers(0, len(real_rows), count)
        b = neighbors[a, rng.integers(0, GROWN_NEIGHBORS, count)]
        weight = rng.uniform(0.2, 0.8, (count, 1)).astype(np.float32)
        segment = real_rows[b] - real_rows[a]
        length = np.linalg.norm(segment, axis=1, keepdims=True)
        noise = rng.standard_normal(segment.shape).astype(np.float32) * (0.25 * length / np.sqrt(segment.shape[1]))
        base[start:start + count] = unit_rows(real_rows[a] + weight * segment + noise)
    queries = unit_rows(real.queries).astype(np.float32)
    truth = nearest_rows(base, queries, K, chunk=50)
    return Dataset(spec, "cosine", base, queries, truth,
                   f"pydoc-minilm grown to {n:,} rows along its own 10-nearest-neighbor segments "
                   f"(seed {GROWN_SEED}; the first {len(real_rows):,} are the real rows); truth: float32 brute force")


def load_dataset(spec, max_queries):
    if spec == "sift5k":
        return load_sift5k(max_queries)
    if spec == "pydoc":
        return load_pydoc(max_queries)
    if spec.startswith("pydoc:"):
        return load_pydoc_embedded(spec, max_queries)
    if spec.startswith("clustered:"):
        return load_clustered(spec, max_queries)
    if spec.startswith("pydoc-grown:"):
        return load_pydoc_grown(spec, max_queries)
    sys.exit(f"unknown dataset {spec!r} (sift5k, pydoc, pydoc:D, clustered:N:D, pydoc-grown:N)")


# ---------------------------------------------------------------- ground truth


def distances(base, queries, metric):
    """float64 distances, queries x base (cosine: 1 - similarity)."""
    b = base.astype(np.float64)
    q = queries.astype(np.float64)
    if metric == "cosine":
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        return 1.0 - q @ b.T
    squared = (q * q).sum(1)[:, None] - 2.0 * (q @ b.T) + (b * b).sum(1)[None, :]
    return np.sqrt(np.maximum(squared, 0.0))


def exact_top_k(base, queries, metric, alive=None, chunk=100):
    """Exact top-K base rows per query, nearest first, ties to the smaller row."""
    truth = np.empty((len(queries), K), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        d = distances(base, queries[start:start + chunk], metric)
        if alive is not None:
            d[:, ~alive] = np.inf
        kth = np.partition(d, K - 1, axis=1)[:, K - 1]
        for i, row in enumerate(d):
            candidates = np.flatnonzero(row <= kth[i])  # ascending rows
            order = np.argsort(row[candidates], kind="stable")
            truth[start + i] = candidates[order][:K]
    return truth


def recall(results, truth):
    return float(np.mean([len(set(got) & set(want)) / K for got, want in zip(results, truth)]))


def tie_aware_recall(results, truth, ds, query_rows):
    """Counts a returned row as right when its exact distance is within the 10th true one."""
    hits = []
    for got, want, qi in zip(results, truth, query_rows):
        q = ds.queries[qi:qi + 1]
        kth = distances(ds.base[want[-1:]], q, ds.metric)[0, 0]
        rows = [r for r in got if 0 <= r < len(ds.base)]
        d = distances(ds.base[rows], q, ds.metric)[0] if rows else np.array([])
        hits.append(min(K, int((d <= kth + 1e-9 * max(1.0, kth)).sum())) / K)
    return float(np.mean(hits))


# ---------------------------------------------------------------- database helpers


def vector_literal(v):
    """'[1,2.5,...]'; %.9g round-trips every float32."""
    return "[" + ",".join("%.9g" % x for x in v.tolist()) + "]"


def backend_cpu_us(pid):
    """utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat), in microseconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # fields from the 3rd on
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1e6 / os.sysconf("SC_CLK_TCK")


def one_value(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()[0]


def index_mib(conn):
    return one_value(conn, "SELECT pg_relation_size(%s::regclass)", (INDEX_NAME,)) / 2**20


@dataclass
class Timing:
    results: list  # returned ids per statement of the first pass
    executed: int
    seconds: float
    cpu_us: float
    latencies_ms: list = field(default_factory=list)

    @property
    def per_second(self):
        return self.executed / self.seconds

    @property
    def cpu_us_each(self):
        return self.cpu_us / self.executed

    def percentile_ms(self, p):
        return float(np.percentile(self.latencies_ms, p))


def run_timed(conn, sql, params_list, min_seconds=0.0, fetch=True):
    """Runs a prepared statement once per parameter tuple, repeating whole passes
    until min_seconds have passed; wall clock, latencies and backend CPU."""
    pid = conn.info.backend_pid
    cur = conn.cursor()
    results, latencies = [], []
    cpu_before = backend_cpu_us(pid)
    started = time.perf_counter()
    first_pass = True
    while True:
        for params in params_list:
            t0 = time.perf_counter()
            cur.execute(sql, params, prepare=True)
            rows = cur.fetchall() if fetch else None
            latencies.append((time.perf_counter() - t0) * 1e3)
            if first_pass and fetch:
                results.append([r[0] for r in rows])
        first_pass = False
        if time.perf_counter() - started >= min_seconds:
            break
    seconds = time.perf_counter() - started
    cpu = backend_cpu_us(pid) - cpu_before
    return Timing(results, len(latencies), seconds, cpu, latencies)


def knn_sql(ds):
    operator = METRICS[ds.metric][0]
    return f"SELECT id FROM items ORDER BY embedding {operator} %s::vector LIMIT {K}"


# ---------------------------------------------------------------- benchmark steps


def copy_binary(conn, ids, vectors):
    """COPY items (id, embedding) FROM STDIN (FORMAT BINARY), built with numpy."""
    dim = vectors.shape[1]
    row = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i4"), ("vec_len", ">i4"),
                    ("dim", ">u2"), ("unused", ">u2"), ("vec", ">f4", (dim,))])
    rows = np.zeros(len(ids), dtype=row)
    rows["fields"], rows["id_len"], rows["id"] = 2, 4, ids
    rows["vec_len"], rows["dim"], rows["vec"] = 4 + 4 * dim, dim, vectors
    payload = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + rows.tobytes() + struct.pack(">h", -1)
    view = memoryview(payload)
    started = time.perf_counter()
    with conn.cursor().copy("COPY items (id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        for offset in range(0, len(view), 1 << 22):
            copy.write(view[offset:offset + (1 << 22)])
    return time.perf_counter() - started


def load_table(conn, ds):
    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({ds.base.shape[1]}))")
    seconds = copy_binary(conn, np.arange(len(ds.base)), ds.base)
    stored = one_value(conn, "SELECT embedding::text FROM items WHERE id = 0")
    if not np.array_equal(np.array(stored.strip("[]").split(","), dtype=np.float32), ds.base[0]):
        print("\n**warning: row 0 does not read back as loaded**")
    conn.execute("VACUUM ANALYZE items")
    return seconds


def build_index(conn, ds):
    """Returns (seconds, None) or (None, error text)."""
    opclass = METRICS[ds.metric][1]
    started = time.perf_counter()
    try:
        conn.execute(f"CREATE INDEX {INDEX_NAME} ON items USING hnsw (embedding {opclass}) "
                     f"WITH (m = {M}, ef_construction = {EF_CONSTRUCTION})")
    except psycopg.Error as error:
        return None, str(error).strip().splitlines()[0]
    return time.perf_counter() - started, None


def check_plans(conn, ds, literal):
    """EXPLAIN the custom plan and the generic prepared plan; warnings for seq scans."""
    warnings = []
    operator = METRICS[ds.metric][0]
    # The literal holds only digits and punctuation: safe to inline.
    custom = conn.execute("EXPLAIN " + knn_sql(ds).replace("%s", f"'{literal}'")).fetchall()
    if INDEX_NAME not in "\n".join(r[0] for r in custom):
        warnings.append("the planner does not use the hnsw index for the query (custom plan)")
    conn.execute(f"PREPARE bench_check(vector) AS SELECT id FROM items ORDER BY embedding {operator} $1 LIMIT {K}")
    try:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        generic = conn.execute(f"EXPLAIN EXECUTE bench_check('{literal}')").fetchall()
        if INDEX_NAME not in "\n".join(r[0] for r in generic):
            warnings.append("the planner does not use the hnsw index for the prepared statement (generic plan)")
    finally:
        conn.execute("RESET plan_cache_mode")
        conn.execute("DEALLOCATE bench_check")
    return warnings


SWEEP_ROUNDS = 3


def interleaved(conns, measure, cpu_us):
    """measure(conn) on every connection, SWEEP_ROUNDS rounds alternating
    between them; per connection the result whose cpu_us(result) is the median."""
    results = [[] for _ in conns]
    for _ in range(SWEEP_ROUNDS):
        for conn, kept in zip(conns, results):
            kept.append(measure(conn))
    return [sorted(kept, key=cpu_us)[len(kept) // 2] for kept in results]


def search_sweeps(conns, ds, literals, min_seconds):
    """Per connection, ef_search -> (recall@10, Timing), measured interleaved."""
    sql = knn_sql(ds)
    params = [(v,) for v in literals]
    sweeps = [{} for _ in conns]
    for conn in conns:
        run_timed(conn, sql, params[:50])  # warm up: plan cache, shared buffers
    for ef in EF_SEARCH:
        for conn in conns:
            conn.execute(f"SET hnsw.ef_search = {ef}")
        timings = interleaved(conns, lambda conn: run_timed(conn, sql, params, min_seconds), lambda t: t.cpu_us_each)
        for sweep, timing in zip(sweeps, timings):
            sweep[ef] = (recall(timing.results, ds.truth), timing)
        log(f"ef_search {ef}: recall " + ", ".join(f"{sweep[ef][0]:.3f}" for sweep in sweeps)
            + "; QPS " + ", ".join(f"{sweep[ef][1].per_second:,.0f}" for sweep in sweeps))
    for conn in conns:
        conn.execute("RESET hnsw.ef_search")
    return sweeps


def scan_work(conn, ds, literals, queries=50):
    """Per ef_search, what an index search did on average (hnsw_last_scan(),
    vector_ext only): exact distances, code estimates, neighbor lists read,
    pages pinned."""
    if one_value(conn, "SELECT count(*) FROM pg_proc WHERE proname = 'hnsw_last_scan'") == 0:
        return {}
    sql = knn_sql(ds)
    work = {}
    for ef in EF_SEARCH:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        totals = np.zeros(4)
        for literal in literals[:queries]:
            conn.execute(sql, (literal,), prepare=True).fetchall()
            totals += conn.execute("SELECT distances, estimates, neighbor_lists, pages FROM hnsw_last_scan()").fetchone()
        work[ef] = totals / min(queries, len(literals))
    conn.execute("RESET hnsw.ef_search")
    return work


def ivfflat_sweep(conn, ds, literals, min_seconds):
    """Builds an ivfflat index (lists = rows / 1000, at least 4, pgvector's
    rule of thumb) in place of the hnsw one and sweeps ivfflat.probes."""
    lists = max(len(ds.base) // 1000, 4)
    opclass = METRICS[ds.metric][1]
    started = time.perf_counter()
    conn.execute(f"CREATE INDEX items_ivfflat ON items USING ivfflat (embedding {opclass}) WITH (lists = {lists})")
    build = time.perf_counter() - started
    size = one_value(conn, "SELECT pg_relation_size('items_ivfflat')") / 2**20
    sql = "/* ivfflat */ " + knn_sql(ds)
    params = [(v,) for v in literals]
    run_timed(conn, sql, params[:50])
    sweep = {}
    for probes in sorted({p for p in (1, 2, 4, 8, 16, 32) if p <= lists} | {lists}):
        conn.execute(f"SET ivfflat.probes = {probes}")
        timing = run_timed(conn, sql, params, min_seconds)
        sweep[probes] = (recall(timing.results, ds.truth), timing)
        log(f"ivfflat probes {probes}: recall {sweep[probes][0]:.3f}, {timing.per_second:,.0f} QPS")
    conn.execute("RESET ivfflat.probes")
    conn.execute("DROP INDEX items_ivfflat")
    return {"lists": lists, "build": build, "size": size, "sweep": sweep}


def exact_scan(conn, ds, literals, count, min_seconds):
    rows = list(range(min(count, len(literals))))
    conn.execute("SET enable_indexscan = off")
    try:
        # Its own statement text: a prepared statement keeps the plan it was
        # made with, and the index plan would outlive the SET.
        exact_sql = "/* exact scan */ " + knn_sql(ds)
        timing = run_timed(conn, exact_sql, [(literals[i],) for i in rows], min_seconds)
    finally:
        conn.execute("RESET enable_indexscan")
    truth = ds.truth[rows]
    return recall(timing.results, truth), tie_aware_recall(timing.results, truth, ds, rows), timing


def insert_rows(conn, ds, count, rng):
    """Single-row autocommit INSERTs of new vectors, each the midpoint of two
    random base rows (a copy would only join an existing element); returns
    (new ids, timing)."""
    first = rng.choice(len(ds.base), size=count, replace=False)
    second = rng.choice(len(ds.base), size=count, replace=False)
    new_ids = np.arange(len(ds.base), len(ds.base) + count)
    midpoints = (ds.base[first] + ds.base[second]) / 2
    params = [(int(i), vector_literal(v)) for i, v in zip(new_ids, midpoints)]
    timing = run_timed(conn, "INSERT INTO items (id, embedding) VALUES (%s, %s::vector)", params, fetch=False)
    return new_ids, timing


def delete_and_vacuum(conn, ds, inserted_ids, rng):
    """DELETE 10% of base rows (at most 4,000) plus the inserted rows, then VACUUM."""
    deleted_base = rng.choice(len(ds.base), size=min(len(ds.base) // 10, 4000), replace=False)
    ids = [int(i) for i in np.concatenate([deleted_base, inserted_ids])]
    started = time.perf_counter()
    conn.execute("DELETE FROM items WHERE id = ANY(%s)", (ids,))
    delete_seconds = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("VACUUM items")
    vacuum_seconds = time.perf_counter() - started
    alive = np.ones(len(ds.base), dtype=bool)
    alive[deleted_base] = False
    return len(deleted_base), delete_seconds, vacuum_seconds, alive


# ---------------------------------------------------------------- report


def print_ratio_table(ours, theirs):
    """A markdown table of two extensions' figures by label ({label: value}
    each), with the ratio vector_ext / pgvector except for recall."""
    print("| | vector_ext | pgvector 0.8.6 | ratio |\n|---|---|---|---|")
    for label, value in ours.items():
        other = theirs[label]
        ratio = "" if "recall" in label else f"{value / other:.2f}x"
        digits = 3 if "recall" in label else 2 if "(s)" in label or "MiB" in label else 0
        print(f"| {label} | {value:.{digits}f} | {other:.{digits}f} | {ratio} |")


def fmt(x, digits=0):
    return f"{x:,.{digits}f}"


def secs(x):
    return f"{x:.3f} s" if x < 1 else f"{x:,.2f} s"


def cpu_at_recall(sweep, target):
    """Backend CPU per query at recall@10 `target` over a sweep {ef_search:
    (recall, Timing)}; see interpolated_cpu."""
    return interpolated_cpu({ef: (rec, t.cpu_us_each) for ef, (rec, t) in sweep.items()}, target)


def interpolated_cpu(sweep, target):
    """CPU per query at recall@10 `target` over a sweep {ef_search: (recall,
    CPU)}, interpolated linearly between the ef_search values whose recall
    brackets it; (cpu, note) where note says when the sweep does not
    bracket the target."""
    points = [point for _, point in sorted(sweep.items())]
    if points[0][0] >= target:
        return points[0][1], f" (ef_search={min(sweep)} already {points[0][0]:.3f})"
    for (r1, c1), (r2, c2) in zip(points, points[1:]):
        if r1 < target <= r2:
            return c1 + (target - r1) / (r2 - r1) * (c2 - c1), ""
    return None, f" (recall stays below {target})"


def print_side_by_side(ds, ours, theirs):
    """vector_ext against pgvector on one dataset: values and ratios."""
    print(f"\n### {ds.name}: vector_ext and pgvector 0.8.6 side by side\n")
    print("| measure | vector_ext | pgvector 0.8.6 | vector_ext / pgvector |\n|---|---|---|---|")

    def row(label, a, b, show):
        if a is None or b is None:
            print(f"| {label} | {show(a) if a is not None else '-'} | {show(b) if b is not None else '-'} | - |")
            return
        print(f"| {label} | {show(a)} | {show(b)} | {a / b:.2f}x |")

    if ours["index_error"] or theirs["index_error"]:
        print(f"| hnsw | {ours['index_error'] or 'ok'} | {theirs['index_error'] or 'ok'} | - |")
        return
    row("hnsw build, one core", ours["build"], theirs["build"], secs)
    row("hnsw build, two cores", ours["build_parallel"], theirs["build_parallel"], secs)
    row("hnsw index size", ours["size"], theirs["size"], lambda x: f"{x:.1f} MiB")
    for target in (0.95, 0.99):
        (a, note_a), (b, note_b) = cpu_at_recall(ours["sweep"], target), cpu_at_recall(theirs["sweep"], target)
        label = f"backend CPU per query at recall@10 {target}"
        if a is None or b is None:
            print(f"| {label} | {fmt(a) if a else '-'}{note_a} | {fmt(b) if b else '-'}{note_b} | - |")
        else:
            print(f"| {label} | {fmt(a)} us{note_a} | {fmt(b)} us{note_b} | {a / b:.2f}x |")
    row("exact scan (no index), backend CPU per query", ours["exact"][2].cpu_us_each, theirs["exact"][2].cpu_us_each,
        lambda x: f"{fmt(x)} us")
    ef = EF_AFTER_VACUUM
    print(f"| recall@10 at ef_search={ef} | {ours['sweep'][ef][0]:.3f} | {theirs['sweep'][ef][0]:.3f} | - |")
    row("ivfflat build, one core", ours["ivfflat"]["build"], theirs["ivfflat"]["build"], secs)
    row("ivfflat index size", ours["ivfflat"]["size"], theirs["ivfflat"]["size"], lambda x: f"{x:.1f} MiB")
    row("INSERT backend CPU per row", ours["inserts"].cpu_us_each, theirs["inserts"].cpu_us_each, lambda x: f"{fmt(x)} us")
    row("INSERT p99 latency", ours["inserts"].percentile_ms(99), theirs["inserts"].percentile_ms(99), lambda x: f"{x:.2f} ms")
    row("DELETE 10% + VACUUM", ours["delete"][2] + ours["delete"][3], theirs["delete"][2] + theirs["delete"][3], secs)
    print(f"| recall@10 at ef_search={ef} after VACUUM | {ours['after'][0]:.3f} | {theirs['after'][0]:.3f} | - |")
    row("index size after VACUUM", ours["size_after"], theirs["size_after"], lambda x: f"{x:.1f} MiB")


def print_header(conn, reference):
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    settings = ", ".join(
        f"{name}={one_value(conn, 'SELECT current_setting(%s)', (name,))}"
        for name in ("shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers",
                     "max_parallel_workers_per_gather", "jit"))
    extension = one_value(conn, "SELECT extversion FROM pg_extension WHERE extname = 'vector_ext'")
    print("# vector_ext benchmark\n")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"- machine: {len(os.sched_getaffinity(0))} CPUs (nproc), {cpu_model}, {platform.machine()}, "
          f"Linux {platform.release()}")
    print(f"- server: {one_value(conn, 'SELECT version()')}")
    print(f"- vector_ext {extension}; session settings: {settings}")
    if reference is not None:
        version = one_value(reference, "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        print(f"- alongside: pgvector {version} (extension `vector`) in database {reference.info.dbname}, same server")
    print(f"- HNSW: m={M}, ef_construction={EF_CONSTRUCTION}; k={K}; one client, sequential, "
          "prepared statements, query vectors as text literals")


def print_dataset_report(ds, r):
    n, dim = ds.base.shape
    print(f"\n## {ds.name}: {n:,} x {dim}, {ds.metric}, {len(ds.queries):,} queries\n")
    print(f"{ds.note}.\n")
    print("| step | result |\n|---|---|")
    print(f"| load (binary COPY, with primary key) | {secs(r['load'])} ({n / r['load']:,.0f} rows/s) |")
    if r["index_error"]:
        print(f"| index build | hnsw index unavailable: {r['index_error']} |")
    else:
        print(f"| index build ({METRICS[ds.metric][1]}), one core | {secs(r['build'])} ({n / r['build']:,.0f} rows/s) |")
        print(f"| index build, two cores | {secs(r['build_parallel'])} ({r['build'] / r['build_parallel']:.2f}x faster) |")
        print(f"| index size | {r['size']:.1f} MiB |")
        if r.get("ivfflat"):
            ivf = r["ivfflat"]
            print(f"| ivfflat build (lists = {ivf['lists']}), one core | {secs(ivf['build'])} |")
            print(f"| ivfflat index size | {ivf['size']:.1f} MiB |")
    for warning in r.get("warnings", []):
        print(f"\n**warning: {warning}**")

    exact_recall, exact_tie_recall, exact = r["exact"]
    print("\n| search | recall@10 | QPS | p50 ms | p99 ms | backend CPU us/query | QPS / exact QPS | exact CPU / CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for ef, (rec, t) in r.get("sweep", {}).items():
        print(f"| hnsw ef_search={ef} | {rec:.3f} | {fmt(t.per_second)} | {t.percentile_ms(50):.2f} | "
              f"{t.percentile_ms(99):.2f} | {fmt(t.cpu_us_each)} | {t.per_second / exact.per_second:.1f}x | "
              f"{exact.cpu_us_each / t.cpu_us_each:.1f}x |")
    ivf = r.get("ivfflat")
    for probes, (rec, t) in (ivf["sweep"].items() if ivf else []):
        print(f"| ivfflat probes={probes} | {rec:.3f} | {fmt(t.per_second)} | {t.percentile_ms(50):.2f} | "
              f"{t.percentile_ms(99):.2f} | {fmt(t.cpu_us_each)} | {t.per_second / exact.per_second:.1f}x | "
              f"{exact.cpu_us_each / t.cpu_us_each:.1f}x |")
    print(f"| exact (enable_indexscan=off), {len(exact.results)} queries | {exact_recall:.3f} "
          f"(tie-aware {exact_tie_recall:.3f}) | {fmt(exact.per_second, 1)} | {exact.percentile_ms(50):.2f} | "
          f"{exact.percentile_ms(99):.2f} | {fmt(exact.cpu_us_each)} | 1.0x | 1.0x |")
    if exact_tie_recall < 0.999:
        print("\n**warning: the exact scan disagrees with the ground truth**")
    if r.get("work"):
        print("\n| hnsw ef_search | exact distances per search | code estimates | neighbor lists read | pages pinned |\n"
              "|---|---|---|---|---|")
        for ef, (distances, estimates, lists, pages) in r["work"].items():
            print(f"| {ef} | {fmt(distances)} | {fmt(estimates)} | {fmt(lists)} | {fmt(pages)} |")

    if "inserts" not in r:
        if r["index_error"]:
            print("\nwrites into the index: skipped (no hnsw index)")
        return
    ins, deleted_base, inserted, delete_s, vacuum_s, (rec_after, after), size_after = (
        r["inserts"], *r["delete"], r["after"], r["size_after"])
    rec_before = r["sweep"][EF_AFTER_VACUUM][0]
    print("\n| writes into the indexed table | result |\n|---|---|")
    print(f"| INSERT {ins.executed:,} single rows (autocommit; midpoints of two random base rows) | "
          f"{fmt(ins.per_second)} rows/s, {fmt(ins.cpu_us_each)} us backend CPU/row, "
          f"p50 {ins.percentile_ms(50):.2f} ms, p99 {ins.percentile_ms(99):.2f} ms |")
    print(f"| DELETE {deleted_base:,} random base rows (10%, max 4,000) + the {inserted:,} inserted | "
          f"{secs(delete_s)} |")
    print(f"| VACUUM items (autocommit) | {secs(vacuum_s)} |")
    print(f"| index size after VACUUM | {size_after:.1f} MiB |")
    print(f"| recall@10 at ef_search={EF_AFTER_VACUUM} after VACUUM (truth over the surviving rows) | "
          f"{rec_after:.3f} (before the writes: {rec_before:.3f}), {fmt(after.per_second)} QPS, "
          f"{fmt(after.cpu_us_each)} us CPU/query |")


# ---------------------------------------------------------------- main


def load_and_build(conn, ds, args):
    """Steps 1 and 2; the report so far."""
    r = {}
    log(f"{ds.name}: loading {len(ds.base):,} rows")
    r["load"] = load_table(conn, ds)
    log(f"{ds.name}: building the hnsw index on both cores, then on one")
    # Two cores (max_parallel_maintenance_workers = 1); then the serial build
    # that the searches below use, comparable with pgvector's serial figure.
    conn.execute("SET max_parallel_maintenance_workers = 1")
    r["build_parallel"], r["index_error"] = build_index(conn, ds)
    conn.execute("RESET max_parallel_maintenance_workers")
    if not r["index_error"]:
        conn.execute(f"DROP INDEX {INDEX_NAME}")
        r["build"], r["index_error"] = build_index(conn, ds)
    if r["index_error"]:
        log(f"hnsw index unavailable: {r['index_error']}")
    else:
        r["size"] = index_mib(conn)
        r["warnings"] = check_plans(conn, ds, literals_of(ds)[0])
    return r


def search_and_exact(conns, reports, ds, args):
    """Steps 3 and 4 on every connection, interleaved."""
    literals = literals_of(ds)
    indexed = [(conn, r) for conn, r in zip(conns, reports) if not r["index_error"]]
    log(f"{ds.name}: searches")
    sweeps = search_sweeps([conn for conn, _ in indexed], ds, literals, args.min_seconds)
    for (conn, r), sweep in zip(indexed, sweeps):
        r["sweep"] = sweep
        r["work"] = scan_work(conn, ds, literals)
    log(f"{ds.name}: exact scan")
    exact = interleaved(conns, lambda conn: exact_scan(conn, ds, literals, args.exact_queries, args.min_seconds),
                        lambda result: result[2].cpu_us_each)
    for r, result in zip(reports, exact):
        r["exact"] = result


def writes(conn, ds, args, r):
    """IVFFlat and step 5; drops the table."""
    rng = np.random.default_rng(args.seed)
    literals = literals_of(ds)
    if not r["index_error"]:
        log(f"{ds.name}: ivfflat, then the hnsw index again for the writes")
        conn.execute(f"DROP INDEX {INDEX_NAME}")
        r["ivfflat"] = ivfflat_sweep(conn, ds, literals, args.min_seconds)
        build_index(conn, ds)
        count = min(args.inserts, len(ds.base) // 5)
        log(f"{ds.name}: {count} single-row inserts")
        inserted, r["inserts"] = insert_rows(conn, ds, count, rng)
        log(f"{ds.name}: delete and vacuum")
        deleted_base, delete_s, vacuum_s, alive = delete_and_vacuum(conn, ds, inserted, rng)
        r["delete"] = (deleted_base, len(inserted), delete_s, vacuum_s)
        r["size_after"] = index_mib(conn)
        truth = exact_top_k(ds.base, ds.queries, ds.metric, alive)
        conn.execute(f"SET hnsw.ef_search = {EF_AFTER_VACUUM}")
        timing = run_timed(conn, knn_sql(ds), [(v,) for v in literals], args.min_seconds)
        conn.execute("RESET hnsw.ef_search")
        r["after"] = (recall(timing.results, truth), timing)
    conn.execute("DROP TABLE items")


def literals_of(ds):
    return [vector_literal(q) for q in ds.queries]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", default=["sift5k", "pydoc"],
                        help="sift5k, pydoc, clustered:N:D (default: sift5k pydoc)")
    parser.add_argument("--max-queries", type=int, default=1000, help="queries per dataset at most (default 1000)")
    parser.add_argument("--exact-queries", type=int, default=50, help="queries for the exact scan (default 50)")
    parser.add_argument("--inserts", type=int, default=1000,
                        help="single-row inserts (default 1000, at most a fifth of the base rows)")
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="repeat each query set until this long has passed (default 1.0)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the rows inserted and deleted")
    parser.add_argument("--pgvector-database", help="also run every step against pgvector in this database")
    return parser.parse_args()


def main():
    args = parse_args()
    with psycopg.connect(autocommit=True) as conn:
        reference = psycopg.connect(dbname=args.pgvector_database, autocommit=True) if args.pgvector_database else None
        for c in filter(None, (conn, reference)):
            c.execute("SET max_parallel_workers_per_gather = 0")
        print_header(conn, reference)
        for spec in args.datasets:
            log(f"{spec}: reading the data and computing the ground truth")
            ds = load_dataset(spec, args.max_queries)
            conns = [conn] if reference is None else [conn, reference]
            reports = []
            for c in conns:
                if c is reference:
                    log(f"{spec}: the same on pgvector")
                reports.append(load_and_build(c, ds, args))
            search_and_exact(conns, reports, ds, args)
            for c, report in zip(conns, reports):
                if c is reference:
                    log(f"{spec}: the writes on pgvector")
                writes(c, ds, args, report)
            print_dataset_report(ds, reports[0])
            if reference is not None:
                print_side_by_side(ds, reports[0], reports[1])
            sys.stdout.flush()
        if reference is not None:
            reference.close()


if __name__ == "__main__":
    main()
