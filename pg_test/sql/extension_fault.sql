-- A page added to an index is all zeros until the WAL record that
-- initializes it commits; an ERROR (or a crash) in between leaves it so for
-- good. The test-only fault point raises that ERROR on demand: every later
-- insert, scan, VACUUM and verify must treat the page as empty.
CREATE EXTENSION pageinspect;
CREATE FUNCTION new_pages(index regclass) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM generate_series(0, pg_relation_size(index) / 8192 - 1) block
    WHERE (page_header(get_raw_page(index::text, block::int))).upper = 0 $$;
SELECT setseed(0.3);
CREATE TABLE hnsw_items (id int, embedding vector(3));
CREATE INDEX hnsw_index ON hnsw_items USING hnsw (embedding vector_l2_ops);
CREATE TABLE ivfflat_items (id int, embedding vector(3));
CREATE INDEX ivfflat_index ON ivfflat_items USING ivfflat (embedding vector_l2_ops) WITH (lists = 1);

SET vector_ext.fault_after_extend = on;
-- the first insert into an empty hnsw index adds a page
INSERT INTO hnsw_items VALUES (1, '[1,2,3]');
RESET vector_ext.fault_after_extend;
INSERT INTO hnsw_items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(2, 400) i;
INSERT INTO ivfflat_items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(1, 400) i;
SET vector_ext.fault_after_extend = on;
-- these fail once their rows fill the last page
INSERT INTO hnsw_items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(401, 1000) i;
INSERT INTO ivfflat_items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(401, 1000) i;
RESET vector_ext.fault_after_extend;
SELECT new_pages('hnsw_index') > 0 AS hnsw_has_new_pages, new_pages('ivfflat_index') > 0 AS ivfflat_has_new_pages;
SELECT count(*) FROM hnsw_verify('hnsw_index');
SELECT count(*) FROM ivfflat_verify('ivfflat_index');

-- VACUUM, inserts that reuse and add pages, scans and verify all work
DELETE FROM hnsw_items WHERE id % 3 = 0;
DELETE FROM ivfflat_items WHERE id % 3 = 0;
VACUUM hnsw_items, ivfflat_items;
INSERT INTO hnsw_items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(1001, 1400) i;
INSERT INTO ivfflat_items SELECT i, ARRAY[random(), random(), random()] FROM generate_series(1001, 1400) i;
SELECT * FROM hnsw_verify('hnsw_index');
SELECT * FROM ivfflat_verify('ivfflat_index');
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM hnsw_items) AS rows,
       (SELECT count(*) FROM (SELECT id FROM hnsw_items ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 10000) s) AS through_index;
SELECT (SELECT count(*) FROM ivfflat_items) AS rows,
       (SELECT count(*) FROM (SELECT id FROM ivfflat_items ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 10000) s) AS through_index;
DROP TABLE hnsw_items, ivfflat_items;
DROP FUNCTION new_pages;
DROP EXTENSION pageinspect;
