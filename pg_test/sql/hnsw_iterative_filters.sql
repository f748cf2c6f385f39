-- Iterative scans under very selective filters keep going until the LIMIT
-- is met, hnsw.max_scan_tuples is reached or the next search would need more
-- than work_mem x hnsw.scan_mem_multiplier, and find the true nearest
-- matching rows (strict and relaxed order alike).
CREATE TABLE items (i int, embedding vector(3));
SELECT setseed(0.5);
INSERT INTO items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(1, 50000) i;
CREATE INDEX ON items USING hnsw (embedding vector_l2_ops);
SET enable_seqscan = off;
SET hnsw.max_scan_tuples = 50000;
-- 10 rows match, scattered over the graph: 512 kB stops short of them (a
-- search resumed to the end holds about 600 kB here) ...
SET work_mem = '512kB';
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) BETWEEN 1 AND 9 AS "stopped by memory" FROM (SELECT i FROM items WHERE i % 5000 = 0 ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 11) s;
-- ... four times as much lets LIMIT 11 return all 10
SET hnsw.scan_mem_multiplier = 4;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT i FROM items WHERE i % 5000 = 0 ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 11) s;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) FROM (SELECT i FROM items WHERE i % 5000 = 0 ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 11) s;
-- 1 row in 500 matches: recall@20 against an exact scan, over 20 queries
CREATE TEMP TABLE queries AS SELECT q, ARRAY[random(), random(), random()]::vector(3) AS embedding FROM generate_series(1, 20) q;
CREATE TEMP TABLE truth AS
SELECT q, ARRAY(SELECT i FROM items WHERE i % 500 = 0 ORDER BY (items.embedding <-> queries.embedding) + 0 LIMIT 20) AS ids FROM queries;
SET hnsw.iterative_scan = relaxed_order;
SELECT avg(cardinality(ARRAY(SELECT unnest(ids) INTERSECT
           (SELECT i FROM items WHERE i % 500 = 0 ORDER BY items.embedding <-> queries.embedding LIMIT 20)))) / 20 >= 0.99 AS relaxed_recall
FROM queries JOIN truth USING (q);
SET hnsw.iterative_scan = strict_order;
SELECT avg(cardinality(ARRAY(SELECT unnest(ids) INTERSECT
           (SELECT i FROM items WHERE i % 500 = 0 ORDER BY items.embedding <-> queries.embedding LIMIT 20)))) / 20 >= 0.99 AS strict_recall
FROM queries JOIN truth USING (q);
DROP TABLE items;
