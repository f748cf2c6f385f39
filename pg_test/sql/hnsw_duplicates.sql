-- Rows with identical vectors (the embedding of an empty text, a default)
-- among real data: SIFT 5k plus 1,000 copies of one vector, in the build
-- and inserted after it. Every copy is returned when a LIMIT asks for it,
-- the other rows keep their recall, and VACUUM removes copies one by one.
\getenv datadir VECTOR_EXT_DATA
\set siftfile :datadir '/sift5k-ngt/sift-dataset-5k.tsv'
CREATE TEMP TABLE raw (line text);
COPY raw FROM :'siftfile' WITH (FORMAT text, DELIMITER E'\x01');
CREATE TABLE items AS
SELECT (fields[129])::int AS id, (fields[1:128])::real[]::vector(128) AS embedding
FROM (SELECT string_to_array(line, E'\t') AS fields FROM raw) s;
CREATE TABLE queries AS SELECT * FROM items WHERE id > 104900;
DELETE FROM items WHERE id > 104900;
-- 500 copies of the first descriptor before the build, 500 after
INSERT INTO items SELECT 200000 + g, (SELECT embedding FROM items WHERE id = 100001) FROM generate_series(1, 500) g;
CREATE INDEX items_embedding ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
INSERT INTO items SELECT 200500 + g, (SELECT embedding FROM items WHERE id = 100001) FROM generate_series(1, 500) g;
SELECT count(*) AS rows, count(*) FILTER (WHERE id > 200000) AS copies FROM items;

-- exact answers
SET enable_indexscan = off;
CREATE TABLE truth AS
SELECT q.id, q.embedding, ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding, i.id LIMIT 10) AS ids FROM queries q;
RESET enable_indexscan;

SET enable_seqscan = off;
SET hnsw.ef_search = 40;
-- every copy, and the original, for a LIMIT of 1001 (far above ef_search)
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 100001) LIMIT 1001;
SELECT count(*) AS returned, count(*) FILTER (WHERE id = 100001 OR id > 200000) AS copies
FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 100001) LIMIT 1001) s;
-- a LIMIT of 10 gets 10 of them
SELECT count(*) AS returned FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 100001) LIMIT 10) s;

-- recall@10 of the other rows' queries at ef_search 40
CREATE FUNCTION recall() RETURNS float8 LANGUAGE sql AS $$
    SELECT avg((SELECT count(*) FROM unnest(found.ids) f WHERE f = ANY(t.ids)) / 10.0)
    FROM truth t,
    LATERAL (SELECT ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> t.embedding LIMIT 10) AS ids) found
$$;
SELECT recall() >= 0.9 AS "recall@10 at ef_search 40 >= 0.9";

-- every row is found by its own vector
CREATE FUNCTION unfindable() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM items t
    WHERE t.id NOT IN (SELECT i.id FROM items i ORDER BY i.embedding <-> t.embedding LIMIT 1001)
$$;
SET hnsw.ef_search = 100;
SELECT unfindable() AS "rows not found by their own vector";

-- VACUUM removes copies one by one: the original row and half of the
-- copies go, the rest stay findable
DELETE FROM items WHERE id = 100001 OR (id > 200000 AND id % 2 = 0);
VACUUM items;
SELECT count(*) AS copies_returned FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 200001) LIMIT 1001) s WHERE id > 200000;
SELECT * FROM hnsw_verify('items_embedding');
-- all copies gone: the element is freed, and a new copy starts afresh
DELETE FROM items WHERE id > 200000;
VACUUM items;
SELECT * FROM hnsw_verify('items_embedding');
INSERT INTO items SELECT 300000 + g, (SELECT embedding FROM queries WHERE id = 104901) FROM generate_series(1, 3) g;
SELECT array_agg(id ORDER BY id) AS copies FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 104901) LIMIT 4) s WHERE id >= 300000;
SELECT unfindable() AS "rows not found by their own vector";
SELECT * FROM hnsw_verify('items_embedding');
DROP TABLE items, queries, truth;
DROP FUNCTION recall(), unfindable();
