-- hnsw on sparsevec (sparsevec_l2_ops, _ip_ops, _cosine_ops, _l1_ops):
-- keys of any number of non-zeros, answers equal to a sequential scan's,
-- every row found by its own vector, inserts found, long vectors (more
-- non-zeros than one page tuple holds), and clear errors.
SET enable_seqscan = off;

-- 1,000 pseudo-random sparse vectors of 200 dimensions with 1 to 30
-- non-zeros each (every row its own, reproducibly), a zero vector and a
-- NULL. Like the terms of documents, a row's indices come mostly from its
-- topic's 40 (of 10 overlapping topics), so rows share indices.
CREATE FUNCTION random_sparse(seed int, nonzeros int) RETURNS sparsevec LANGUAGE sql IMMUTABLE AS $$
    SELECT ('{' || coalesce(string_agg(i || ':' || (1 + abs(hashint8extended(seed * 7919 + i, 3)) % 1999 - 1000) / 250.0, ','), '') || '}/200')::sparsevec
    FROM (SELECT DISTINCT 1 + (abs(seed) % 10 * 20 + abs(hashint8extended(seed * 104729 + j, 1)) % 40) % 200 AS i
          FROM generate_series(1, nonzeros) j) indices
$$;
CREATE TABLE s (id int, v sparsevec(200));
INSERT INTO s SELECT g, random_sparse(g, 1 + g % 30) FROM generate_series(1, 1000) g;
INSERT INTO s VALUES (1001, NULL), (1002, '{}/200');
CREATE TABLE q AS SELECT g AS qid, random_sparse(-g, 15) AS v FROM generate_series(1, 20) g;
SELECT min(n), max(n), count(*) FROM (SELECT cardinality(string_to_array(trim(split_part(v::text, '}', 1), '{'), ',')) AS n FROM s WHERE v IS NOT NULL AND id <= 1000) c;

-- The distances of the first 10 rows an index scan returns, against an
-- exact scan's (ordered by the distance + 0, which no index serves);
-- ef_search covers every row, so the index scan must be exact.
CREATE FUNCTION first_distances(op text, query sparsevec, use_index bool) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE result float8[];
BEGIN
    EXECUTE format('SELECT array_agg(round(d::numeric, 4)) FROM (SELECT s.v %s $1 AS d FROM s WHERE s.v %s $1 <> ''NaN'' ORDER BY (s.v %s $1)%s LIMIT 10) x',
                   op, op, op, CASE WHEN use_index THEN '' ELSE ' + 0' END)
        INTO result USING query;
    RETURN result;
END $$;

SET hnsw.ef_search = 1000;
CREATE INDEX s_l2 ON s USING hnsw (v sparsevec_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM s ORDER BY v <-> '{1:1,5:2}/200' LIMIT 5;
SELECT count(*) FILTER (WHERE first_distances('<->', q.v, true) = first_distances('<->', q.v, false)) AS l2_exact FROM q;
-- NULLs are not indexed; the zero vector is (1,001 rows)
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS returned FROM (SELECT id FROM s ORDER BY v <-> (SELECT v FROM q WHERE qid = 1) LIMIT 2000) x;
RESET hnsw.iterative_scan;
SELECT count(*) AS not_found FROM s t WHERE t.v IS NOT NULL
  AND t.id NOT IN (SELECT x.id FROM s x ORDER BY x.v <-> t.v LIMIT 10);
SELECT count(*) AS problems FROM hnsw_verify('s_l2');
DROP INDEX s_l2;

CREATE INDEX s_ip ON s USING hnsw (v sparsevec_ip_ops);
SELECT count(*) FILTER (WHERE first_distances('<#>', q.v, true) = first_distances('<#>', q.v, false)) AS ip_exact FROM q;
SELECT count(*) AS problems FROM hnsw_verify('s_ip');
DROP INDEX s_ip;

-- cosine: the zero vector has no direction and is not indexed, as in pgvector
CREATE INDEX s_cosine ON s USING hnsw (v sparsevec_cosine_ops);
SELECT count(*) FILTER (WHERE first_distances('<=>', q.v, true) = first_distances('<=>', q.v, false)) AS cosine_exact FROM q;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS returned FROM (SELECT id FROM s ORDER BY v <=> (SELECT v FROM q WHERE qid = 1) LIMIT 2000) x;
RESET hnsw.iterative_scan;
SELECT count(*) AS not_found FROM s t WHERE t.v IS NOT NULL AND t.id <> 1002
  AND t.id NOT IN (SELECT x.id FROM s x ORDER BY x.v <=> t.v LIMIT 10);
SELECT count(*) AS problems FROM hnsw_verify('s_cosine');
DROP INDEX s_cosine;

CREATE INDEX s_l1 ON s USING hnsw (v sparsevec_l1_ops);
SELECT count(*) FILTER (WHERE first_distances('<+>', q.v, true) = first_distances('<+>', q.v, false)) AS l1_exact FROM q;
-- inserts after the build are found, and rows that share a vector
INSERT INTO s SELECT g, random_sparse(g, 1 + g % 30) FROM generate_series(5001, 5100) g;
INSERT INTO s SELECT 6000 + id, v FROM s WHERE id BETWEEN 1 AND 5;
SELECT count(*) AS inserted_not_found FROM s t WHERE t.id > 5000
  AND t.id NOT IN (SELECT x.id FROM s x ORDER BY x.v <+> t.v LIMIT 10);
SELECT count(*) AS problems FROM hnsw_verify('s_l1');
-- VACUUM frees deleted rows' slots (vectors of 20 to 30 non-zeros); new
-- rows with fewer take them (padded with explicit zeros): the index does
-- not grow, they are found, and what was deleted never is. (Short vectors
-- are everyone's nearest here; their inserts can leave a few elements an
-- island, which the next VACUUM links back: it runs before the checks.)
DELETE FROM s WHERE id BETWEEN 1 AND 300 AND id % 30 >= 19;
VACUUM s;
SELECT pg_relation_size('s_l1') AS size_before \gset
INSERT INTO s SELECT g, random_sparse(g, 1 + g % 10) FROM generate_series(7001, 7100) g;
VACUUM s;
SELECT pg_relation_size('s_l1') = :size_before AS same_size;
SELECT count(*) AS reinserted_not_found FROM s t WHERE t.id > 7000
  AND t.id NOT IN (SELECT x.id FROM s x ORDER BY x.v <+> t.v LIMIT 10);
SELECT count(*) AS deleted_returned FROM q, LATERAL (SELECT id FROM s ORDER BY s.v <+> q.v LIMIT 100) x
  WHERE x.id BETWEEN 1 AND 300 AND x.id % 30 >= 19;
SELECT count(*) FILTER (WHERE first_distances('<+>', q.v, true) = first_distances('<+>', q.v, false)) AS l1_exact_after_reuse FROM q;
SELECT count(*) AS problems FROM hnsw_verify('s_l1');
RESET hnsw.ef_search;

-- A linked filter column on sparse keys: topic 0 holds 40% of the rows
-- (its value lists derived from the graph's neighborhoods), topics 1 to
-- 30 about 2% each (graphs of their own). The filtered answers equal an
-- exact scan's (ef_search covers every row).
ALTER TABLE s ADD COLUMN topic int;
UPDATE s SET topic = CASE WHEN id % 5 < 2 THEN 0 ELSE id % 30 + 1 END;
CREATE INDEX s_topic ON s USING hnsw (v sparsevec_l2_ops, topic);
SELECT count(*) AS problems FROM hnsw_verify('s_topic');
SET hnsw.ef_search = 1000;
SELECT t AS topic, count(*) FILTER (WHERE
    ARRAY(SELECT round((s.v <-> q.v)::numeric, 4) FROM s WHERE s.topic = t ORDER BY s.v <-> q.v LIMIT 10) =
    ARRAY(SELECT round((s.v <-> q.v)::numeric, 4) FROM s WHERE s.topic = t ORDER BY (s.v <-> q.v) + 0 LIMIT 10)) AS exact
FROM q, (VALUES (0), (7)) topics (t) GROUP BY t ORDER BY t;
RESET hnsw.ef_search;
DROP INDEX s_topic;

-- a query of other dimensions is an error, as the distance function's is
SELECT id FROM s ORDER BY v <+> '{1:1}/100' LIMIT 1;
SELECT '{1:1}/100'::sparsevec <+> '{1:1}/200';
DROP TABLE s, q;

-- vectors with more non-zeros than one tuple holds (1,017) span pages,
-- built in memory and inserted one by one
CREATE TABLE long (id int, v sparsevec(100000));
CREATE FUNCTION long_sparse(seed int, nonzeros int) RETURNS sparsevec LANGUAGE sql IMMUTABLE AS $$
    SELECT ('{' || string_agg(j * 13 + seed || ':' || (j % 7 + seed), ',') || '}/100000')::sparsevec FROM generate_series(1, nonzeros) j
$$;
INSERT INTO long SELECT g, long_sparse(g, 500 * g) FROM generate_series(1, 8) g;
CREATE INDEX long_l2 ON long USING hnsw (v sparsevec_l2_ops);
INSERT INTO long SELECT g, long_sparse(g, 500 * (g - 8)) FROM generate_series(9, 12) g;
SELECT count(*) AS not_found FROM long t
  WHERE t.id NOT IN (SELECT x.id FROM long x ORDER BY x.v <-> t.v LIMIT 1);
SELECT count(*) AS problems FROM hnsw_verify('long_l2');
DROP TABLE long;

-- columns an hnsw index cannot take
CREATE TABLE bad (v sparsevec);
CREATE INDEX ON bad USING hnsw (v sparsevec_l2_ops);
CREATE INDEX ON bad USING ivfflat (v sparsevec_l2_ops);
DROP TABLE bad;
DROP FUNCTION first_distances, random_sparse, long_sparse;
