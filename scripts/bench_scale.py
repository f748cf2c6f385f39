#!/usr/bin/env python3
"""The scale run: hnsw on a million rows, vector_ext and pgvector side by side.

Run through scripts/bench_scale.sh, which starts the server twice:

  phase "build"  (shared_buffers larger than either index): per extension,
                 in its own database, a binary COPY of the rows, CREATE INDEX
                 on both cores (max_parallel_maintenance_workers = 1), the
                 index size, and a search sweep over hnsw.ef_search with
                 recall@10 and backend CPU per query (bench.py's steps).
  phase "small"  (after a restart with shared_buffers smaller than the
                 indexes): the same sweep again, every page a search needs
                 now passing through the buffer manager's replacement (the
                 operating system's page cache still holds the files).

Each phase saves its figures in a JSON file beside the report; the second
prints both, with ratios vector_ext / pgvector.
  python bench_scale.py build|small --dataset pydoc-grown:1000000 --state FILE [--pgvector-database DB]
"""

import argparse
import json
import time

import numpy as np
import psycopg

import bench

EF_SEARCH = (10, 20, 40, 80, 160, 320, 640, 1000)


def sweep(conn, ds, literals, min_seconds):
    """{ef: (recall, backend CPU us per query, QPS)} over EF_SEARCH."""
    sql = bench.knn_sql(ds)
    params = [(v,) for v in literals]
    bench.run_timed(conn, sql, params)  # warm up: plan cache, buffers
    result = {}
    for ef in EF_SEARCH:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        timing = bench.run_timed(conn, sql, params, min_seconds)
        result[ef] = (bench.recall(timing.results, ds.truth), timing.cpu_us_each, timing.per_second)
        bench.log(f"ef_search {ef}: recall {result[ef][0]:.3f}, {timing.cpu_us_each:,.0f} us CPU/query")
    conn.execute("RESET hnsw.ef_search")
    return result


def build_phase(conn, ds, literals, min_seconds):
    bench.log(f"{conn.info.dbname}: loading {len(ds.base):,} rows")
    load = bench.load_table(conn, ds)
    bench.log(f"{conn.info.dbname}: building the index on both cores")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    build, error = bench.build_index(conn, ds)
    if error:
        raise SystemExit(f"{conn.info.dbname}: {error}")
    return {"load": load, "build": build, "size": bench.index_mib(conn), "sweep": sweep(conn, ds, literals, min_seconds)}


def at_recall(result, target):
    """Backend CPU per query at `target` recall over a saved sweep (ef_search as text)."""
    return bench.interpolated_cpu({int(ef): (rec, cpu) for ef, (rec, cpu, _) in result.items()}, target)


def report(ds, state):
    ours, theirs = state["vector_ext"], state.get("pgvector")
    n, dim = ds.base.shape
    print(f"# vector_ext scale run\n\n- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"- data: {ds.name}, {n:,} x {dim}, cosine, {len(ds.queries)} queries; {ds.note}")
    print(f"- server: {state['server']}; shared_buffers {state['shared_buffers']} for the build phase, "
          f"{state['small_shared_buffers']} for the second sweep; m={bench.M}, ef_construction={bench.EF_CONSTRUCTION}, "
          "builds on two cores (max_parallel_maintenance_workers = 1), one client\n")
    names = ["vector_ext"] + (["pgvector 0.8.6"] if theirs else [])
    print("| measure | " + " | ".join(names) + (" | ratio |" if theirs else " |"))
    print("|---" * (len(names) + 1 + bool(theirs)) + "|")

    def row(label, a, b, show):
        cells = [show(a)] + ([show(b)] if theirs else [])
        ratio = [f"{a / b:.2f}x"] if theirs and a is not None and b is not None else (["-"] if theirs else [])
        print(f"| {label} | " + " | ".join(cells + ratio) + " |")

    row("load (binary COPY)", ours["load"], theirs and theirs["load"], bench.secs)
    row("hnsw build, two cores", ours["build"], theirs and theirs["build"], bench.secs)
    row("hnsw index size", ours["size"], theirs and theirs["size"], lambda x: f"{x:,.0f} MiB")
    for phase, label in (("sweep", "shared_buffers above the index"), ("small", "shared_buffers below the index")):
        for target in (0.95, 0.99):
            (a, note_a) = at_recall(ours[phase], target)
            (b, note_b) = at_recall(theirs[phase], target) if theirs else (None, "")
            cells = [f"{bench.fmt(a)} us{note_a}" if a else f"-{note_a}"]
            if theirs:
                cells += [f"{bench.fmt(b)} us{note_b}" if b else f"-{note_b}", f"{a / b:.2f}x" if a and b else "-"]
            print(f"| CPU per query at recall@10 {target}, {label} | " + " | ".join(cells) + " |")
    print("\n| ef_search | " + " | ".join(f"{name}: recall, CPU us (big / small shared_buffers)" for name in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for ef in EF_SEARCH:
        cells = []
        for side in filter(None, (ours, theirs)):
            big, small = side["sweep"][str(ef)], side["small"][str(ef)]
            cells.append(f"{big[0]:.3f}, {bench.fmt(big[1])} / {bench.fmt(small[1])}")
        print(f"| {ef} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("build", "small"))
    parser.add_argument("--dataset", default="pydoc-grown:1000000")
    parser.add_argument("--state", required=True, help="JSON file the phases share")
    parser.add_argument("--pgvector-database", help="also measure pgvector in this database")
    parser.add_argument("--max-queries", type=int, default=200)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args()

    bench.log(f"{args.dataset}: generating the rows and the ground truth")
    ds = bench.load_dataset(args.dataset, args.max_queries)
    literals = [bench.vector_literal(q) for q in ds.queries]
    sides = [("vector_ext", None)] + ([("pgvector", args.pgvector_database)] if args.pgvector_database else [])
    if args.phase == "build":
        state = {}
        for name, database in sides:
            with psycopg.connect(dbname=database, autocommit=True) if database else psycopg.connect(autocommit=True) as conn:
                conn.execute("SET max_parallel_workers_per_gather = 0")
                state["server"] = bench.one_value(conn, "SHOW server_version")
                state["shared_buffers"] = bench.one_value(conn, "SHOW shared_buffers")
                state[name] = build_phase(conn, ds, literals, args.min_seconds)
        with open(args.state, "w") as f:
            json.dump(state, f)
        return
    with open(args.state) as f:
        state = json.load(f)
    for name, database in sides:
        with psycopg.connect(dbname=database, autocommit=True) if database else psycopg.connect(autocommit=True) as conn:
            conn.execute("SET max_parallel_workers_per_gather = 0")
            state["small_shared_buffers"] = bench.one_value(conn, "SHOW shared_buffers")
            bench.log(f"{conn.info.dbname}: the sweep again")
            state[name]["small"] = sweep(conn, ds, literals, args.min_seconds)
    state = json.loads(json.dumps(state))  # ef keys as strings in both phases
    report(ds, state)


if __name__ == "__main__":
    main()
