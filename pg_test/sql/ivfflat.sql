-- The ivfflat access method: recall against probes, the boundary miss,
-- inserts, VACUUM, empty tables, iterative scans, options.
SET enable_seqscan = off;

-- 4,000 points in 8 well-separated clusters, 8 lists
CREATE TABLE items (id int, embedding vector(4));
SELECT setseed(0.2);
INSERT INTO items
SELECT i, ARRAY[(i % 8) * 100 + random(), (i % 8 / 2) * 100 + random(), random(), random()]
FROM generate_series(1, 4000) i;
CREATE INDEX items_ivf ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 8);
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;

-- probes = lists is exact search; fewer probes can only find fewer
CREATE TABLE queries AS SELECT id, embedding FROM items WHERE id % 97 = 0;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TABLE truth AS
SELECT q.id, q.embedding, ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
RESET enable_indexscan;
SET enable_seqscan = off;
CREATE FUNCTION recall(probes int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE result float8;
BEGIN
    PERFORM set_config('ivfflat.probes', probes::text, true);
    SELECT avg((SELECT count(*) FROM unnest(found.ids) f WHERE f = ANY(t.ids)) / 10.0) INTO result
    FROM truth t, LATERAL (SELECT ARRAY(SELECT i.id FROM items i ORDER BY i.embedding <-> t.embedding LIMIT 10) AS ids) found;
    RETURN result;
END $$;
SELECT recall(1) AS r1, recall(2) AS r2, recall(8) AS r8 \gset
SELECT :r1 <= :r2 AND :r2 <= :r8 AS "recall grows with probes", :r8 = 1 AS "probes = lists is exact";

-- the boundary miss: a point placed just across the wall from a query's
-- cell is the true nearest neighbour, but probes = 1 does not see it
CREATE TABLE wall (id int, embedding vector(2));
INSERT INTO wall SELECT i, ARRAY[-10 - (i % 10), 0] FROM generate_series(1, 100) i;
INSERT INTO wall SELECT 100 + i, ARRAY[10 + (i % 10), 0] FROM generate_series(1, 100) i;
CREATE INDEX wall_ivf ON wall USING ivfflat (embedding vector_l2_ops) WITH (lists = 2);
INSERT INTO wall VALUES (999, '[0.2,0]');
SET ivfflat.probes = 1;
SELECT id FROM wall ORDER BY embedding <-> '[-0.2,0]' LIMIT 1;
SET ivfflat.probes = 2;
SELECT id FROM wall ORDER BY embedding <-> '[-0.2,0]' LIMIT 1;
RESET ivfflat.probes;

-- a filter that one cell cannot satisfy: iterative scans probe on
SELECT count(*) AS without_iterating FROM (SELECT id FROM items WHERE id % 8 = 5 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 10) s;
SET ivfflat.iterative_scan = relaxed_order;
SELECT count(*) AS iterating FROM (SELECT id FROM items WHERE id % 8 = 5 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 10) s;
SET ivfflat.max_probes = 1;
SELECT count(*) AS capped FROM (SELECT id FROM items WHERE id % 8 = 5 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 10) s;
RESET ivfflat.max_probes;
RESET ivfflat.iterative_scan;

-- inserts land in their cell; deleted rows never come back
INSERT INTO items VALUES (5001, '[700.5,300.5,0.5,0.5]');
SELECT id FROM items ORDER BY embedding <-> '[700.5,300.5,0.5,0.5]' LIMIT 1;
DELETE FROM items WHERE id = 5001;
SELECT id FROM items ORDER BY embedding <-> '[700.5,300.5,0.5,0.5]' LIMIT 1;
VACUUM items;
SELECT id FROM items ORDER BY embedding <-> '[700.5,300.5,0.5,0.5]' LIMIT 1;
-- many inserts into one cell chain new pages
INSERT INTO items SELECT 6000 + i, ARRAY[700 + i / 1000.0, 300, 0, 0] FROM generate_series(1, 500) i;
SET ivfflat.probes = 8;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[700,300,0,0]' LIMIT 100000) s;
RESET ivfflat.probes;

-- cosine and inner product cluster on unit-length centroids
CREATE INDEX items_cos ON items USING ivfflat (embedding vector_cosine_ops) WITH (lists = 4);
SET ivfflat.probes = 4;
SELECT ARRAY(SELECT id FROM items ORDER BY embedding <=> '[1,2,3,4]' LIMIT 5) AS ids \gset index_
DROP INDEX items_cos;
CREATE INDEX items_ip ON items USING ivfflat (embedding vector_ip_ops) WITH (lists = 4);
SELECT ARRAY(SELECT id FROM items ORDER BY embedding <#> '[1,2,3,4]' LIMIT 5) AS ids \gset ip_
DROP INDEX items_ip, items_ivf;
RESET enable_seqscan;
SELECT ARRAY(SELECT id FROM items ORDER BY embedding <=> '[1,2,3,4]' LIMIT 5) = :'index_ids'::int[] AS cosine_exact_at_all_probes,
       ARRAY(SELECT id FROM items ORDER BY embedding <#> '[1,2,3,4]' LIMIT 5) = :'ip_ids'::int[] AS ip_exact_at_all_probes;
RESET ivfflat.probes;
SET enable_seqscan = off;

-- an empty table: a NOTICE, and inserts still work
CREATE TABLE e (v vector(2));
CREATE INDEX ON e USING ivfflat (v vector_l2_ops) WITH (lists = 4);
INSERT INTO e VALUES ('[1,1]'), ('[5,5]');
SET ivfflat.probes = 4;
SELECT v FROM e ORDER BY v <-> '[1,2]' LIMIT 5;
RESET ivfflat.probes;

-- options
CREATE INDEX ON e USING ivfflat (v vector_l2_ops) WITH (lists = 0);
CREATE INDEX ON e USING ivfflat (v vector_l2_ops) WITH (lists = 32769);
SET ivfflat.probes = 0;
SET ivfflat.iterative_scan = strict_order;
CREATE INDEX ON e USING ivfflat (v vector_l1_ops);
SELECT opcname, amvalidate(oid) FROM pg_opclass WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'ivfflat') ORDER BY opcname;
DROP TABLE items, queries, truth, wall, e;
DROP FUNCTION recall;
