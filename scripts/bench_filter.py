#!/usr/bin/env python3
"""Filtered search, vector_ext against pgvector 0.8.6 on the same server.

pydoc-minilm's 41,159 base vectors (cosine) and its first 200 queries, with
two integer label columns whose values match 50%, 10%, 1% and 0.1% of the
rows (value 0, 1, 2, 3; the other rows get 4):
  - `random_label`: drawn at random (seeded), unrelated to the vectors;
  - `cluster_label`: by cluster of the vectors (three rounds of k-means with
    1,000 centroids, seeded; clusters in random order are given value 0
    until it holds 50% of the rows, then value 1 until 10%, and so on), so
    the rows of one value lie together, usually away from a query.
Each query runs as
  SELECT id FROM items WHERE <label> = <value> ORDER BY embedding <=> $1 LIMIT 10
on one connection, parallel query off, as a prepared statement, in the plan
each planner picks given:
  - vector_ext: hnsw (embedding vector_cosine_ops, random_label,
    cluster_label), the labels as filter columns, and a btree on each label;
  - pgvector: hnsw (embedding vector_cosine_ops), a btree on each label, and
    hnsw.iterative_scan = relaxed_order (its answer to filtered queries).
Both hnsw indexes are built with m = 16, ef_construction = 64. Per label and
selectivity, for each extension, at the smallest hnsw.ef_search of 10, 20,
40, 80 whose recall@10 reaches 0.95 (the largest if none does; one run
when the planner picks a btree, where ef_search plays no part): recall@10
against exact filtered search (numpy), rows returned per query, backend
CPU per query (bench.run_timed), shared buffers touched per query (EXPLAIN
(ANALYZE, BUFFERS) on 20 queries) and the plan (hnsw: the index scan;
btree: a btree or bitmap scan and a sort). Also the unfiltered query, and
the size of vector_ext's index with and without the two filter columns.
Prints markdown tables.
"""
import json
import os
import sys
import time

import numpy as np
import psycopg

from bench import DATA, read_vecs, run_timed, vector_literal

QUERIES = 200
EF_SEARCH = (10, 20, 40, 80)
TARGET_RECALL = 0.95
K = 10
SELECTIVITIES = (0.5, 0.1, 0.01, 0.001)
LABELS = ("random_label", "cluster_label")
SEED = 20261207


def log(message):
    print(message, file=sys.stderr, flush=True)


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def random_labels(rows, rng):
    """Value i for a share SELECTIVITIES[i] of the rows, 4 for the rest."""
    labels = np.full(rows, len(SELECTIVITIES), dtype=np.int32)
    order = rng.permutation(rows)
    start = 0
    for value, share in enumerate(SELECTIVITIES):
        count = round(share * rows)
        labels[order[start:start + count]] = value
        start += count
    return labels


def cluster_labels(base, rng, clusters=1000, rounds=3):
    """Labels by k-means cluster: whole clusters, in random order, fill each
    value's share of the rows in turn."""
    centroids = base[rng.choice(len(base), clusters, replace=False)]
    for _ in range(rounds):
        assignment = np.concatenate([np.argmax(chunk @ centroids.T, axis=1) for chunk in np.array_split(base, 20)])
        for c in range(clusters):
            members = base[assignment == c]
            if len(members):
                centroids[c] = unit(members.mean(axis=0, keepdims=True))[0]
    sizes = np.bincount(assignment, minlength=clusters)
    labels = np.full(len(base), len(SELECTIVITIES), dtype=np.int32)
    value, filled = 0, 0
    for c in rng.permutation(clusters):
        if value == len(SELECTIVITIES):
            break
        labels[assignment == c] = value
        filled += sizes[c]
        if filled >= SELECTIVITIES[value] * len(base):
            value, filled = value + 1, 0
    return labels


def exact_filtered(base, queries, mask):
    """Exact top K rows among `mask` per query (cosine on unit vectors)."""
    rows = np.flatnonzero(mask)
    similarity = queries @ base[rows].T
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :K]
    return rows[top], similarity[np.arange(len(queries))[:, None], top]


def recall(results, truth_similarity, base, queries):
    """Share of the true top 10 found; a returned row as near as the tenth counts (ties)."""
    hits = 0
    for found, tenth, query in zip(results, truth_similarity[:, -1], queries):
        similarity = base[found] @ query if found else np.array([])
        hits += min(K, int((similarity >= tenth - 1e-6).sum()))
    return hits / (K * len(queries))


def plan_of(conn, sql, literal):
    plan = json.dumps(conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", (literal,)).fetchone()[0])
    if "Index Scan" in plan and "hnsw" in plan:
        return "hnsw"
    return "btree + sort" if "Bitmap" in plan or "Index Scan" in plan else "seq scan + sort"


def buffers_per_query(conn, sql, literals):
    total = 0
    for literal in literals:
        plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", (literal,)).fetchone()[0][0]
        total += plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
    return total / len(literals)


def load(conn, base, labels):
    conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(384), random_label int, cluster_label int)")
    with conn.cursor().copy("COPY items (id, embedding, random_label, cluster_label) FROM STDIN") as copy:
        for i, vector in enumerate(base):
            copy.write_row((i, vector_literal(vector), int(labels["random_label"][i]), int(labels["cluster_label"][i])))
    for label in LABELS:
        conn.execute(f"CREATE INDEX ON items ({label})")
    conn.execute("VACUUM ANALYZE items")


def build(conn, columns):
    started = time.perf_counter()
    conn.execute(f"CREATE INDEX items_hnsw ON items USING hnsw ({columns}) WITH (m = 16, ef_construction = 64)")
    seconds = time.perf_counter() - started
    return seconds, conn.execute("SELECT pg_relation_size('items_hnsw')").fetchone()[0] / 2**20


def at_target_recall(conn, sql, literals, base, queries, truth):
    """The figures of `sql` at the smallest ef_search reaching the target
    recall (see the module doc)."""
    params = [(lit,) for lit in literals]
    plan = plan_of(conn, sql, literals[0])
    for ef in EF_SEARCH if plan == "hnsw" else EF_SEARCH[-1:]:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        timing = run_timed(conn, sql, params, min_seconds=2.0)
        figures = {
            "ef": ef if plan == "hnsw" else None,
            "recall": recall(timing.results, truth, base, queries) if truth is not None else None,
            "rows": float(np.mean([len(r) for r in timing.results])),
            "cpu": timing.cpu_us_each,
            "buffers": buffers_per_query(conn, sql, literals[:20]),
            "plan": plan,
        }
        if figures["recall"] is None or figures["recall"] >= TARGET_RECALL:
            break
    return figures


def measure(database, ours, base, queries, labels, truths):
    """{(label, selectivity) or 'unfiltered': figures} and the index figures."""
    literals = [vector_literal(q) for q in queries]
    out = {}
    with psycopg.connect(dbname=database, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        load(conn, base, labels)
        if ours:
            out["build without filter columns (s)"], out["size without filter columns (MiB)"] = build(conn, "embedding vector_cosine_ops")
            conn.execute("DROP INDEX items_hnsw")
            out["build (s)"], out["size (MiB)"] = build(conn, "embedding vector_cosine_ops, random_label, cluster_label")
        else:
            out["build (s)"], out["size (MiB)"] = build(conn, "embedding vector_cosine_ops")
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
        conn.execute("ANALYZE items")
        unfiltered = f"SELECT id FROM items ORDER BY embedding <=> %s::vector LIMIT {K}"
        out["unfiltered"] = at_target_recall(conn, unfiltered, literals, base, queries, truths["unfiltered"])
        for label in LABELS:
            for value, selectivity in enumerate(SELECTIVITIES):
                sql = f"SELECT id FROM items WHERE {label} = {value} ORDER BY embedding <=> %s::vector LIMIT {K}"
                log(f"{database}: {label} {selectivity:.1%}")
                out[(label, selectivity)] = at_target_recall(conn, sql, literals, base, queries, truths[(label, selectivity)])
    return out


def main():
    folder = DATA / "pydoc-minilm"
    base = unit(read_vecs(folder / "base.fvecs", "<f4").astype(np.float32))
    queries = unit(read_vecs(folder / "query.fvecs", "<f4")[:QUERIES].astype(np.float32))
    rng = np.random.default_rng(SEED)
    log("labels and exact filtered answers")
    labels = {"random_label": random_labels(len(base), rng), "cluster_label": cluster_labels(base, rng)}
    truths = {"unfiltered": exact_filtered(base, queries, np.ones(len(base), dtype=bool))[1]}
    for label in LABELS:
        for value, selectivity in enumerate(SELECTIVITIES):
            truths[(label, selectivity)] = exact_filtered(base, queries, labels[label] == value)[1]
    ours = measure(os.environ.get("PGDATABASE", "postgres"), True, base, queries, labels, truths)
    theirs = measure("pgvector", False, base, queries, labels, truths)

    print(f"pydoc-minilm, {len(base):,} x 384 (cosine), {len(queries)} queries, LIMIT {K}; each at the smallest "
          f"hnsw.ef_search of {', '.join(map(str, EF_SEARCH))} reaching recall@10 {TARGET_RECALL}; pgvector with "
          "hnsw.iterative_scan = relaxed_order; each with a btree on each label; the plan each planner picks\n")
    print("| label | matching | vector_ext plan | ef | recall | rows | CPU/query (us) | buffers "
          "| pgvector plan | ef | recall | rows | CPU/query (us) | buffers | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def cells(f):
        return f"{f['plan']} | {f['ef'] or ''} | {f['recall']:.3f} | {f['rows']:.1f} | {f['cpu']:,.0f} | {f['buffers']:,.0f}"
    rows = [(label, f"{selectivity:.1%} ({int((labels[label] == value).sum()):,})", (label, selectivity))
            for label in LABELS for value, selectivity in enumerate(SELECTIVITIES)]
    for label, matching, key in rows + [("(none)", "100%", "unfiltered")]:
        a, b = ours[key], theirs[key]
        print(f"| {label} | {matching} | {cells(a)} | {cells(b)} | {a['cpu'] / b['cpu']:.2f}x |")
    print()
    print("| index | vector_ext | pgvector 0.8.6 | ratio |\n|---|---|---|---|")
    for key in ("build (s)", "size (MiB)"):
        print(f"| {key} | {ours[key]:.2f} | {theirs[key]:.2f} | {ours[key] / theirs[key]:.2f}x |")
    print(f"| vector_ext size with / without the two filter columns | {ours['size (MiB)']:.2f} "
          f"| {ours['size without filter columns (MiB)']:.2f} | {ours['size (MiB)'] / ours['size without filter columns (MiB)']:.3f}x |")


if __name__ == "__main__":
    main()
