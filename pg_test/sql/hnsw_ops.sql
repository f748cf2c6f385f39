-- The hnsw access method: operator classes, options, NULLs, inserts,
-- deletes and VACUUM, empty tables, bad input.
SET enable_seqscan = off;

-- every operator class answers like a sequential scan on a small table
CREATE TABLE t (id int, v vector(3));
INSERT INTO t SELECT i, ARRAY[i % 7, i % 11 - 5, i % 13 + 1] FROM generate_series(1, 200) i;
INSERT INTO t VALUES (1000, NULL), (1001, '[0,0,0]');
CREATE INDEX t_l2 ON t USING hnsw (v vector_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '[3,1,2]' LIMIT 5;
SELECT id, v <-> '[3,1,2]' AS d FROM t ORDER BY v <-> '[3,1,2]', id LIMIT 5;
-- NULLs are not indexed: 201 of the 202 rows come back
SET hnsw.ef_search = 1000;
SELECT count(*) AS returned FROM (SELECT id FROM t ORDER BY v <-> '[3,1,2]' LIMIT 300) s;
RESET hnsw.ef_search;
-- without hnsw.iterative_scan an index scan returns at most ef_search rows
SELECT count(*) AS returned FROM (SELECT id FROM t ORDER BY v <-> '[3,1,2]' LIMIT 300) s;
DROP INDEX t_l2;
CREATE INDEX t_ip ON t USING hnsw (v vector_ip_ops);
SELECT id, v <#> '[3,1,2]' AS d FROM t ORDER BY v <#> '[3,1,2]', id LIMIT 3;
DROP INDEX t_ip;
CREATE INDEX t_cos ON t USING hnsw (v vector_cosine_ops);
SELECT id, round((v <=> '[3,1,2]')::numeric, 6) AS d FROM t ORDER BY v <=> '[3,1,2]' LIMIT 3;
-- the zero vector is not indexed under cosine (it has no direction): 200 rows
SET hnsw.ef_search = 1000;
SELECT count(*) AS returned FROM (SELECT id FROM t ORDER BY v <=> '[3,1,2]' LIMIT 300) s;
RESET hnsw.ef_search;
DROP INDEX t_cos;
CREATE INDEX t_l1 ON t USING hnsw (v vector_l1_ops);
SELECT id, v <+> '[3,1,2]' AS d FROM t ORDER BY v <+> '[3,1,2]', id LIMIT 3;
DROP INDEX t_l1;

-- inserts after the build are found
CREATE INDEX t_l2 ON t USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
INSERT INTO t SELECT i, ARRAY[100 + i, 100, 100] FROM generate_series(2000, 2200) i;
SELECT id FROM t ORDER BY v <-> '[2101.4,100,100]' LIMIT 3;

-- a query vector of the wrong dimension is an error; a NULL one (known only
-- at run time) orders nothing, so the index returns rows as a sequential scan would
SELECT id FROM t ORDER BY v <-> '[1,2]' LIMIT 1;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT NULL::vector) LIMIT 1) s;

-- a deleted row is never returned, before or after VACUUM
SELECT id FROM t ORDER BY v <-> '[2200.4,100,100]' LIMIT 3;
DELETE FROM t WHERE id >= 2000 AND id % 3 = 0;
SELECT id FROM t ORDER BY v <-> '[2200.4,100,100]' LIMIT 3;
VACUUM t;
SELECT id FROM t ORDER BY v <-> '[2200.4,100,100]' LIMIT 3;
-- the freed slots are reused: re-inserting does not grow the index
SELECT pg_relation_size('t_l2') AS size_before \gset
INSERT INTO t SELECT i, ARRAY[100 + i, 100, 100] FROM generate_series(2000, 2200) i WHERE i % 3 = 0;
SELECT pg_relation_size('t_l2') = :size_before AS same_size;
SELECT id FROM t ORDER BY v <-> '[2200.4,100,100]' LIMIT 1;
DROP TABLE t;

-- an empty table, and inserts into its index
CREATE TABLE e (v vector(2));
CREATE INDEX ON e USING hnsw (v vector_l2_ops);
SELECT * FROM e ORDER BY v <-> '[1,1]' LIMIT 1;
INSERT INTO e VALUES ('[1,1]'), ('[2,2]'), (NULL);
SELECT * FROM e ORDER BY v <-> '[2,2]' LIMIT 5;
DROP TABLE e;

-- the planner uses the index for ORDER BY ... LIMIT, not without LIMIT
CREATE TABLE p (id int, v vector(2));
INSERT INTO p SELECT i, ARRAY[i, i] FROM generate_series(1, 10000) i;
CREATE INDEX ON p USING hnsw (v vector_l2_ops);
ANALYZE p;
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <-> '[5,5]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <-> '[5,5]';
EXPLAIN (COSTS OFF) SELECT id FROM p WHERE v = '[5,5]';
DROP TABLE p;
SET enable_seqscan = off;

-- options are validated
CREATE TABLE o (v vector(3));
CREATE INDEX ON o USING hnsw (v vector_l2_ops) WITH (m = 1);
CREATE INDEX ON o USING hnsw (v vector_l2_ops) WITH (m = 101);
CREATE INDEX ON o USING hnsw (v vector_l2_ops) WITH (ef_construction = 3);
CREATE INDEX ON o USING hnsw (v vector_l2_ops) WITH (ef_construction = 1001);
CREATE INDEX ON o USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 31);
CREATE INDEX ON o USING hnsw (v vector_l2_ops) WITH (nonsense = 1);
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.iterative_scan = sideways;
-- dimensions are required; any number the type takes (up to 16,000)
-- indexes, a vector past 2,035 dimensions in chunks over several pages
CREATE TABLE d (v vector, w vector(4100), x vector(2000));
CREATE INDEX ON d USING hnsw (v vector_l2_ops);
CREATE INDEX d_w ON d USING hnsw (w vector_l2_ops);
CREATE INDEX ON d USING hnsw (x vector_l2_ops);
INSERT INTO d (w, x) SELECT array_fill(i, ARRAY[4100])::vector, array_fill(i, ARRAY[2000])::vector FROM generate_series(1, 3) i;
SELECT vector_dims(x) FROM d ORDER BY x <-> array_fill(2, ARRAY[2000])::vector LIMIT 1;
SELECT vector_dims(w), w <-> array_fill(2, ARRAY[4100])::vector AS distance FROM d ORDER BY w <-> array_fill(2, ARRAY[4100])::vector LIMIT 2;
SELECT count(*) AS problems FROM hnsw_verify('d_w');
DROP TABLE o, d;

-- a graph larger than maintenance_work_mem: a NOTICE, then the rest of the
-- rows go in on disk, and the index still answers exactly at a high ef_search
CREATE TABLE big (id int, v vector(64));
SELECT setseed(0.7);
INSERT INTO big SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 64)) FROM generate_series(1, 5000) i;
SET maintenance_work_mem = '1MB';
CREATE INDEX big_idx ON big USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
RESET maintenance_work_mem;
SET hnsw.ef_search = 1000;
SELECT ARRAY(SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 4999) LIMIT 5) AS ids \gset from_index_
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 4999) LIMIT 5) = :'from_index_ids'::int[] AS same_as_exact;
RESET enable_indexscan;
SET enable_seqscan = off;
RESET hnsw.ef_search;
DROP TABLE big;

-- REINDEX and CREATE INDEX CONCURRENTLY
CREATE TABLE r (id int, v vector(2));
INSERT INTO r SELECT i, ARRAY[i, 0] FROM generate_series(1, 100) i;
CREATE INDEX CONCURRENTLY r_idx ON r USING hnsw (v vector_l2_ops);
REINDEX INDEX r_idx;
SELECT id FROM r ORDER BY v <-> '[50.4,0]' LIMIT 3;
DROP TABLE r;
-- the opclasses pass amvalidate
SELECT opcname, amvalidate(oid) FROM pg_opclass WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'hnsw') ORDER BY opcname;
