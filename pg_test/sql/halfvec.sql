-- The halfvec type: float2 elements with vector's text format, pgvector's
-- binary format, functions, operators, casts and aggregates.
SELECT '[1,2,3]'::halfvec;
SELECT '[0.1, -1.5, 65504, 1e-8, -0]'::halfvec;
SELECT ' [ 1,  2 ,    3  ] '::halfvec;
SELECT '[65519]'::halfvec;
SELECT '[65520]'::halfvec;
SELECT '[-1e5,1]'::halfvec;
SELECT '[4e38]'::halfvec;
SELECT '[NaN]'::halfvec;
SELECT '[Infinity]'::halfvec;
SELECT '[1,x]'::halfvec;
SELECT '[1,2]x'::halfvec;
SELECT '[]'::halfvec;
SELECT '[1,2,3]'::halfvec(3);
SELECT '[1,2,3]'::halfvec(2);
SELECT '[1,2,3]'::halfvec(0);
SELECT '[1,2,3]'::halfvec(16001);
SELECT vector_dims(array_fill(1, ARRAY[16000])::halfvec);
SELECT vector_dims(array_fill(1, ARRAY[16001])::halfvec);
SELECT unnest('{"[1,2,3]", "[4,5,6]"}'::halfvec[]);

-- a column enforces its typmod on insert and update
CREATE TABLE t (v halfvec(3));
INSERT INTO t VALUES ('[1,2,3]'), (NULL);
INSERT INTO t VALUES ('[1,2]');
UPDATE t SET v = '[1,2,3,4]';
SELECT * FROM t ORDER BY v;
DROP TABLE t;

-- binary send/recv: pgvector's bytes, round trips through COPY BINARY
SELECT halfvec_send('[1,-2]'::halfvec);
CREATE TABLE src (v halfvec);
INSERT INTO src VALUES ('[1.5,-2,3e-7]'), ('[4]'), (NULL);
COPY src TO '/tmp/vector_ext_halfvec.bin' WITH (FORMAT binary);
CREATE TABLE dst (v halfvec);
COPY dst FROM '/tmp/vector_ext_halfvec.bin' WITH (FORMAT binary);
SELECT * FROM dst;
CREATE TABLE dst3 (v halfvec(3));
COPY dst3 FROM '/tmp/vector_ext_halfvec.bin' WITH (FORMAT binary);
-- a vector's bytes are not a halfvec's
COPY (SELECT '[1,2]'::vector) TO '/tmp/vector_ext_halfvec.bin' WITH (FORMAT binary);
COPY dst FROM '/tmp/vector_ext_halfvec.bin' WITH (FORMAT binary);
DROP TABLE src, dst, dst3;

-- distances and functions
SELECT '[0,0]'::halfvec <-> '[3,4]', l2_distance('[0,0]'::halfvec, '[3,4]');
SELECT '[1,2]'::halfvec <#> '[3,4]', inner_product('[1,2]'::halfvec, '[3,4]');
SELECT '[1,2]'::halfvec <=> '[2,4]', cosine_distance('[1,1]'::halfvec, '[-1,-1]');
SELECT cosine_distance('[1,2]'::halfvec, '[0,0]');
SELECT '[0,0]'::halfvec <+> '[3,4]', l1_distance('[0,0]'::halfvec, '[0,1]');
SELECT '[1,2]'::halfvec <-> '[3]';
SELECT '[65504]'::halfvec <-> '[-65504]';
SELECT halfvec_l2_squared_distance('[0,0]', '[3,4]'), halfvec_negative_inner_product('[1,2]', '[3,4]');
SELECT round(halfvec_spherical_distance('[1,0]', '[0,1]')::numeric, 5);
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec);
SELECT l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec);
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3,4,5]'::halfvec, 4, 10);
SELECT subvector('[1,2,3,4,5]'::halfvec, 6, 1);
SELECT binary_quantize('[1,0,-1,0.5,-0.5,2,3,-4,5]'::halfvec);

-- arithmetic is done in float4 and rounded to float2; overflow is an error
SELECT '[1,2,3]'::halfvec + '[4,5,6]', '[1,2,3]'::halfvec - '[4,5,6]', '[1,2,3]'::halfvec * '[4,5,6]';
SELECT '[60000]'::halfvec + '[10000]';
SELECT '[60000]'::halfvec * '[2]';
SELECT '[1e-4]'::halfvec * '[1e-4]';
SELECT '[1,2]'::halfvec + '[3]';
SELECT '[1,2]'::halfvec || '[3]';
SELECT vector_dims(array_fill(1, ARRAY[16000])::halfvec || '[1]');

-- comparisons and a btree index
SELECT '[1,2]'::halfvec < '[1,3]', '[1,2]'::halfvec = '[1,2.0001]', '[1]'::halfvec < '[1,0]';
SELECT halfvec_cmp('[2]', '[1,3]'), '[1,2]'::halfvec <> '[1,2]', '[2]'::halfvec >= '[1,9]';
CREATE TABLE t (v halfvec);
INSERT INTO t SELECT ARRAY[i % 5, i % 3]::halfvec FROM generate_series(1, 1000) i;
CREATE INDEX ON t (v);
SET enable_seqscan = off;
SELECT count(*) FROM t WHERE v = '[1,2]';
EXPLAIN (COSTS OFF) SELECT count(*) FROM t WHERE v = '[1,2]';
RESET enable_seqscan;
DROP TABLE t;

-- casts
SELECT '[1.5,2]'::halfvec::vector, '[1.5,2]'::vector::halfvec;
SELECT '[0.1]'::vector::halfvec::vector;
SELECT '[70000]'::vector::halfvec;
SELECT '[1,2,3]'::vector::halfvec(2);
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,2]::real[]::halfvec, ARRAY[1.5,2]::float8[]::halfvec, ARRAY[1.5,2]::numeric[]::halfvec;
SELECT ARRAY[1,70000]::halfvec;
SELECT ARRAY[1e300]::float8[]::halfvec;
SELECT ARRAY[[1,2],[3,4]]::halfvec;
SELECT ARRAY[1,NULL]::halfvec;
SELECT ARRAY[1,2,3]::halfvec(2);
SELECT '[1.5,2]'::halfvec::real[];
CREATE TABLE t (v halfvec(2));
INSERT INTO t VALUES ('[1,2]'::vector), (ARRAY[3,4]);
SELECT * FROM t;
DROP TABLE t;

-- avg and sum, serial and parallel
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::halfvec, '[3,5,7]', NULL]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[]::halfvec[]) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2]'::halfvec, '[3]']) v;
SELECT sum(v) FROM unnest(ARRAY['[60000]'::halfvec, '[60000]']) v;
CREATE TABLE t AS SELECT ARRAY[i % 7, i % 11, 1]::halfvec(3) AS v FROM generate_series(1, 30000) i;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v) FROM t;
SELECT avg(v) FROM t;
RESET max_parallel_workers_per_gather;
SELECT avg(v) FROM t;
DROP TABLE t;
SELECT halfvec_avg(ARRAY[[1,2]]::float8[]);
SELECT halfvec_accum(ARRAY[]::float8[], '[1]');
SELECT halfvec_combine(ARRAY[1, NULL]::float8[], ARRAY[1, 2]::float8[]);

-- on real data: halfvec distances are the distances of the float4 values
-- they round to, for every metric, and exact search agrees with vector's
\getenv datadir VECTOR_EXT_DATA
\set siftfile :datadir '/sift5k-ngt/sift-dataset-5k.tsv'
CREATE TEMP TABLE raw (line text);
COPY raw FROM :'siftfile' WITH (FORMAT text, DELIMITER E'\x01');
CREATE TABLE sift AS
SELECT (fields[129])::int AS id, (fields[1:128])::real[]::halfvec(128) AS h
FROM (SELECT string_to_array(line, E'\t') AS fields FROM raw) s;
-- SIFT components are integers below 256: float2 holds them exactly
SELECT count(*) AS rows, count(*) FILTER (WHERE h::vector::halfvec <> h) AS changed_by_round_trip FROM sift;
CREATE TABLE queries AS SELECT id, h FROM sift WHERE id > 104990;
SELECT count(*) AS mismatches FROM sift s, queries q
WHERE abs((s.h <-> q.h) - (s.h::vector <-> q.h::vector)) > 1e-3
   OR abs((s.h <#> q.h) - (s.h::vector <#> q.h::vector)) > 1e-1
   OR abs((s.h <=> q.h) - (s.h::vector <=> q.h::vector)) > 1e-6
   OR abs((s.h <+> q.h) - (s.h::vector <+> q.h::vector)) > 1e-3;
SELECT count(*) AS different_top10 FROM queries q
WHERE ARRAY(SELECT id FROM sift ORDER BY h <-> q.h, id LIMIT 10)
   <> ARRAY(SELECT id FROM sift ORDER BY h::vector <-> q.h::vector, id LIMIT 10);
DROP TABLE sift, queries;
