"""vector_ext on Citus (run by citus.sh): the coordinator is the libpq
environment's server, CITUS_WORKERS the ports of the two workers the
cluster starts with, CITUS_SPARE_WORKER the port of the one added before
the rebalance."""
import os
import re
import struct
import sys
import time

import numpy as np
import psycopg

from checks import check, summary
from vectors import literal, pydoc_minilm

SHARDS = 4
QUERIES = 100
TENANTS = 10
INSERTED = 300
REFERENCE_ROWS = 5000
# ef_search where one server's recall@10 is below 1, so "no worse" can fail.
LOW_EF = 10
WORKERS = [int(p) for p in os.environ["CITUS_WORKERS"].split()]
SPARE_WORKER = int(os.environ["CITUS_SPARE_WORKER"])
TOP10 = "SELECT id FROM {table} {where} ORDER BY embedding <=> %s::vector LIMIT 10"


def connect(port=None):
    return psycopg.connect(autocommit=True, **({"port": port} if port else {}))


def connect_worker(port):
    """A worker session that sees the shards in pg_class (Citus hides them from clients)."""
    conn = connect(port)
    conn.execute("SET citus.override_table_visibility = off")
    return conn


def copy_rows(conn, table, ids, vectors):
    """Loads (id bigint, tenant int, embedding) rows by binary COPY (vector_recv's format)."""
    rows = [struct.pack(">hiqiii", 3, 8, i, 4, i % TENANTS, 4 + 4 * len(v)) + struct.pack(">HH", len(v), 0) + v.astype(">f4").tobytes()
            for i, v in zip(ids, vectors)]
    stream = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + b"".join(rows) + struct.pack(">h", -1)
    with conn.cursor().copy(f"COPY {table} (id, tenant, embedding) FROM STDIN WITH (FORMAT binary)") as copy:
        copy.write(stream)


def search(conn, sql, params, ef_search):
    """One query at an hnsw.ef_search the shards see too: SET LOCAL inside a
    transaction, which Citus sends to the workers when
    citus.propagate_set_commands is 'local' (a session SET stays on the
    coordinator)."""
    with conn.transaction():
        conn.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
        return [r[0] for r in conn.execute(sql, params)]


def recall(conn, table, queries, exact, ef_search, where=""):
    """Mean recall@10 against `exact` (ids per query) and the fewest rows a query returned."""
    hits, fewest = 0, 10
    for query, truth in zip(queries, exact):
        found = search(conn, TOP10.format(table=table, where=where), (literal(query),), ef_search)
        hits += len(set(found) & set(truth))
        fewest = min(fewest, len(found))
    return hits / (10 * len(queries)), fewest


def explain(conn, sql, params):
    """The plan with the parameters bound on the client: Citus explains
    the shard queries by running EXPLAIN on the workers, which a query with
    unbound parameters fails."""
    query = psycopg.ClientCursor(conn).mogrify(sql, params)
    return "\n".join(r[0] for r in conn.execute("EXPLAIN (VERBOSE, COSTS OFF) " + query))


def shard_indexes(coordinator, conns):
    """(worker port, shard, its hnsw index) for every shard of docs, where citus_shards places it."""
    found = []
    for shard, port in coordinator.execute(
            "SELECT shard_name, nodeport FROM citus_shards WHERE table_name = 'docs'::regclass ORDER BY shard_name"):
        index = conns[port].execute(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw' AND i.indrelid = %s::regclass", (shard,)).fetchone()
        found.append((port, shard, index and index[0]))
    return found


def verify_shards(coordinator, conns, when):
    indexes = shard_indexes(coordinator, conns)
    check(f"{when}: each of the {SHARDS} shards has its hnsw index",
          len(indexes) == SHARDS and all(index for _, _, index in indexes), repr(indexes))
    for port, _, index in indexes:
        problems = conns[port].execute(f"SELECT block, item, problem FROM hnsw_verify('{index}')").fetchall()
        check(f"{when}: hnsw_verify of {index} on port {port} is clean", not problems, lambda: repr(problems[:3]))


def main():
    base = pydoc_minilm("base.fvecs")
    queries = pydoc_minilm("query.fvecs")
    searched = queries[:QUERIES]
    inserted = queries[QUERIES:QUERIES + INSERTED]
    during_rebalance = queries[QUERIES + INSERTED:]
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    similarity = unit(searched) @ unit(base).T
    exact = np.argsort(-similarity, axis=1)[:, :10]
    tenant = np.arange(len(base)) % TENANTS

    coordinator = connect()
    workers = {port: connect_worker(port) for port in WORKERS}
    for port in WORKERS:
        coordinator.execute("SELECT citus_add_node('localhost', %s)", (port,))
    check("the coordinator has two active workers",
          coordinator.execute("SELECT count(*) FROM citus_get_active_worker_nodes()").fetchone()[0] == 2)

    # CREATE EXTENSION on the coordinator is propagated to every worker.
    coordinator.execute("CREATE EXTENSION vector_ext")
    version = coordinator.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector_ext'").fetchone()[0]
    for port, conn in workers.items():
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector_ext'").fetchone()
        check(f"CREATE EXTENSION reached the worker on port {port} ({row})", row == (version,))

    # The same rows twice: distributed over the workers, and in a table of the coordinator's own.
    for table in ("docs", "docs_local"):
        coordinator.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, tenant int NOT NULL, embedding vector(384))")
    coordinator.execute(f"SELECT create_distributed_table('docs', 'id', shard_count := {SHARDS})")
    for table in ("docs", "docs_local"):
        copy_rows(coordinator, table, range(len(base)), base)
        coordinator.execute(f"CREATE INDEX {table}_embedding ON {table} USING hnsw (embedding vector_cosine_ops, tenant)")
        # Citus sends ANALYZE to every shard: their planners need the filter columns' statistics.
        coordinator.execute(f"ANALYZE {table}")
    verify_shards(coordinator, workers, "after CREATE INDEX")

    coordinator.execute("SET citus.propagate_set_commands = 'local'")
    coordinator.execute("SET citus.explain_all_tasks = on")
    q0 = (literal(searched[0]),)
    plan = explain(coordinator, TOP10.format(table="docs", where=""), q0)
    check(f"the top-10 query runs as {SHARDS} tasks", f"Task Count: {SHARDS}" in plan, plan)
    check("every task is an index scan under a LIMIT",
          len(re.findall(r"->  Limit\s+Output: id.*\n\s+->  Index Scan using docs_embedding_\d+ on public\.docs_\d+", plan)) == SHARDS, plan)
    check("the coordinator merges the tasks' rows by distance under the LIMIT",
          re.search(r"^Limit\n.*\n\s+->  Sort\n.*\n\s+Sort Key: remote_scan\.", plan) is not None, plan)

    for ef in (LOW_EF, 40):
        local, _ = recall(coordinator, "docs_local", searched, exact, ef)
        distributed, fewest = recall(coordinator, "docs", searched, exact, ef)
        print(f"recall@10 at ef_search {ef}: one server {local:.3f}, {SHARDS} shards {distributed:.3f}")
        check(f"ef_search {ef}: recall over {SHARDS} shards ({distributed:.3f}) is no worse than one server's ({local:.3f})",
              distributed >= local)
        check(f"ef_search {ef}: every distributed query returns 10 rows", fewest == 10)

    # Without iterative scans each shard returns at most ef_search rows: a
    # LIMIT 100 over 4 shards tells the ef_search the shards ran with.
    top100 = f"SELECT count(*) FROM (SELECT id FROM docs ORDER BY embedding <=> %s::vector LIMIT 100) s"
    check("SET LOCAL hnsw.ef_search reaches the shards (propagate_set_commands = 'local')",
          search(coordinator, top100, q0, 10) == [SHARDS * 10])
    with connect() as session:
        session.execute("SET hnsw.ef_search = 10")
        check("a session's SET hnsw.ef_search stays on the coordinator (the shards use their default, 40)",
              session.execute(top100, q0).fetchone()[0] == 100)
    coordinator.execute("ALTER DATABASE postgres SET hnsw.ef_search = 10")
    with connect() as session:
        check("ALTER DATABASE ... SET hnsw.ef_search reaches the shards of a new session",
              session.execute(top100, q0).fetchone()[0] == SHARDS * 10)
    coordinator.execute("ALTER DATABASE postgres RESET hnsw.ef_search")

    # Filter columns: the condition goes down to every shard, where the
    # planner weighs the filtered walk against a scan of the shard (at 10%
    # of a 10,000-row shard it sorts the matching rows, cheaper there).
    for where, mask, planned in (("WHERE tenant = 3", tenant == 3, False),
                                 ("WHERE tenant IN (3, 7)", np.isin(tenant, (3, 7)), True),
                                 ("WHERE tenant < 5", tenant < 5, True)):
        if planned:
            plan = explain(coordinator, TOP10.format(table="docs", where=where), q0)
            check(f"{where}: every task is an index scan with it as an Index Cond",
                  len(re.findall(r"Index Scan using docs_embedding_\d+.*\n(.*\n)*?\s+Index Cond: \(docs\.tenant", plan)) == SHARDS, plan)
        truth = [np.flatnonzero(mask)[np.argsort(-s[mask])[:10]] for s in similarity]
        found, fewest = recall(coordinator, "docs", searched, truth, 40, where)
        check(f"{where}: recall@10 {found:.3f} >= 0.95 and every query returns 10 rows", found >= 0.95 and fewest == 10)

    # A reference table (a copy on every node) with its own hnsw index.
    topics = base[:REFERENCE_ROWS]
    coordinator.execute("CREATE TABLE topics (id bigint PRIMARY KEY, tenant int NOT NULL, embedding vector(384))")
    coordinator.execute("SELECT create_reference_table('topics')")
    copy_rows(coordinator, "topics", range(len(topics)), topics)
    coordinator.execute("CREATE INDEX ON topics USING hnsw (embedding vector_cosine_ops)")
    coordinator.execute("ANALYZE topics")
    plan = explain(coordinator, TOP10.format(table="topics", where=""), q0)
    check("a reference table's top-10 runs as one task, an index scan",
          "Task Count: 1" in plan and re.search(r"Index Scan using topics_embedding_idx_\d+", plan) is not None, plan)
    found, _ = recall(coordinator, "topics", searched, np.argsort(-similarity[:, :REFERENCE_ROWS], axis=1)[:, :10], 40)
    check(f"the reference table's recall@10 ({found:.3f}) is at least 0.95", found >= 0.95)

    # Rows inserted one by one through the coordinator are found by their own vector.
    first_new = len(base)
    with coordinator.cursor() as cur:
        cur.executemany("INSERT INTO docs (id, tenant, embedding) VALUES (%s, %s, %s::vector)",
                        [(first_new + i, (first_new + i) % TENANTS, literal(v)) for i, v in enumerate(inserted)])
    missing = [i for i, v in enumerate(inserted)
               if first_new + i not in search(coordinator, TOP10.format(table="docs", where=""), (literal(v),), 40)]
    check(f"each of {INSERTED} rows inserted through the coordinator is found by its own vector ({len(missing)} missing)",
          not missing)

    # A third worker joins and the rebalancer moves shards to it in the
    # background, by logical replication: the moved shard's index is built
    # on the new worker, and rows inserted meanwhile reach it through the
    # index's inserts.
    coordinator.execute("SELECT citus_add_node('localhost', %s)", (SPARE_WORKER,))
    workers[SPARE_WORKER] = connect_worker(SPARE_WORKER)
    coordinator.execute("SELECT citus_rebalance_start()")
    for _ in range(600):
        if coordinator.execute("SELECT state FROM citus_rebalance_status()").fetchone()[0] != "scheduled":
            break
        time.sleep(0.1)
    first_during = first_new + INSERTED
    with coordinator.cursor() as cur:
        cur.executemany("INSERT INTO docs (id, tenant, embedding) VALUES (%s, %s, %s::vector)",
                        [(first_during + i, (first_during + i) % TENANTS, literal(v)) for i, v in enumerate(during_rebalance)])
    state = coordinator.execute("SELECT state FROM citus_rebalance_status()").fetchone()[0]
    print(f"the rebalance job was {state} when the {len(during_rebalance)} inserts ended")
    coordinator.execute("SELECT citus_rebalance_wait()")
    moved = coordinator.execute("SELECT count(*) FROM citus_shards WHERE table_name = 'docs'::regclass AND nodeport = %s",
                                (SPARE_WORKER,)).fetchone()[0]
    check(f"the rebalance moved shards to the new worker ({moved})", moved >= 1)
    verify_shards(coordinator, workers, "after the rebalance")
    # The README's way to verify every shard's index from the coordinator.
    results = coordinator.execute(
        "SELECT success, result FROM run_command_on_shards('docs', $$SELECT count(*) FROM hnsw_verify(("
        "SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
        "WHERE i.indrelid = '%s'::regclass AND a.amname = 'hnsw'))$$)").fetchall()
    check(f"run_command_on_shards runs hnsw_verify on every shard: no problems ({results})",
          len(results) == SHARDS and all(ok and result == "0" for ok, result in results))
    total = coordinator.execute("SELECT count(*) FROM docs").fetchone()[0]
    check(f"no row was lost ({total} rows)", total == len(base) + INSERTED + len(during_rebalance))
    # Every row, on every shard, is found by its own vector through its shard's index.
    unfound = 0
    for port, shard, _ in shard_indexes(coordinator, workers):
        conn = workers[port]
        conn.execute("SET hnsw.ef_search = 100")
        conn.execute("SET enable_seqscan = off")
        unfound += conn.execute(
            f"SELECT count(*) FROM {shard} r WHERE r.id NOT IN "
            f"(SELECT s.id FROM {shard} s ORDER BY s.embedding <=> r.embedding LIMIT 10)").fetchone()[0]
    check(f"after the rebalance every one of {total} rows is found by its own vector ({unfound} missing)", unfound == 0)
    # The inserted rows count for the exact answers now: their ids follow the base rows'.
    every_row = np.vstack([base, inserted, during_rebalance])
    exact = np.argsort(-(unit(searched) @ unit(every_row).T), axis=1)[:, :10]
    distributed, fewest = recall(coordinator, "docs", searched, exact, 40)
    check(f"after the rebalance recall@10 at ef_search 40 is {distributed:.3f} >= 0.95, 10 rows each",
          distributed >= 0.95 and fewest == 10)
    return summary("citus")


if __name__ == "__main__":
    sys.exit(main())
