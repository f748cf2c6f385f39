-- An index scan returns what a sequential scan returns, for every query the
-- planner can send it, and counts itself in pg_stat_user_indexes.
CREATE TABLE items (id int, category int, embedding vector(3));
SELECT setseed(0.2);
INSERT INTO items SELECT i, i % 100, ARRAY[random(), random(), random()] FROM generate_series(1, 3000) i;
INSERT INTO items VALUES (0, 0, '[0,0,0]');  -- no cosine direction: not in a cosine index
CREATE INDEX items_l2 ON items USING hnsw (embedding vector_l2_ops);
CREATE INDEX items_cosine ON items USING hnsw (embedding vector_cosine_ops);
SET enable_seqscan = off;

-- ORDER BY distance to a NULL known only at run time (a constant NULL is
-- folded away by the planner): every row, as a sequential scan gives them
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 5000;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 5000) s;
-- a zero query under cosine: every indexed row (as in pgvector, a cosine
-- index leaves out the zero row, which has no direction)
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[0,0,0]' LIMIT 5000;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY embedding <=> '[0,0,0]' LIMIT 5000) s;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <=> (SELECT NULL::vector) LIMIT 5000) s;

-- the same through ivfflat
DROP INDEX items_l2, items_cosine;
CREATE INDEX items_ivf_l2 ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 10);
CREATE INDEX items_ivf_cosine ON items USING ivfflat (embedding vector_cosine_ops) WITH (lists = 10);
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 5000) s;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY embedding <=> '[0,0,0]' LIMIT 5000) s;
DROP INDEX items_ivf_l2, items_ivf_cosine;

-- scans count in idx_scan (statistics reach the view at transaction end)
CREATE INDEX items_l2 ON items USING hnsw (embedding vector_l2_ops);
SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 1 \gset
SELECT id FROM items ORDER BY embedding <-> '[0.2,0.5,0.5]' LIMIT 1 \gset
SELECT pg_stat_force_next_flush();
SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_l2';

-- a selective filter: with iterative scans off the index would stop after
-- ef_search candidates and return fewer rows than exist, so the planner
-- prefers a sequential scan with a sort (1 row in 100 matches)
RESET enable_seqscan;
ANALYZE items;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE category = 7 ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (SELECT id FROM items WHERE category = 7 ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 20) s;
-- with no filter the index wins
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5]' LIMIT 20;
SELECT * FROM hnsw_verify('items_l2');
-- the verify functions name what they were given when it is not their index
SELECT * FROM hnsw_verify(0);
SELECT * FROM hnsw_verify('items');
SELECT * FROM ivfflat_verify('items_l2');
DROP TABLE items;
