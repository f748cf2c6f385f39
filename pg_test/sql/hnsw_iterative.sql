-- Filtered queries: with hnsw.iterative_scan the index keeps searching until
-- LIMIT rows pass the filter (or hnsw.max_scan_tuples is reached).
CREATE TABLE items (id int, category int, embedding vector(8));
SELECT setseed(0.1);
INSERT INTO items SELECT i, i % 50, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 8)) FROM generate_series(1, 5000) i;
CREATE INDEX ON items USING hnsw (embedding vector_l2_ops);
SET enable_seqscan = off;
SET hnsw.ef_search = 10;
-- 1 row in 50 matches: ef_search 10 finds too few without iterating
SELECT count(*) < 10 AS too_few FROM (SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
-- hnsw_last_scan() tells what that scan did: one batch at ef 10
SELECT searches, ef_search, distances >= 10 AS scored, neighbor_lists > 0 AS expanded, pages > 0 AS pinned, rows <= 10 AS "at most ef rows" FROM hnsw_last_scan();
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
-- ... and this one resumed its search, batch after batch, each twice as
-- wide, until 10 rows passed the filter
SELECT searches > 1 AS iterated, ef_search > 10 AS widened, rows >= 10 AS "at least 10 rows" FROM hnsw_last_scan();
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS rows, bool_and(d >= prev) AS ascending FROM (
    SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev FROM (
        SELECT row_number() OVER () AS n, embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS d FROM (
            SELECT embedding FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) a) b) c;
-- the rows found are (nearly all of) the true nearest matching rows
SET hnsw.iterative_scan = relaxed_order;
SELECT ARRAY(SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) AS ids \gset index_
SET enable_indexscan = off;
RESET enable_seqscan;
SELECT count(*) >= 9 AS "at least 9 of the true 10" FROM unnest(:'index_ids'::int[]) found
WHERE found IN (SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10);
RESET enable_indexscan;
SET enable_seqscan = off;
-- the cap stops the search
SET hnsw.max_scan_tuples = 20;
SELECT count(*) < 10 AS capped FROM (SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
RESET hnsw.max_scan_tuples;
-- so does memory: a search may use work_mem x hnsw.scan_mem_multiplier (1 to 1000)
SET hnsw.scan_mem_multiplier = 0.5;
SET hnsw.scan_mem_multiplier = 1001;
SET work_mem = '64kB';
SET hnsw.scan_mem_multiplier = 1;
SELECT count(*) AS rows FROM (SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 1000) s \gset small_
SELECT searches AS searches FROM hnsw_last_scan() \gset small_
SET hnsw.scan_mem_multiplier = 1000;
SELECT count(*) AS rows FROM (SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 1000) s \gset large_
SELECT searches AS searches FROM hnsw_last_scan() \gset large_
SELECT :small_searches < :large_searches AS "fewer searches in 64kB", :small_rows < :large_rows AS "fewer rows", :large_rows AS "rows with 64 MB";
RESET work_mem;
RESET hnsw.scan_mem_multiplier;
-- without LIMIT the planner may use the index only when iterating
RESET enable_seqscan;
RESET hnsw.iterative_scan;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]';
DROP TABLE items;
