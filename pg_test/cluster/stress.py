"""Concurrent stress on one index (run by stress.sh, once per access method).

    python stress.py hnsw|ivfflat SECONDS

Connects through the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE) of
the throwaway cluster, where `CREATE EXTENSION vector_ext` has been run.
Creates table stress_<am> (id bigint primary key, cat int, embedding
vector(32)) with 4,000 rows and its index (hnsw on (embedding, cat)), then
for SECONDS runs at once:
  - 2 inserters (one row per statement, new ids),
  - 1 deleter and 1 updater of the vector column (one existing row per
    statement: no transaction ever waits on two row locks, so a deadlock can
    only come from the index itself),
  - 1 client running VACUUM in a loop, every other time while another
    session holds an index-scan cursor open and idle (VACUUM must not wait),
  - 3 searchers: ORDER BY embedding <-> q LIMIT 10 with enable_seqscan off,
    plain, iterative (relaxed_order) and filtered (WHERE cat = k, iterative),
    plus, for hnsw, whose index has cat as a filter column, WHERE cat = k
    and WHERE cat IN (k, k + 1) without iterative scans (the walk applies
    them), and for ivfflat, probes = lists (which must be exact).
Every search runs in a REPEATABLE READ transaction and is checked against an
exact scan in the same snapshot (SET LOCAL enable_indexscan = off): each
returned row is visible and returned once, its reported distance is the exact
distance of that row, the rows pass the filter, come in distance order unless
the scan is relaxed_order, and iterative scans return min(10, matching rows)
(they go on until the rows run out: max_scan_tuples / max_probes are above
the table size). Recall is the share of the exact top 10 found (by distance,
so ties do not count against the index).
Afterwards every live row must be found by an own-vector search (hnsw
ef_search 100, ivfflat probes = lists; LIMIT 100).
Every statement has a 60 s statement_timeout and a 20 s lock_timeout, and the
run as a whole a deadline, so a hang is a failure, not a stuck CI. Prints one
line per check, the counts, and `stress <am>: N passed, M failed`.
"""
import collections
import itertools
import math
import random
import sys
import threading
import time
import traceback

import numpy as np
import psycopg

import checks
from checks import check

AM = sys.argv[1]
SECONDS = float(sys.argv[2])
TABLE = f"stress_{AM}"
ROWS = 4000
DIM = 32
CATEGORIES = 10
LISTS = 40
HNSW_PLAIN_RECALL_FLOOR = 0.8
IVFFLAT_PLAIN_PROBES = 10
IVFFLAT_PLAIN_RECALL_FLOOR = 0.5
# Allowed past the deadline for the clients to finish their last statement
# (each is bounded by statement_timeout = 60 s).
GRACE = 90

lock = threading.Lock()
statements = collections.Counter()      # kind -> statements run
errors = collections.Counter()          # (kind, sqlstate) -> count
error_examples = {}                     # (kind, sqlstate) -> first message
problems = collections.Counter()        # search check -> failures
problem_examples = {}                   # search check -> first failure
recall = collections.defaultdict(list)  # search kind -> per-search recall
next_id = itertools.count(ROWS + 1)
highest = [ROWS]                        # highest id inserted so far
rows_changed = collections.Counter()    # rows inserted and deleted
stop = threading.Event()




def connect():
    return psycopg.connect("", autocommit=True,
                           options="-c statement_timeout=60s -c lock_timeout=20s")


def vec(rng):
    return "[" + ",".join(f"{x:.6f}" for x in rng.random(DIM)) + "]"


def record_error(kind, error):
    state = getattr(error, "sqlstate", None) or type(error).__name__
    with lock:
        errors[(kind, state)] += 1
        error_examples.setdefault((kind, state), str(error).strip().splitlines()[0])


def problem(name, detail):
    with lock:
        problems[name] += 1
        problem_examples.setdefault(name, detail)


def client(kind, body, seed):
    """Runs body(conn, rng) until the deadline; a statement error is counted
    and the client goes on (on a fresh connection if the old one is gone)."""
    rng = np.random.default_rng(seed)
    conn = None
    while not stop.is_set():
        try:
            if conn is None or conn.closed:
                conn = connect()
            done = body(conn, rng)
            with lock:
                statements[done or kind] += 1
        except psycopg.Error as error:
            record_error(kind, error)
            if conn is not None and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                try:
                    conn.rollback()
                except psycopg.Error:
                    conn.close()
            if conn is not None and conn.broken:
                conn = None
                time.sleep(0.5)
        except Exception as error:  # a bug in this script: report it, stop this client
            traceback.print_exc()
            record_error(kind, error)
            return
    if conn is not None:
        conn.close()


def live_estimate():
    return ROWS + rows_changed["inserted"] - rows_changed["deleted"]


def insert(conn, rng):
    # The table stays between 0.75 and 1.25 times its first size: the
    # final own-vector searches check every row.
    while live_estimate() > 1.25 * ROWS and not stop.is_set():
        time.sleep(0.005)
    new = next(next_id)
    conn.execute(f"INSERT INTO {TABLE} VALUES (%s, %s, %s::vector)",
                 (new, int(rng.integers(CATEGORIES)), vec(rng)))
    highest[0] = max(highest[0], new)
    with lock:
        rows_changed["inserted"] += 1


def existing_id(rng):
    # Somewhere in the id range; the statement takes the first row at or above it.
    return int(rng.integers(1, highest[0] + 1))


def delete(conn, rng):
    while live_estimate() < 0.75 * ROWS and not stop.is_set():
        time.sleep(0.005)
    deleted = conn.execute(f"DELETE FROM {TABLE} WHERE id = (SELECT id FROM {TABLE} WHERE id >= %s ORDER BY id LIMIT 1)",
                           (existing_id(rng),)).rowcount
    with lock:
        rows_changed["deleted"] += deleted


def update(conn, rng):
    conn.execute(f"UPDATE {TABLE} SET embedding = %s::vector "
                 f"WHERE id = (SELECT id FROM {TABLE} WHERE id >= %s ORDER BY id LIMIT 1)",
                 (vec(rng), existing_id(rng)))
    time.sleep(0.002)


def vacuum(conn, rng):
    if rng.random() < 0.5:
        conn.execute(f"VACUUM {TABLE}")
        time.sleep(0.2)
        return "vacuum"
    # VACUUM while another session has an index scan open and idle (a cursor
    # between two FETCHes): it must not wait for the cursor (a 20 s
    # statement_timeout turns such a wait into an error), and the cursor
    # must go on afterwards.
    settings = {"hnsw": "SET LOCAL hnsw.iterative_scan = relaxed_order",
                "ivfflat": "SET LOCAL ivfflat.iterative_scan = relaxed_order"}[AM]
    with connect() as idle:
        with idle.transaction():
            idle.execute("SET LOCAL enable_seqscan = off")
            idle.execute(settings)
            cursor = idle.cursor(name="idle_scan")
            cursor.execute(f"SELECT id FROM {TABLE} ORDER BY embedding <-> %s::vector LIMIT 50", (vec(rng),))
            first = cursor.fetchmany(5)
            conn.execute("SET statement_timeout = '20s'")
            try:
                conn.execute(f"VACUUM {TABLE}")
            finally:
                conn.execute("RESET statement_timeout")
            rest = cursor.fetchall()
            cursor.close()
    if len(first) + len(rest) != 50:
        problem("a cursor open across a VACUUM returned fewer than 50 rows", f"{len(first)} + {len(rest)}")
    time.sleep(0.2)
    return "vacuum with an idle cursor open"


# Search kinds: settings for the index query, whether the result must come in
# distance order, whether it must hold min(10, matching rows), and its WHERE
# (on cat, or none). The hnsw index has cat as a filter column, so its
# filtered searches evaluate the WHERE inside the walk and must be complete
# without iterative scans.
EQUAL = "cat = %(cat)s"
IN_LIST = "cat IN (%(cat)s, %(cat2)s)"
SEARCHES = {
    "hnsw": {
        "plain": ("SET LOCAL hnsw.ef_search = 40", True, False, None),
        # ef_search 10 for LIMIT 10: dead rows make the scan iterate.
        "iterative": ("SET LOCAL hnsw.ef_search = 10; SET LOCAL hnsw.iterative_scan = relaxed_order;"
                      " SET LOCAL hnsw.max_scan_tuples = 1000000", False, True, None),
        "filtered": ("SET LOCAL hnsw.ef_search = 40; SET LOCAL hnsw.iterative_scan = relaxed_order;"
                     " SET LOCAL hnsw.max_scan_tuples = 1000000", False, True, EQUAL),
        "filter column": ("SET LOCAL hnsw.ef_search = 10", False, True, EQUAL),
        "filter column IN": ("SET LOCAL hnsw.ef_search = 10", False, True, IN_LIST),
    },
    "ivfflat": {
        "plain": (f"SET LOCAL ivfflat.probes = {IVFFLAT_PLAIN_PROBES}", True, False, None),
        "all lists": (f"SET LOCAL ivfflat.probes = {LISTS}", True, True, None),
        "iterative": ("SET LOCAL ivfflat.probes = 1; SET LOCAL ivfflat.iterative_scan = relaxed_order",
                      False, True, None),
        "filtered": ("SET LOCAL ivfflat.probes = 1; SET LOCAL ivfflat.iterative_scan = relaxed_order",
                     False, True, EQUAL),
    },
}[AM]


def search(conn, rng):
    kind = list(SEARCHES)[int(rng.integers(len(SEARCHES)))]
    settings, ordered, complete, condition = SEARCHES[kind]
    q = vec(rng)
    cat = int(rng.integers(CATEGORIES))
    cat2 = (cat + 1) % CATEGORIES
    cats = {cat, cat2} if condition == IN_LIST else {cat}
    where = f"WHERE {condition}" if condition else ""
    query = f"SELECT id, embedding <-> %(q)s::vector FROM {TABLE} {where} ORDER BY embedding <-> %(q)s::vector LIMIT 10"
    params = {"q": q, "cat": cat, "cat2": cat2}
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SET LOCAL enable_seqscan = off")
        for setting in settings.split(";"):
            conn.execute(setting)
        got = conn.execute(query, params).fetchall()
        conn.execute("SET LOCAL enable_indexscan = off")
        conn.execute("SET LOCAL enable_seqscan = on")
        exact = conn.execute(query, params).fetchall()
        ids = [i for i, _ in got]
        rows = {i: (c, d) for i, c, d in conn.execute(
            f"SELECT id, cat, embedding <-> %(q)s::vector FROM {TABLE} WHERE id = ANY(%(ids)s)",
            {"q": q, "ids": ids})}
        matching = conn.execute(f"SELECT count(*) FROM {TABLE} {where}", params).fetchone()[0]
    what = f"{kind} search q={q} cats={sorted(cats)}"
    if len(set(ids)) != len(ids):
        problem("a row returned twice", f"{what}: {ids}")
    for i, d in got:
        if i not in rows:
            problem("a row returned that is not visible in the snapshot (deleted or never committed)", f"{what}: id {i}")
        elif rows[i][1] != d:
            problem("a reported distance differs from the row's exact distance", f"{what}: id {i}: {d} vs {rows[i][1]}")
        elif condition and rows[i][0] not in cats:
            problem("a row returned that fails the filter", f"{what}: id {i} has cat {rows[i][0]}")
    distances = [d for _, d in got]
    if ordered and distances != sorted(distances):
        problem("rows out of distance order", f"{what}: {distances}")
    if complete and len(got) != min(10, matching):
        problem("an iterative scan returned fewer than min(10, matching rows)",
                f"{what}: {len(got)} rows, {matching} match")
    if exact:
        kth = exact[-1][1]
        hits = sum(1 for _, d in got if d <= kth)
        with lock:
            recall[kind].append(min(hits, len(exact)) / len(exact))
    return f"search: {kind}"


def setup():
    rng = np.random.default_rng(7)
    with connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, cat int NOT NULL, embedding vector({DIM}))")
        with conn.cursor().copy(f"COPY {TABLE} (id, cat, embedding) FROM STDIN") as copy:
            for i in range(1, ROWS + 1):
                copy.write_row((i, int(rng.integers(CATEGORIES)), vec(rng)))
        using = ("hnsw (embedding vector_l2_ops, cat) WITH (m = 16, ef_construction = 64)" if AM == "hnsw"
                 else f"ivfflat (embedding vector_l2_ops) WITH (lists = {LISTS})")
        conn.execute(f"CREATE INDEX {TABLE}_embedding_idx ON {TABLE} USING {using}")
        conn.execute(f"ANALYZE {TABLE}")
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            f"EXPLAIN SELECT id FROM {TABLE} WHERE cat = 3 ORDER BY embedding <-> %s::vector LIMIT 10", (vec(rng),)))
        check(f"the searches run as scans of {TABLE}_embedding_idx", f"Index Scan using {TABLE}_embedding_idx" in plan,
              plan.replace("\n", " | "))
        if AM == "hnsw":
            check("the hnsw index evaluates WHERE cat = 3 itself", "Index Cond: (cat = 3)" in plan, plan.replace("\n", " | "))


def run():
    workers = ([("insert", insert)] * 2 + [("delete", delete), ("update", update), ("vacuum", vacuum)]
               + [("search", search)] * 3)
    threads = [threading.Thread(target=client, args=(kind, body, 100 + n), daemon=True)
               for n, (kind, body) in enumerate(workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=max(0.0, started + SECONDS + GRACE - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    elapsed = time.monotonic() - started
    check(f"every client finished within {SECONDS + GRACE:.0f} s (no hang)", stuck == 0,
          f"{stuck} clients still in a statement after {elapsed:.0f} s")
    return stuck


def report():
    print(f"-- statements ({SECONDS:.0f} s; rows inserted {rows_changed['inserted']}, deleted {rows_changed['deleted']}):")
    for kind, n in sorted(statements.items()):
        print(f"   {kind:20} {n}")
    print("-- errors by client and SQLSTATE:" + ("" if errors else " none"))
    for (kind, state), n in sorted(errors.items()):
        print(f"   {kind:10} {state:8} {n}  e.g. {error_examples[(kind, state)]}")
    deadlocks = sum(n for (_, state), n in errors.items() if state == "40P01")
    lock_timeouts = sum(n for (_, state), n in errors.items() if state == "55P03")
    statement_timeouts = sum(n for (_, state), n in errors.items() if state == "57014")
    other = sum(errors.values()) - deadlocks - lock_timeouts - statement_timeouts
    print(f"   deadlocks {deadlocks}, lock timeouts {lock_timeouts}, statement timeouts {statement_timeouts}, other {other}")
    check("no deadlock (40P01)", deadlocks == 0, f"{deadlocks}")
    check("no lock timeout (55P03)", lock_timeouts == 0, f"{lock_timeouts}")
    check("no statement timeout (57014: a statement hung for 60 s)", statement_timeouts == 0, f"{statement_timeouts}")
    check("no other error", other == 0, f"{other}")
    for kind in SEARCHES:
        check(f"{kind} searches ran", statements[f"search: {kind}"] > 0, "none")
    for name in ("a row returned twice",
                 "a row returned that is not visible in the snapshot (deleted or never committed)",
                 "a reported distance differs from the row's exact distance",
                 "a row returned that fails the filter",
                 "rows out of distance order",
                 "an iterative scan returned fewer than min(10, matching rows)",
                 "a cursor open across a VACUUM returned fewer than 50 rows"):
        check(f"searches: never {name}", problems[name] == 0,
              lambda: f"{problems[name]} times, first: {problem_examples[name]}")
    print("-- recall@10 against the exact scan in the same snapshot:")
    for kind, values in recall.items():
        print(f"   {kind:10} mean {np.mean(values):.4f}  min {np.min(values):.2f}  searches {len(values)}")
    plain = float(np.mean(recall["plain"])) if recall["plain"] else 0.0
    floor = HNSW_PLAIN_RECALL_FLOOR if AM == "hnsw" else IVFFLAT_PLAIN_RECALL_FLOOR
    check(f"plain searches: mean recall@10 {plain:.4f} >= {floor}", plain >= floor)
    if AM == "ivfflat":
        exact = recall["all lists"]
        check("probes = lists searches are exact (recall 1 every time)", exact and min(exact) == 1.0,
              lambda: f"{sum(1 for r in exact if r < 1)} of {len(exact)} below 1")


def find_every_row():
    with connect() as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET hnsw.ef_search = 100")
        conn.execute(f"SET ivfflat.probes = {LISTS}")
        own = (f"SELECT r.id FROM {TABLE} r WHERE NOT r.id = ANY(ARRAY("
               f"SELECT t.id FROM {TABLE} t ORDER BY t.embedding <-> r.embedding LIMIT 100))")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + own))
        check(f"own-vector searches run as scans of {TABLE}_embedding_idx",
              f"Index Scan using {TABLE}_embedding_idx" in plan, plan.replace("\n", " | "))
        missing = [r[0] for r in conn.execute(own)]
        live = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        # Tells "not found by the search" from "not reachable at all": a full
        # walk (an iterative scan asked for every row) from one point.
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        conn.execute("SET hnsw.max_scan_tuples = 100000000")
        conn.execute("SET ivfflat.iterative_scan = relaxed_order")
        walked = {r[0] for r in conn.execute(
            f"SELECT id FROM {TABLE} ORDER BY embedding <-> %s::vector LIMIT 100000000", ("[" + ",".join(["0.5"] * DIM) + "]",))}
        unreached = [i for i in missing if i not in walked]
        print(f"-- {live} live rows; missing by own-vector search: {len(missing)}"
              f" ({len(unreached)} of them also missing from a full walk, which returned {len(walked)} rows)")
        check(f"every one of the {live} live rows is found by an own-vector search", not missing,
              f"{len(missing)} missing ({len(unreached)} not reached by a full walk either), e.g. {missing[:10]}")


print(f"-- stress {AM}: {ROWS} rows, vector({DIM}), {SECONDS:.0f} s")
try:
    setup()
    stuck = run()
    report()
    if not stuck:
        find_every_row()
except Exception as error:
    traceback.print_exc()
    check("stress ran to the end", False, repr(error))
status = checks.summary(f"stress {AM}")
sys.stdout.flush()
# os._exit: a hung client thread must not keep the interpreter alive.
import os
os._exit(status)
