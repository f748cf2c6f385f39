-- Recall of the hnsw index against exact search on real data: the SIFT 5k
-- set, 4,900 rows indexed and the last 100 descriptors as queries.
\getenv datadir VECTOR_EXT_DATA
\set siftfile :datadir '/sift5k-ngt/sift-dataset-5k.tsv'
CREATE TEMP TABLE raw (line text);
COPY raw FROM :'siftfile' WITH (FORMAT text, DELIMITER E'\x01');
CREATE TABLE sift AS
SELECT (fields[129])::int AS id, (fields[1:128])::real[]::vector(128) AS embedding
FROM (SELECT string_to_array(line, E'\t') AS fields FROM raw) s;
CREATE TABLE items AS SELECT * FROM sift WHERE id <= 104900;
CREATE TABLE queries AS SELECT * FROM sift WHERE id > 104900;
SELECT count(*) AS indexed, (SELECT count(*) FROM queries) AS queries FROM items;
CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);

-- exact answers
SET enable_indexscan = off;
CREATE TABLE truth AS
SELECT q.id, q.embedding, ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
RESET enable_indexscan;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> t.embedding LIMIT 10) FROM truth t;

-- recall@10 = the share of the exact top 10 the index returns
CREATE FUNCTION recall(ef int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    result float8;
BEGIN
    PERFORM set_config('hnsw.ef_search', ef::text, true);
    SELECT avg((SELECT count(*) FROM unnest(found.ids) f WHERE f = ANY(t.ids)) / 10.0) INTO result
    FROM truth t,
    LATERAL (SELECT ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> t.embedding LIMIT 10) AS ids) found;
    RETURN result;
END $$;
SELECT recall(40) >= 0.88 AS "recall@10 at ef_search 40 >= 0.88";
SELECT recall(100) >= 0.95 AS "recall@10 at ef_search 100 >= 0.95";
SELECT recall(10) AS r10, recall(40) AS r40, recall(400) AS r400 \gset
SELECT :r10 < :r40 AND :r40 < :r400 AS "recall grows with ef_search";

-- after deleting 20% of the rows and vacuuming, recall stays within 0.02
-- of what it was (truth recomputed over the surviving rows)
DELETE FROM items WHERE id % 5 = 0;
VACUUM items;
RESET enable_seqscan;
SET enable_indexscan = off;
DROP TABLE truth;
CREATE TABLE truth AS
SELECT q.id, q.embedding, ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
RESET enable_indexscan;
SET enable_seqscan = off;
SELECT recall(40) >= :r40 - 0.02 AS "recall@10 at ef_search 40 after deleting 20% and VACUUM";

-- with a high ef_search on a small table the index returns exactly the
-- sequential scan's order
-- (distances are compared: SIFT has duplicate vectors, tied in any order)
CREATE TABLE small AS SELECT * FROM items WHERE id <= 100300;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TABLE small_truth AS
SELECT q.id, ARRAY(SELECT s.embedding <-> q.embedding FROM small s ORDER BY 1 LIMIT 20) AS distances FROM queries q;
RESET enable_indexscan;
CREATE INDEX ON small USING hnsw (embedding vector_l2_ops);
SET enable_seqscan = off;
SET hnsw.ef_search = 400;
SELECT bool_and(ARRAY(SELECT s.embedding <-> q.embedding FROM small s ORDER BY s.embedding <-> q.embedding LIMIT 20) = t.distances)
    AS index_order_is_exact
FROM queries q JOIN small_truth t USING (id);
RESET hnsw.ef_search;
DROP TABLE sift, items, queries, truth, small, small_truth;
DROP FUNCTION recall;
