-- hnsw and ivfflat on halfvec. ivfflat keeps float2 elements, as pgvector:
-- up to 4,000 dimensions (a float2 entry of 4,000 fills a page); hnsw
-- widens keys to float4 and takes up to 16,000. Answers equal to a
-- sequential scan's (every probe, a wide ef_search), inserts, VACUUM and
-- clear limits.
SET enable_seqscan = off;

-- 300 rows of 4,000 dimensions (values exact in float2), a NULL
CREATE TABLE h (id int, v halfvec(4000));
INSERT INTO h SELECT i, (SELECT array_agg(((i * 31 + j * 17 + (i * j) % 101) % 23 - 11)::real / 4) FROM generate_series(1, 4000) j)::halfvec(4000)
FROM generate_series(1, 300) i;
INSERT INTO h VALUES (301, NULL);
CREATE INDEX h_l2 ON h USING ivfflat (v halfvec_l2_ops) WITH (lists = 10);
EXPLAIN (COSTS OFF) SELECT id FROM h ORDER BY v <-> (SELECT v FROM h WHERE id = 1) LIMIT 5;
-- an entry per page: the index is about 300 pages, not the 600 float4 would take
SELECT pg_relation_size('h_l2') / 8192 BETWEEN 300 AND 330 AS float2_entries;

-- The distances of the first 10 rows an index scan returns, against an
-- exact scan's (ordered by the distance + 0, which no index serves), to 5
-- decimals: the index orders cosine by the inner product of unit vectors
-- in float4, which may swap two rows 1e-7 apart
CREATE FUNCTION first_distances(op text, query halfvec, use_index bool) RETURNS numeric[] LANGUAGE plpgsql AS $$
DECLARE result numeric[];
BEGIN
    EXECUTE format('SELECT array_agg(round(d::numeric, 5)) FROM (SELECT v %s $1 AS d FROM h ORDER BY (v %s $1)%s LIMIT 10) x',
                   op, op, CASE WHEN use_index THEN '' ELSE ' + 0' END)
        INTO result USING query;
    RETURN result;
END $$;
SET ivfflat.probes = 10;
SELECT count(*) FILTER (WHERE first_distances('<->', q.v, true) = first_distances('<->', q.v, false)) AS l2_exact, count(*) AS queries
FROM h q WHERE q.id % 15 = 0 AND q.v IS NOT NULL;
-- every row is found by its own vector
SELECT count(*) AS not_found FROM h t WHERE t.v IS NOT NULL
  AND t.id NOT IN (SELECT x.id FROM h x ORDER BY x.v <-> t.v LIMIT 1);
-- inserts, deletes and VACUUM
INSERT INTO h SELECT i, (SELECT array_agg(((i * 7 + j * 3 + (i * j) % 29) % 19 - 9)::real / 2) FROM generate_series(1, 4000) j)::halfvec(4000)
FROM generate_series(1001, 1020) i;
DELETE FROM h WHERE id % 3 = 0;
VACUUM h;
SELECT count(*) AS not_found FROM h t WHERE t.v IS NOT NULL
  AND t.id NOT IN (SELECT x.id FROM h x ORDER BY x.v <-> t.v LIMIT 1);
SELECT count(*) AS deleted_returned FROM (SELECT id FROM h ORDER BY v <-> (SELECT v FROM h WHERE id = 1) LIMIT 400) x WHERE id % 3 = 0;
SELECT count(*) AS problems FROM ivfflat_verify('h_l2');
DROP INDEX h_l2;

-- cosine and inner product cluster on unit-length centroids
CREATE INDEX h_cos ON h USING ivfflat (v halfvec_cosine_ops) WITH (lists = 5);
SET ivfflat.probes = 5;
SELECT count(*) FILTER (WHERE first_distances('<=>', q.v, true) = first_distances('<=>', q.v, false)) AS cosine_exact, count(*) AS queries
FROM h q WHERE q.id % 15 = 1 AND q.v IS NOT NULL;
DROP INDEX h_cos;
CREATE INDEX h_ip ON h USING ivfflat (v halfvec_ip_ops) WITH (lists = 5);
SELECT count(*) FILTER (WHERE first_distances('<#>', q.v, true) = first_distances('<#>', q.v, false)) AS ip_exact, count(*) AS queries
FROM h q WHERE q.id % 15 = 1 AND q.v IS NOT NULL;
SELECT count(*) AS problems FROM ivfflat_verify('h_ip');
RESET ivfflat.probes;
DROP TABLE h;
DROP FUNCTION first_distances;

-- hnsw: each opclass exact against a sequential scan at a wide
-- ef_search, every row found by its own vector, inserts, VACUUM, verify
CREATE TABLE hh (id int, v halfvec(4000));
INSERT INTO hh SELECT i, (SELECT array_agg(((i * 31 + j * 17 + (i * j) % 101) % 23 - 11)::real / 4) FROM generate_series(1, 4000) j)::halfvec(4000)
FROM generate_series(1, 200) i;
CREATE FUNCTION hnsw_exact(opclass text, op text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE exact int; queries int; lost int; problems int;
BEGIN
    EXECUTE format('CREATE INDEX hh_index ON hh USING hnsw (v %s)', opclass);
    EXECUTE format('SELECT count(*) FILTER (WHERE a = b), count(*) FROM (SELECT
        (SELECT array_agg(round((v %1$s q.v)::numeric, 5)) FROM (SELECT v FROM hh ORDER BY v %1$s q.v LIMIT 10) x) a,
        (SELECT array_agg(round((v %1$s q.v)::numeric, 5)) FROM (SELECT v FROM hh ORDER BY (v %1$s q.v) + 0 LIMIT 10) x) b
        FROM hh q WHERE q.id %% 10 = 0) c', op) INTO exact, queries;
    EXECUTE format('SELECT count(*) FROM hh t WHERE t.id NOT IN (SELECT x.id FROM hh x ORDER BY x.v %s t.v LIMIT 1)', op) INTO lost;
    SELECT count(*) INTO problems FROM hnsw_verify('hh_index');
    DROP INDEX hh_index;
    RETURN format('%s: %s of %s queries exact, %s rows not found by their own vector, %s problems', opclass, exact, queries, lost, problems);
END $$;
SET hnsw.ef_search = 400;
SELECT hnsw_exact('halfvec_l2_ops', '<->');
SELECT hnsw_exact('halfvec_cosine_ops', '<=>');
SELECT hnsw_exact('halfvec_l1_ops', '<+>');
-- under inner product a row need not be its own nearest: only exactness
SELECT split_part(hnsw_exact('halfvec_ip_ops', '<#>'), ',', 1);
CREATE INDEX hh_l2 ON hh USING hnsw (v halfvec_l2_ops);
INSERT INTO hh SELECT i, (SELECT array_agg(((i * 7 + j * 3 + (i * j) % 29) % 19 - 9)::real / 2) FROM generate_series(1, 4000) j)::halfvec(4000)
FROM generate_series(1001, 1020) i;
DELETE FROM hh WHERE id % 4 = 0;
VACUUM hh;
SELECT count(*) AS not_found FROM hh t WHERE t.id NOT IN (SELECT x.id FROM hh x ORDER BY x.v <-> t.v LIMIT 1);
SELECT count(*) AS problems FROM hnsw_verify('hh_l2');
RESET hnsw.ef_search;
DROP TABLE hh;
DROP FUNCTION hnsw_exact;

-- the limits: for ivfflat 4,000 dimensions for halfvec, 2,000 for
-- vector; hnsw takes every size the types take (16,000)
CREATE TABLE wide (v halfvec(4001), w vector(2001));
CREATE INDEX ON wide USING ivfflat (v halfvec_l2_ops);
CREATE INDEX ON wide USING ivfflat (w vector_l2_ops);
CREATE INDEX ON wide USING hnsw (v halfvec_l2_ops);
DROP TABLE wide;
