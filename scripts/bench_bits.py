#!/usr/bin/env python3
"""Bit-string indexes, vector_ext against pgvector 0.8.6 on the same server.

pydoc-minilm's 41,159 base vectors binary-quantized to bit(384) (a bit per
positive component, as binary_quantize does) and its first 200 queries,
quantized alike. For each extension, in its own database (vector_ext in the
default one, pgvector in `pgvector`), one connection, parallel query off:
  - hnsw bit_hamming_ops (m = 16, ef_construction = 64): build seconds,
    index MiB; per ef_search 10 / 20 / 40 / 80: recall@10 against exact
    Hamming distances (a returned row as near as the tenth counts: integer
    distances tie) and the backend's CPU per query (bench.run_timed);
  - ivfflat bit_hamming_ops (lists = 200): build seconds, index MiB; per
    probes 5 / 20: recall@10 and CPU per query.
Prints a markdown table with the ratios vector_ext / pgvector.
"""
import os
import time

import numpy as np
import psycopg

from bench import DATA, print_ratio_table, read_vecs, run_timed

QUERIES = 200
DIM = 384


def bits_literal(bits):
    return "".join("1" if b else "0" for b in bits)


def recall(results, bits, query_bits):
    hits = 0
    for found, query in zip(results, query_bits):
        exact = (bits != query).sum(axis=1)
        tenth = np.sort(exact)[9]
        hits += sum(1 for i in found[:10] if exact[i] <= tenth)
    return hits / (10 * len(results))


def measure(database, bits, query_bits):
    """{row label: value} for one extension."""
    out = {}
    params = [(bits_literal(q),) for q in query_bits]
    search = f"SELECT id FROM items ORDER BY b <~> %s::bit({DIM}) LIMIT 10"
    with psycopg.connect(dbname=database, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, b bit({DIM}))")
        with conn.cursor().copy("COPY items (id, b) FROM STDIN") as copy:
            for i, row in enumerate(bits):
                copy.write_row((i, bits_literal(row)))
        conn.execute("VACUUM ANALYZE items")
        for am, build, knob, values in [
            ("hnsw", "USING hnsw (b bit_hamming_ops) WITH (m = 16, ef_construction = 64)", "hnsw.ef_search", (10, 20, 40, 80)),
            ("ivfflat", "USING ivfflat (b bit_hamming_ops) WITH (lists = 200)", "ivfflat.probes", (5, 20)),
        ]:
            started = time.perf_counter()
            conn.execute(f"CREATE INDEX items_b ON items {build}")
            out[f"{am} build (s)"] = time.perf_counter() - started
            out[f"{am} index size (MiB)"] = conn.execute("SELECT pg_relation_size('items_b')").fetchone()[0] / 2**20
            for value in values:
                conn.execute(f"SET {knob} = {value}")
                timing = run_timed(conn, search, params, min_seconds=2.0)
                out[f"{am} {knob} {value}: recall@10"] = recall(timing.results, bits, query_bits)
                out[f"{am} {knob} {value}: CPU per query (us)"] = timing.cpu_us_each
            conn.execute("DROP INDEX items_b")
    return out


def main():
    bits = read_vecs(DATA / "pydoc-minilm" / "base.fvecs", np.float32) > 0
    query_bits = read_vecs(DATA / "pydoc-minilm" / "query.fvecs", np.float32)[:QUERIES] > 0
    ours = measure(os.environ.get("PGDATABASE", "postgres"), bits, query_bits)
    theirs = measure("pgvector", bits, query_bits)
    print(f"pydoc-minilm {len(bits):,} x {DIM} binary-quantized to bit({DIM}), {QUERIES} queries, Hamming distance\n")
    print_ratio_table(ours, theirs)


if __name__ == "__main__":
    main()
