"""hnsw and ivfflat on bit strings (run by bit_index.sh), through the
libpq environment of the throwaway cluster."""
import sys

import numpy as np
import psycopg

from checks import check, summary
from vectors import pydoc_minilm, literal

ROWS = 10_000
INSERTED = 50
QUERIES = 1000
DIM = 384


def bit_literal(bits):
    return "".join("1" if b else "0" for b in bits)


def hamming(a, rows):
    return (rows != a).sum(axis=1).astype(np.float64)


def jaccard(a, rows):
    both = (rows & a).sum(axis=1)
    either = (rows | a).sum(axis=1)
    return np.where(both == 0, 1.0, 1.0 - both / np.maximum(either, 1))


def tie_aware_recall(conn, operator, distance, bits, queries):
    """Share of the first 10 rows an index scan returns that are as near as
    the exact tenth nearest."""
    hits = 0
    operator = operator.replace("%", "%%")  # a literal % among psycopg's placeholders
    for query in queries:
        exact = distance(query, bits)
        tenth = np.sort(exact)[9]
        found = [r[0] for r in conn.execute(f"SELECT id FROM items ORDER BY b {operator} %s::bit({DIM}) LIMIT 10", (bit_literal(query),))]
        hits += sum(1 for i in found if exact[i] <= tenth)
    return hits / (10 * len(queries))


def uses_index(conn, query, index):
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query))
    return f"Index Scan using {index}" in plan


def check_recall(conn, name, index_sql, settings, operator, distance, bits, queries, floor):
    conn.execute(index_sql)
    conn.execute(settings)
    index = index_sql.split()[2]
    check(f"{name}: the query uses {index}",
          uses_index(conn, f"SELECT id FROM items ORDER BY b {operator} '{bit_literal(bits[0])}'::bit({DIM}) LIMIT 10", index))
    recall = tie_aware_recall(conn, operator, distance, bits, queries)
    print(f"{name}: recall@10 {recall:.3f}")
    check(f"{name}: recall@10 at least {floor}", recall >= floor, f"{recall:.3f}")
    conn.execute(f"DROP INDEX {index}")
    return recall


def check_inserted_rows(conn, when):
    """Every row inserted after the build is found by its own bits through
    each index (the other one set aside), and each index verifies clean."""
    conn.execute("SET enable_seqscan = off")
    for index, other, setting in [("items_hamming", "items_ivf", "SET hnsw.ef_search = 100"), ("items_ivf", "items_hamming", "SET ivfflat.probes = 100")]:
        conn.execute(setting)
        conn.execute(f"UPDATE pg_index SET indisvalid = false WHERE indexrelid = '{other}'::regclass")
        # a row is found when the search returns it or a row with the same bits
        unfound = conn.execute(
            f"SELECT count(*) FROM items t WHERE t.id >= {ROWS} AND t.b NOT IN "
            f"(SELECT s.b FROM items s ORDER BY s.b <~> t.b LIMIT 10)").fetchone()[0]
        conn.execute(f"UPDATE pg_index SET indisvalid = true WHERE indexrelid = '{other}'::regclass")
        check(f"{index} {when}: every inserted row's bits are found", unfound == 0, f"{unfound} of {INSERTED} not found")
        am = "hnsw" if index == "items_hamming" else "ivfflat"
        problems = conn.execute(f"SELECT * FROM {am}_verify('{index}')").fetchall()
        check(f"{index} {when}: {am}_verify is clean", not problems, lambda: repr(problems[:3]))


def main():
    if sys.argv[1:] == ["recovered"]:
        with psycopg.connect(autocommit=True) as conn:
            check_inserted_rows(conn, "after crash recovery")
        return summary("bit_index recovered")
    base = pydoc_minilm("base.fvecs", ROWS + INSERTED)
    queries = pydoc_minilm("query.fvecs", QUERIES)
    bits = base[:ROWS] > 0
    query_bits = queries > 0
    with psycopg.connect(autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, v vector({DIM}), b bit({DIM}))")
        with conn.cursor().copy("COPY items (id, v) FROM STDIN") as copy:
            for i, v in enumerate(base[:ROWS]):
                copy.write_row((i, literal(v)))
        conn.execute(f"UPDATE items SET b = binary_quantize(v)::bit({DIM})")
        conn.execute("VACUUM ANALYZE items")
        same = conn.execute(f"SELECT count(*) FROM items WHERE b = %s::bit({DIM}) AND id = 0", (bit_literal(bits[0]),)).fetchone()[0]
        check("binary_quantize sets the bits of the positive components", same == 1)

        check_recall(conn, "hnsw bit_hamming_ops", "CREATE INDEX items_hamming ON items USING hnsw (b bit_hamming_ops)",
                     "SET hnsw.ef_search = 40", "<~>", hamming, bits, query_bits, 0.95)
        check_recall(conn, "hnsw bit_jaccard_ops", "CREATE INDEX items_jaccard ON items USING hnsw (b bit_jaccard_ops)",
                     "SET hnsw.ef_search = 40", "<%>", jaccard, bits, query_bits, 0.95)
        check_recall(conn, "ivfflat bit_hamming_ops, 10 of 100 probes",
                     "CREATE INDEX items_ivf ON items USING ivfflat (b bit_hamming_ops) WITH (lists = 100)",
                     "SET ivfflat.probes = 10", "<~>", hamming, bits, query_bits, 0.75)
        check_recall(conn, "ivfflat bit_hamming_ops, every probe",
                     "CREATE INDEX items_ivf ON items USING ivfflat (b bit_hamming_ops) WITH (lists = 100)",
                     "SET ivfflat.probes = 100", "<~>", hamming, bits, query_bits[:200], 1.0)

        # pgvector's recipe: Hamming candidates from an expression index, re-ranked by cosine distance
        conn.execute(f"CREATE INDEX items_quantized ON items USING hnsw ((binary_quantize(v)::bit({DIM})) bit_hamming_ops)")
        conn.execute("SET hnsw.ef_search = 100")
        rerank = (f"SELECT id FROM (SELECT id, v FROM items ORDER BY binary_quantize(v)::bit({DIM}) <~> binary_quantize(%s::vector) LIMIT 100) c "
                  f"ORDER BY v <=> %s::vector LIMIT 10")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + rerank.replace("%s", f"'{literal(queries[0])}'")))
        check("the re-ranking query uses the expression index", "Index Scan using items_quantized" in plan, plan)
        unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
        truth = np.argsort(-(unit(queries[:200]) @ unit(base[:ROWS]).T), axis=1)[:, :10]
        hits = 0
        for query, exact in zip(queries[:200], truth):
            q = literal(query)
            found = {r[0] for r in conn.execute(rerank, (q, q))}
            hits += len(found & set(exact))
        recall = hits / 2000
        print(f"binary quantization, 100 candidates re-ranked: recall@10 against exact cosine {recall:.3f}")
        check("binary quantization with re-ranking: recall@10 at least 0.8", recall >= 0.8, f"{recall:.3f}")
        conn.execute("DROP INDEX items_quantized")

        # inserts after the build are found by their own bits; verify stays clean
        conn.execute("CREATE INDEX items_hamming ON items USING hnsw (b bit_hamming_ops)")
        conn.execute("CREATE INDEX items_ivf ON items USING ivfflat (b bit_hamming_ops) WITH (lists = 100)")
        for i, v in enumerate(base[ROWS:]):
            conn.execute(f"INSERT INTO items VALUES (%s, %s, binary_quantize(%s::vector)::bit({DIM}))", (ROWS + i, literal(v), literal(v)))
        check_inserted_rows(conn, "after inserts")
    return summary("bit_index")


if __name__ == "__main__":
    sys.exit(main())
