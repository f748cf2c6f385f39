-- Partitioned tables: an hnsw index created on the parent cascades to every
-- partition; ORDER BY distance LIMIT k over the parent runs as a Merge
-- Append of the partitions' index scans, each in distance order; a WHERE
-- on the partition key prunes partitions; attaching, detaching and indexes
-- a partition already has behave as for any PostgreSQL index.

-- 4,500 rows of 16 dimensions, reproducible, in three partitions by
-- tenant; kind 0..4 is a filter column of the index.
CREATE TABLE docs (id int, tenant int NOT NULL, kind int, embedding vector(16)) PARTITION BY LIST (tenant);
CREATE TABLE docs_t0 PARTITION OF docs FOR VALUES IN (0);
CREATE TABLE docs_t1 PARTITION OF docs FOR VALUES IN (1);
CREATE TABLE docs_t2 PARTITION OF docs FOR VALUES IN (2);
CREATE FUNCTION row_vector(g int, seed int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY(SELECT (abs(hashint8extended(g * 16 + d, seed)) % 10000) / 10000.0 FROM generate_series(1, 16) d)::vector
$$;
INSERT INTO docs SELECT g, g % 3, g / 3 % 5, row_vector(g, 5) FROM generate_series(1, 4500) g;
-- The same rows in one table, for recall on one table.
CREATE TABLE docs_whole AS SELECT * FROM docs;
CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_l2_ops, kind);
CREATE INDEX docs_whole_embedding ON docs_whole USING hnsw (embedding vector_l2_ops, kind);
ANALYZE docs;
ANALYZE docs_whole;
CREATE TABLE queries AS SELECT g AS qid, row_vector(g, 77) AS embedding FROM generate_series(1, 30) g;

-- One index per partition, attached to the parent's (a partitioned index, no storage of its own).
SELECT c.relname AS partition_index, a.amname, p.relname AS parent_index
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent JOIN pg_am a ON a.oid = c.relam
WHERE p.relname = 'docs_embedding' ORDER BY 1;
SELECT relkind FROM pg_class WHERE relname = 'docs_embedding';
-- The parent's index has no pages of its own: verify says so, and how to
-- verify the partitions' indexes, which the next query does.
SELECT * FROM hnsw_verify('docs_embedding');
SELECT p.relid AS partition_index, count(v.*) AS problems
FROM pg_partition_tree('docs_embedding') p LEFT JOIN LATERAL hnsw_verify(p.relid) v ON true WHERE p.isleaf GROUP BY 1 ORDER BY 1;

-- Top-k over the parent: Merge Append of index scans, each ordered by distance.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY embedding <-> (SELECT embedding FROM queries WHERE qid = 1) LIMIT 10;
-- The partition key prunes: one partition left, then two.
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE tenant = 1 ORDER BY embedding <-> (SELECT embedding FROM queries WHERE qid = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE tenant IN (0, 2) ORDER BY embedding <-> (SELECT embedding FROM queries WHERE qid = 1) LIMIT 10;
-- A parameter prunes at execution (a generic plan), and a filter column goes down as an Index Cond.
PREPARE by_tenant(int, vector) AS SELECT id FROM docs WHERE tenant = $1 AND kind = 2 ORDER BY embedding <-> $2 LIMIT 10;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE by_tenant(1, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
RESET plan_cache_mode;

-- recall@10 of `table` (all rows, or those passing `condition`) against an
-- exact scan (the ORDER BY expression `+ 0` is not the indexed operator),
-- and the fewest rows a query returned.
CREATE FUNCTION recall(tab text, condition text DEFAULT 'true') RETURNS TABLE (recall numeric, fewest int)
LANGUAGE plpgsql AS $$
DECLARE
    by_index text := format('SELECT array_agg(id) FROM (SELECT id FROM %I WHERE %s ORDER BY embedding <-> $1 LIMIT 10) s', tab, condition);
    exact text := format('SELECT array_agg(id) FROM (SELECT id FROM %I WHERE %s ORDER BY (embedding <-> $1) + 0 LIMIT 10) s', tab, condition);
    q record;
    found int[];
    truth int[];
    hits int := 0;
BEGIN
    fewest := 10;
    FOR q IN SELECT embedding FROM queries ORDER BY qid LOOP
        PERFORM set_config('enable_seqscan', 'off', true);
        EXECUTE by_index INTO found USING q.embedding;
        PERFORM set_config('enable_seqscan', 'on', true);
        EXECUTE exact INTO truth USING q.embedding;
        hits := hits + (SELECT count(*) FROM unnest(found) f WHERE f = ANY(truth));
        fewest := least(fewest, coalesce(cardinality(found), 0));
    END LOOP;
    PERFORM set_config('enable_seqscan', 'off', true);
    recall := round(hits / (10.0 * (SELECT count(*) FROM queries)), 3);
    RETURN NEXT;
END $$;

-- At a small ef_search (recall below 1 on one table) the partitioned
-- table's recall is no worse: each partition's walk covers a third of the rows.
SET hnsw.ef_search = 10;
SELECT p.recall >= w.recall - 0.02 AS "partitioned no worse than one table", p.fewest, w.fewest
FROM recall('docs') p, recall('docs_whole') w;
RESET hnsw.ef_search;
SELECT recall >= 0.95 AS "recall >= 0.95", fewest FROM recall('docs');
SELECT recall >= 0.95 AS "recall >= 0.95", fewest FROM recall('docs', 'tenant = 1 AND kind = 2');
SELECT recall >= 0.95 AS "recall >= 0.95", fewest FROM recall('docs', 'kind IN (1, 4)');

-- Rows inserted through the parent go to their partition's index.
INSERT INTO docs SELECT g, g % 3, g / 3 % 5, row_vector(g, 5) FROM generate_series(4501, 4800) g;
SELECT count(*) AS "inserted rows not found by their own vector" FROM docs q
WHERE q.id > 4500 AND q.id <> ALL (ARRAY(SELECT id FROM docs ORDER BY embedding <-> q.embedding LIMIT 1));

-- A partition that already has a matching index: ATTACH adopts it (no
-- second index is built). One without an index gets one built.
CREATE TABLE docs_t3 (LIKE docs);
INSERT INTO docs_t3 SELECT g, 3, g / 3 % 5, row_vector(g, 5) FROM generate_series(5001, 5600) g;
CREATE INDEX docs_t3_own ON docs_t3 USING hnsw (embedding vector_l2_ops, kind);
CREATE TABLE docs_t4 (LIKE docs);
INSERT INTO docs_t4 SELECT g, 4, g / 3 % 5, row_vector(g, 5) FROM generate_series(6001, 6600) g;
-- An index of another operator class does not match: it stays, and a matching one is built beside it.
CREATE INDEX docs_t4_cosine ON docs_t4 USING hnsw (embedding vector_cosine_ops, kind);
ALTER TABLE docs ATTACH PARTITION docs_t3 FOR VALUES IN (3);
ALTER TABLE docs ATTACH PARTITION docs_t4 FOR VALUES IN (4);
SELECT c.relname AS index, t.relname AS "table", coalesce(p.relname, '-') AS parent_index
FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
WHERE t.relname IN ('docs_t3', 'docs_t4') ORDER BY 2, 1;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE tenant >= 3 ORDER BY embedding <-> (SELECT embedding FROM queries WHERE qid = 1) LIMIT 10;
SELECT count(*) AS "attached rows not found by their own vector" FROM docs q
WHERE q.tenant >= 3 AND q.id <> ALL (ARRAY(SELECT id FROM docs ORDER BY embedding <-> q.embedding LIMIT 1));

-- CREATE INDEX on the parent adopts a matching index a partition already has.
CREATE INDEX docs_t0_cosine ON docs_t0 USING hnsw (embedding vector_cosine_ops);
CREATE INDEX docs_cosine ON docs USING hnsw (embedding vector_cosine_ops);
SELECT t.relname AS "table", count(*) AS cosine_indexes, string_agg(c.relname, ', ' ORDER BY c.relname) AS names
FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_opclass o ON o.oid = x.indclass[0]
WHERE t.relname LIKE 'docs_t_' AND o.opcname = 'vector_cosine_ops' AND x.indnatts = 1
GROUP BY 1 ORDER BY 1;

-- DETACH: the partition keeps its index as an ordinary one, searched on
-- its own; the parent no longer returns its rows.
ALTER TABLE docs DETACH PARTITION docs_t1;
SELECT count(*) AS "parent rows of tenant 1" FROM docs WHERE tenant = 1;
SELECT count(*) AS "parent's nearest of tenant 1" FROM (SELECT tenant FROM docs ORDER BY embedding <-> (SELECT embedding FROM queries WHERE qid = 1) LIMIT 100) s WHERE tenant = 1;
EXPLAIN (COSTS OFF) SELECT id FROM docs_t1 ORDER BY embedding <-> (SELECT embedding FROM queries WHERE qid = 1) LIMIT 10;
SELECT recall >= 0.95 AS "detached partition's recall >= 0.95", fewest FROM recall('docs_t1');
SELECT count(*) AS "rows not found by their own vector" FROM docs_t1 q
WHERE q.id <> ALL (ARRAY(SELECT id FROM docs_t1 ORDER BY embedding <-> q.embedding LIMIT 1));
-- And it attaches again, its index adopted once more.
ALTER TABLE docs ATTACH PARTITION docs_t1 FOR VALUES IN (1);
SELECT count(*) AS "tenant 1 indexes under docs_embedding" FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid
WHERE i.inhparent = 'docs_embedding'::regclass AND x.indrelid = 'docs_t1'::regclass;
SELECT recall >= 0.95 AS "recall >= 0.95", fewest FROM recall('docs');

-- Deletes and VACUUM through the parent reach every partition's index.
DELETE FROM docs WHERE id % 4 = 0;
VACUUM docs;
SELECT p.relid AS partition_index, count(v.*) AS problems
FROM pg_partition_tree('docs_embedding') p LEFT JOIN LATERAL hnsw_verify(p.relid) v ON true WHERE p.isleaf GROUP BY 1 ORDER BY 1;
SELECT count(*) AS "rows not found by their own vector" FROM docs q
WHERE q.id <> ALL (ARRAY(SELECT id FROM docs ORDER BY embedding <-> q.embedding LIMIT 1));
SELECT recall >= 0.95 AS "recall >= 0.95", fewest FROM recall('docs');

-- ivfflat the same way.
DROP INDEX docs_embedding, docs_cosine;
CREATE INDEX docs_ivfflat ON docs USING ivfflat (embedding vector_l2_ops) WITH (lists = 5);
SET ivfflat.probes = 5;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE tenant <= 1 ORDER BY embedding <-> (SELECT embedding FROM queries WHERE qid = 1) LIMIT 10;
SELECT recall AS "ivfflat recall, every cell probed", fewest FROM recall('docs');
RESET ivfflat.probes;
RESET enable_seqscan;
DROP TABLE docs, docs_whole, queries;
DROP FUNCTION recall(text, text), row_vector(int, int);
