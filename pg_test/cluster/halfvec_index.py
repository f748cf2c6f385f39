"""hnsw and ivfflat on halfvec (run by halfvec_index.sh), through the
libpq environment of the throwaway cluster."""
import sys

import numpy as np
import psycopg

from checks import check, summary
from vectors import pydoc_minilm, literal

ROWS = 10_000
INSERTED = 50
QUERIES = 1000
TOLERANCE = 0.01


def load(conn, vectors, first_id=0):
    with conn.cursor().copy("COPY items (id, v) FROM STDIN") as copy:
        for i, v in enumerate(vectors):
            copy.write_row((first_id + i, literal(v)))
    conn.execute(f"UPDATE items SET h = v::halfvec WHERE id >= {first_id}")


def recall(conn, column, operator, queries, truth):
    hits = 0
    for query, exact in zip(queries, truth):
        found = [r[0] for r in conn.execute(f"SELECT id FROM items ORDER BY {column} {operator} %s::vector LIMIT 10", (literal(query),))]
        hits += len(set(found) & set(exact))
    return hits / (10 * len(queries))


def uses_index(conn, column, operator, index):
    plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT id FROM items ORDER BY {column} {operator} '{literal(np.zeros(384))}' LIMIT 10"))
    return f"Index Scan using {index}" in plan


def compare_cosine(conn, am, settings, queries, truth):
    recalls = {}
    for column in ("v", "h"):
        conn.execute(f"CREATE INDEX items_{column}_{am} ON items USING {am} ({column} {'vector' if column == 'v' else 'halfvec'}_cosine_ops)"
                     + (" WITH (lists = 100)" if am == "ivfflat" else ""))
        conn.execute(settings)
        check(f"{am}: the query on {column} uses its index", uses_index(conn, column, "<=>", f"items_{column}_{am}"))
        recalls[column] = recall(conn, column, "<=>", queries, truth)
        conn.execute(f"DROP INDEX items_{column}_{am}")
    print(f"{am}: recall@10 vector {recalls['v']:.3f}, halfvec {recalls['h']:.3f}")
    check(f"{am}: halfvec recall within {TOLERANCE} of vector's", recalls["h"] >= recalls["v"] - TOLERANCE,
          f"{recalls['h']:.3f} against {recalls['v']:.3f}")
    check(f"{am}: recall is below 1 at these settings (the comparison means something)", recalls["v"] < 1.0)


def check_inserted_rows(conn, when):
    """Every row inserted after the build is found by its own vector through
    each index (the other one set aside), and each index verifies clean."""
    for index, setting in [("items_h_hnsw", "SET hnsw.ef_search = 100"), ("items_h_ivfflat", "SET ivfflat.probes = 100")]:
        conn.execute("SET enable_seqscan = off")
        conn.execute(setting)
        other = "items_h_ivfflat" if index == "items_h_hnsw" else "items_h_hnsw"
        conn.execute(f"UPDATE pg_index SET indisvalid = false WHERE indexrelid = '{other}'::regclass")
        unfound = conn.execute(
            f"SELECT count(*) FROM items t WHERE t.id >= {ROWS} AND t.id NOT IN "
            f"(SELECT s.id FROM items s ORDER BY s.h <=> t.h LIMIT 10)").fetchone()[0]
        conn.execute(f"UPDATE pg_index SET indisvalid = true WHERE indexrelid = '{other}'::regclass")
        check(f"{index} {when}: every inserted row is found by its own vector", unfound == 0, f"{unfound} of {INSERTED} not found")
        am = "hnsw" if "hnsw" in index else "ivfflat"
        problems = conn.execute(f"SELECT * FROM {am}_verify('{index}')").fetchall()
        check(f"{index} {when}: {am}_verify is clean", not problems, lambda: repr(problems[:3]))
    conn.execute("RESET enable_seqscan")


def main():
    if sys.argv[1:] == ["recovered"]:
        with psycopg.connect(autocommit=True) as conn:
            check_inserted_rows(conn, "after crash recovery")
        return summary("halfvec_index recovered")
    base = pydoc_minilm("base.fvecs", ROWS + INSERTED)
    queries = pydoc_minilm("query.fvecs", QUERIES)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    truth = np.argsort(-(unit(queries) @ unit(base[:ROWS]).T), axis=1)[:, :10]
    with psycopg.connect(autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, v vector(384), h halfvec(384))")
        load(conn, base[:ROWS])
        conn.execute("VACUUM ANALYZE items")

        compare_cosine(conn, "hnsw", "SET hnsw.ef_search = 10", queries, truth)
        compare_cosine(conn, "ivfflat", "SET ivfflat.probes = 5", queries, truth)

        # every other hnsw opclass: index results against an exact scan of the halfvec column
        conn.execute("SET hnsw.ef_search = 100")
        for opclass, operator in [("halfvec_l2_ops", "<->"), ("halfvec_ip_ops", "<#>"), ("halfvec_l1_ops", "<+>")]:
            conn.execute(f"CREATE INDEX items_h_other ON items USING hnsw (h {opclass})")
            hits = 0
            for query in queries[:100]:
                q = literal(query)
                found = {r[0] for r in conn.execute(f"SELECT id FROM items ORDER BY h {operator} %s::halfvec LIMIT 10", (q,))}
                conn.execute("SET enable_indexscan = off")
                exact = {r[0] for r in conn.execute(f"SELECT id FROM items ORDER BY h {operator} %s::halfvec LIMIT 10", (q,))}
                conn.execute("RESET enable_indexscan")
                hits += len(found & exact)
            print(f"hnsw {opclass}: recall@10 against an exact scan at ef_search 100: {hits / 1000:.3f}")
            check(f"hnsw {opclass}: recall@10 against an exact scan at least 0.95", hits / 1000 >= 0.95, f"{hits / 1000:.3f}")
            conn.execute("DROP INDEX items_h_other")

        # inserts after the build are found by their own vector; verify stays clean
        conn.execute("CREATE INDEX items_h_hnsw ON items USING hnsw (h halfvec_cosine_ops)")
        conn.execute("CREATE INDEX items_h_ivfflat ON items USING ivfflat (h halfvec_cosine_ops) WITH (lists = 100)")
        load(conn, base[ROWS:], first_id=ROWS)
        check_inserted_rows(conn, "after inserts")

        # a halfvec index rejects a query of other dimensions with halfvec's message
        try:
            conn.execute("SELECT id FROM items ORDER BY h <=> '[1,2]'::halfvec LIMIT 1").fetchall()
            check("a query of other dimensions is an error", False)
        except psycopg.errors.DataException as error:
            check("a query of other dimensions is an error naming halfvec", "halfvec" in str(error), str(error))
    return summary("halfvec_index")


if __name__ == "__main__":
    sys.exit(main())
