-- Filter columns: USING hnsw (embedding vector_l2_ops, tenant, category, ...)
-- evaluates WHERE conditions on the integer columns after the vector inside
-- the graph walk (and ivfflat on each entry, at the end). A filtered index scan returns what a sequential scan
-- returns: LIMIT rows whenever that many match, all matching rows without
-- a LIMIT, with or without hnsw.iterative_scan.

-- 3,000 rows of 16 dimensions, reproducible; tenant 0..99 (1% each, some
-- NULL), category a bigint 0..9, flag a smallint 0..2, tag a text of 20
-- values (some NULL), labels an int[] of two labels out of 18 (some
-- empty); rows 2,001 to 2,100
-- repeat the vectors of rows 1 to 100 under other tenants, and rows 2,101
-- to 2,110 repeat rows 101 to 110 whole (they share an element).
CREATE TABLE items (id int, tenant int, category bigint, flag smallint, tag text, labels int[], embedding vector(16));
INSERT INTO items
SELECT g, CASE WHEN g % 97 = 0 THEN NULL ELSE g % 100 END, g / 7 % 10, g % 3,
       CASE WHEN g % 89 = 0 THEN NULL ELSE 'tag' || g % 20 END,
       CASE WHEN g % 83 = 0 THEN '{}' ELSE ARRAY[g % 7, 100 + g % 11] END,
       ARRAY(SELECT (abs(hashint8extended(g * 16 + d, 5)) % 10000) / 10000.0 FROM generate_series(1, 16) d)::vector
FROM generate_series(1, 3000) g;
UPDATE items SET embedding = (SELECT embedding FROM items o WHERE o.id = items.id - 2000), tenant = (id + 50) % 100 WHERE id BETWEEN 2001 AND 2100;
UPDATE items SET (embedding, tenant, category, flag) = (SELECT embedding, tenant, category, flag FROM items o WHERE o.id = items.id - 2000) WHERE id BETWEEN 2101 AND 2110;
CREATE INDEX items_filtered ON items USING hnsw (embedding vector_l2_ops, tenant, category, flag, tag, labels);
SELECT hnsw_verify('items_filtered') AS problems;
ANALYZE items;

-- The planner passes the conditions to the index; EXPLAIN shows them. IN
-- lists and = ANY(array) are index conditions too (am/hnsw/paths.rs).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant = 7 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant IN (1, 2, 3) AND category >= 5::int2 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE flag BETWEEN 1 AND 2 AND tenant = ANY('{4,5}'::bigint[]) ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tag IN ('tag1', 'tag2') AND labels && '{3}' ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;

-- For 12 query rows: the first k rows (k NULL: all) of the index scan with
-- `condition`, against a sequential scan's. `short` counts queries that
-- got fewer rows than the sequential scan, `missing` the rows of the
-- sequential scan's answer the index scan lacks, out of `expected` (rows
-- compared by distance: rows at one distance may come in either order).
CREATE FUNCTION compare_filtered(condition text, k int) RETURNS TABLE (expected bigint, short bigint, missing bigint)
LANGUAGE plpgsql AS $$
DECLARE
    q record;
    query text := format('SELECT array_agg(round((embedding <-> $1)::numeric, 5)) FROM (SELECT embedding FROM items WHERE %s ORDER BY embedding <-> $1 LIMIT %s) s',
                         condition, coalesce(k::text, 'ALL'));
    by_index numeric[];
    exact numeric[];
BEGIN
    expected := 0; short := 0; missing := 0;
    FOR q IN SELECT embedding FROM items WHERE id % 250 = 0 ORDER BY id LOOP
        PERFORM set_config('enable_seqscan', 'off', true);
        PERFORM set_config('enable_indexscan', 'on', true);
        EXECUTE query INTO by_index USING q.embedding;
        PERFORM set_config('enable_seqscan', 'on', true);
        PERFORM set_config('enable_indexscan', 'off', true);
        EXECUTE query INTO exact USING q.embedding;
        expected := expected + coalesce(cardinality(exact), 0);
        short := short + (coalesce(cardinality(by_index), 0) < coalesce(cardinality(exact), 0))::int;
        missing := missing + (SELECT count(*) FROM (
            SELECT d FROM unnest(exact) d EXCEPT ALL SELECT d FROM unnest(by_index) d) lacking);
    END LOOP;
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_indexscan', 'on', true);
    RETURN NEXT;
END $$;

-- Every kind of condition, at selectivities from 50% to none; ef_search
-- 100 (the walk is exact at this size). Without a LIMIT every matching
-- row comes back. Text and label conditions are decided on hashes and
-- signatures and rechecked by the executor: the answers are still exact.
SET hnsw.ef_search = 100;
SELECT c AS condition, k, r.*
FROM (VALUES ('tenant = 7'), ('tenant = 7::int8'), ('tenant IN (1, 2, 3)'), ('tenant = ANY(''{5,50,500}''::int2[])'),
             ('tenant < 50'), ('tenant <= 0'), ('tenant > 98'), ('tenant >= 99'), ('tenant BETWEEN 10 AND 12'),
             ('category = 3 AND flag = 1'), ('tenant = 7 AND category > 4'), ('category < 10::int2 AND flag >= 2::int8'),
             ('tenant = 1000'), ('tenant = NULL'), ('tenant IN (NULL, 8)'), ('tenant > 5 AND tenant < 5'),
             ('tenant = ANY(''{}''::int[])'), ('tag = ''tag3'''), ('tag IN (''tag1'', ''tag2'', ''none'')'),
             ('tag = ''tag3'' AND tenant < 50'), ('labels && ''{3}'''), ('labels && ''{3, 104}'''), ('labels @> ''{3, 104}'''),
             ('labels @> ''{}'''), ('labels && ''{}'''), ('labels && ''{3}'' AND tag = ''tag5''')) AS conditions (c),
     (VALUES (10), (NULL)) AS limits (k),
     LATERAL compare_filtered(c, k) r
ORDER BY k NULLS LAST, c;

-- The same with iterative scans on in either order, and at a small ef_search.
SET hnsw.iterative_scan = relaxed_order;
SELECT r.* FROM compare_filtered('tenant IN (3, 4)', 10) r;
SET hnsw.iterative_scan = strict_order;
SELECT r.* FROM compare_filtered('tenant IN (3, 4)', 10) r;
RESET hnsw.iterative_scan;
SET hnsw.ef_search = 10;
SELECT r.expected, r.short FROM compare_filtered('tenant = 9', 10) r;
SELECT r.expected, r.short FROM compare_filtered('category = 2', NULL) r;
RESET hnsw.ef_search;

-- Every row is found by its own vector under its own tenant, the repeated
-- vectors too (rows with one vector and different filter values are
-- separate elements; a row and its whole copy are both at distance 0).
SELECT count(*) AS "rows not found under their tenant" FROM items q
WHERE tenant IS NOT NULL
  AND id <> ALL (ARRAY(SELECT id FROM items WHERE tenant = q.tenant ORDER BY embedding <-> q.embedding LIMIT 2));
SELECT count(*) AS "rows not found under another tenant" FROM items q
WHERE tenant IS NOT NULL
  AND id = ANY (ARRAY(SELECT id FROM items WHERE tenant = (q.tenant + 1) % 100 ORDER BY embedding <-> q.embedding LIMIT 2));

-- Inserts, deletes and VACUUM keep the filtered answers exact: rows added
-- under new tenants, a third of the rows deleted, their slots reused.
INSERT INTO items (id, tenant, category, flag, embedding) SELECT 3000 + g, 200 + g % 3, g % 10, g % 3,
       ARRAY(SELECT (abs(hashint8extended(g * 16 + d, 9)) % 10000) / 10000.0 FROM generate_series(1, 16) d)::vector
FROM generate_series(1, 300) g;
DELETE FROM items WHERE id % 3 = 0;
VACUUM items;
INSERT INTO items (id, tenant, category, flag, embedding) SELECT 4000 + g, 300, g % 10, 1,
       ARRAY(SELECT (abs(hashint8extended(g * 16 + d, 11)) % 10000) / 10000.0 FROM generate_series(1, 16) d)::vector
FROM generate_series(1, 200) g;
SELECT hnsw_verify('items_filtered') AS problems;
SELECT c AS condition, r.*
FROM (VALUES ('tenant = 201'), ('tenant = 300'), ('tenant >= 200'), ('tenant = 7'), ('flag = 2')) AS conditions (c),
     LATERAL compare_filtered(c, 10) r
ORDER BY c;

-- A query without conditions on the filter columns works as before.
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10) s;
-- An ORDER BY NULL (every row at the same distance) still applies the filter.
SELECT count(*) FROM (SELECT id FROM items WHERE tenant = 300 ORDER BY embedding <-> NULL LIMIT 1000) s;

-- A filter column of a built index changes no vector's answer: a prepared
-- statement with a parameter runs the same condition for each value.
PREPARE by_tenant(int, vector) AS SELECT id FROM items WHERE tenant = $1 ORDER BY embedding <-> $2 LIMIT 5;
EXPLAIN (COSTS OFF) EXECUTE by_tenant(7, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
EXECUTE by_tenant(7, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
EXECUTE by_tenant(8, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
SET enable_indexscan = off;
RESET enable_seqscan;
EXECUTE by_tenant(7, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
EXECUTE by_tenant(8, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
RESET enable_indexscan;
SET enable_seqscan = off;

-- The planner: with few matching rows a btree on the filter column and a
-- sort win over the filtered walk; with many, the filtered walk.
RESET enable_seqscan;
CREATE INDEX items_tenant ON items (tenant);
CREATE INDEX items_flag ON items (flag);
ANALYZE items;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant BETWEEN 7 AND 8 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE flag >= 1 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
-- tenant is a linked column (am/hnsw/values.rs): a walk for tenant = 7
-- follows the links among tenant 7's 30 rows only, reading a page for
-- each, which the planner charges as it charges the btree plan's heap
-- pages: on this table of 60 pages fetching and sorting the 30 rows wins.
-- The walk reads no more lists than tenant 7 has rows (a walk of the whole
-- graph would pass about a hundred rows of other tenants for each of
-- tenant 7's).
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant = 7 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
DROP INDEX items_tenant, items_flag;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant = 7 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
SELECT count(*) FROM (SELECT id FROM items WHERE tenant = 7 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10) found;
SELECT rows, neighbor_lists <= 30 AS "at most tenant 7's rows walked" FROM hnsw_last_scan();

-- Errors: the vector comes first, filter columns are integers, text or
-- integer arrays (ivfflat too).
CREATE INDEX ON items USING hnsw (tenant);
CREATE INDEX ON items USING hnsw (tenant, embedding);
CREATE INDEX ON items USING hnsw (embedding, embedding vector_l2_ops);
CREATE INDEX ON items USING hnsw (embedding, (tenant::numeric));
CREATE INDEX ON items USING hnsw (embedding, (ARRAY[tag]));
CREATE COLLATION ignore_case (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE INDEX ON items USING hnsw (embedding, (tag COLLATE ignore_case));
CREATE INDEX ON items USING ivfflat (tenant, embedding);

-- ivfflat takes the same filter columns: each entry keeps the values, a
-- scan skips the entries that fail before computing their distance and
-- probes on, cell after cell, until it has its rows. Exact with every cell
-- probed; complete (never short) with one.
DROP INDEX items_filtered;
CREATE INDEX items_ivfflat ON items USING ivfflat (embedding vector_l2_ops, tenant, category, flag, tag, labels) WITH (lists = 20);
SELECT ivfflat_verify('items_ivfflat') AS problems;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant IN (1, 2) AND flag = 1 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
SET ivfflat.probes = 20;
SELECT c AS condition, k, r.*
FROM (VALUES ('tenant = 7'), ('tenant IN (201, 300)'), ('tenant >= 200 AND flag = 2'), ('category < 3::int8'),
             ('tag = ''tag3'''), ('labels @> ''{3, 104}''')) AS conditions (c),
     (VALUES (10), (NULL)) AS limits (k),
     LATERAL compare_filtered(c, k) r
ORDER BY k NULLS LAST, c;
SET ivfflat.probes = 1;
SELECT c AS condition, r.expected, r.short
FROM (VALUES ('tenant = 7'), ('tenant IN (201, 300)'), ('tenant >= 200 AND flag = 2'), ('category < 3::int8'),
             ('tag = ''tag3'''), ('labels @> ''{3, 104}''')) AS conditions (c),
     LATERAL compare_filtered(c, 10) r
ORDER BY c;
INSERT INTO items (id, tenant, category, flag, embedding) SELECT 5000 + g, 400, 0, 0,
       ARRAY(SELECT (abs(hashint8extended(g * 16 + d, 13)) % 10000) / 10000.0 FROM generate_series(1, 16) d)::vector
FROM generate_series(1, 30) g;
SELECT r.expected, r.short FROM compare_filtered('tenant = 400', 10) r;
RESET ivfflat.probes;
RESET enable_seqscan;

DROP FUNCTION compare_filtered;
DROP COLLATION ignore_case;
DROP TABLE items;
