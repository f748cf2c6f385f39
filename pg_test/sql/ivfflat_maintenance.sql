-- ivfflat over a table's life: a build larger than maintenance_work_mem,
-- VACUUM making room that inserts reuse (the index keeps its size across
-- delete, VACUUM and re-insert cycles), and unlogged tables.
CREATE TABLE items (id int, embedding vector(16));
SELECT setseed(0.4);
INSERT INTO items SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16)) FROM generate_series(1, 20000) i;
-- the rows take 1.6 MB: k-means trains on a sample, the lists fill in a second pass
SET maintenance_work_mem = '1MB';
CREATE INDEX items_index ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 20);
RESET maintenance_work_mem;
SELECT pg_relation_size('items_index') AS built_size \gset
SELECT * FROM ivfflat_verify('items_index');
SET enable_seqscan = off;
SET ivfflat.probes = 20;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 100000) s;
-- delete half, VACUUM, insert; delete all, VACUUM, insert all again: the
-- size stays within a page per list of the built one
DELETE FROM items WHERE id % 2 = 0;
VACUUM items;
INSERT INTO items SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16)) FROM generate_series(20001, 30000) i;
DELETE FROM items;
VACUUM items;
INSERT INTO items SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16)) FROM generate_series(1, 20000) i;
SELECT pg_relation_size('items_index') <= :built_size + 20 * 8192 AS size_kept;
SELECT * FROM ivfflat_verify('items_index');
SELECT (SELECT count(*) FROM items) AS rows,
       (SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 100000) s) AS through_index;
-- exact with every list probed
SELECT count(*) = 10 AS exact FROM (
    (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 7) LIMIT 10)
    INTERSECT
    (SELECT id FROM items ORDER BY (embedding <-> (SELECT embedding FROM items WHERE id = 7)) + 0 LIMIT 10)
) hits;
DROP TABLE items;

-- unlogged tables get an init fork holding an empty, working index
CREATE UNLOGGED TABLE scratch (id int, embedding vector(3));
CREATE INDEX scratch_index ON scratch USING ivfflat (embedding vector_l2_ops) WITH (lists = 5);
INSERT INTO scratch SELECT i, ARRAY[i % 10, i % 7, i % 3] FROM generate_series(1, 500) i;
SELECT count(*) FROM (SELECT id FROM scratch ORDER BY embedding <-> '[1,1,1]' LIMIT 10) s;
SELECT * FROM ivfflat_verify('scratch_index');
DROP TABLE scratch;
