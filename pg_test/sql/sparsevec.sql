-- The sparsevec type: pgvector's text and binary formats, distances over
-- the non-zero elements, comparisons, casts.
SELECT '{1:1.5,3:2}/5'::sparsevec;
SELECT ' { 3:2 , 1:1.5, 2:0 } / 5 '::sparsevec;
SELECT '{}/3'::sparsevec;
SELECT '{1:1e-7,2:-1e20,3:-0}/3'::sparsevec;
SELECT '{1:1}/1000000000'::sparsevec;
SELECT '{1:1}/1000000001'::sparsevec;
SELECT '{1:1}/0'::sparsevec;
SELECT '{3:1}/2'::sparsevec;
SELECT '{0:1}/2'::sparsevec;
SELECT '{1:1,1:2}/2'::sparsevec;
SELECT '{1:NaN}/2'::sparsevec;
SELECT '{1:inf}/2'::sparsevec;
SELECT '{1:4e38}/2'::sparsevec;
SELECT '{1:1e-50}/2'::sparsevec;
SELECT '[1,2]'::sparsevec;
SELECT '{1:1}'::sparsevec;
SELECT '{1:1}/2x'::sparsevec;
SELECT '{1:}/2'::sparsevec;
SELECT '{1.5:1}/2'::sparsevec;
SELECT '{1:1}/3'::sparsevec(3), '{1:1}/3'::sparsevec(2);
SELECT '{1:1}/3'::sparsevec(0);
SELECT '{1:1}/3'::sparsevec(1000000001);
SELECT unnest('{"{1:1}/2","{2:3}/2"}'::sparsevec[]);

-- binary: pgvector's bytes, checked on the way in
SELECT sparsevec_send('{1:1.5,3:-2}/5');
CREATE TABLE src (v sparsevec);
INSERT INTO src VALUES ('{1:1.5,3:-2}/5'), ('{}/2'), (NULL);
COPY src TO '/tmp/vector_ext_sparsevec.bin' WITH (FORMAT binary);
CREATE TABLE dst (v sparsevec);
COPY dst FROM '/tmp/vector_ext_sparsevec.bin' WITH (FORMAT binary);
SELECT * FROM dst;
CREATE TABLE dst5 (v sparsevec(5));
COPY dst5 FROM '/tmp/vector_ext_sparsevec.bin' WITH (FORMAT binary);
DROP TABLE src, dst, dst5;

-- distances, norms
SELECT '{1:3}/2'::sparsevec <-> '{2:4}/2', l2_distance('{}/2'::sparsevec, '{1:3,2:4}/2');
SELECT '{1:1,2:2}/3'::sparsevec <#> '{1:3,2:4,3:5}/3', inner_product('{1:1}/3'::sparsevec, '{2:1}/3');
SELECT '{1:1,2:2}/2'::sparsevec <=> '{1:2,2:4}/2', cosine_distance('{1:1}/2'::sparsevec, '{1:-1}/2');
SELECT cosine_distance('{1:1}/2'::sparsevec, '{}/2');
SELECT '{1:1,3:-1}/3'::sparsevec <+> '{2:2,3:1}/3';
SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3';
SELECT sparsevec_l2_squared_distance('{1:3}/2', '{2:4}/2'), sparsevec_negative_inner_product('{1:1,2:2}/2', '{1:3,2:4}/2');
SELECT l2_norm('{1:3,5:4}/5'::sparsevec), l2_normalize('{1:3,5:4}/5'::sparsevec), l2_normalize('{}/5'::sparsevec);

-- comparisons and a btree index: a missing element is zero, then the shorter first
SELECT '{1:1}/3'::sparsevec > '{2:1}/3', '{1:-1}/3'::sparsevec < '{2:1}/3', '{1:1}/2'::sparsevec < '{1:1}/3';
SELECT sparsevec_cmp('{1:1}/3', '{1:1}/3'), '{1:1,2:0}/3'::sparsevec = '{1:1}/3';
CREATE TABLE t (v sparsevec);
INSERT INTO t SELECT format('{%s:%s}/5', 1 + i % 5, i % 3)::sparsevec FROM generate_series(1, 1000) i;
CREATE INDEX ON t (v);
SET enable_seqscan = off;
SELECT count(*) FROM t WHERE v = '{2:1}/5';
SELECT v FROM t ORDER BY v LIMIT 3;
RESET enable_seqscan;
DROP TABLE t;

-- casts
SELECT '[0,1.5,0,-2]'::vector::sparsevec, '{2:1.5,4:-2}/4'::sparsevec::vector;
SELECT '[0,1.5,0]'::halfvec::sparsevec, '{2:0.1}/3'::sparsevec::halfvec;
SELECT '{1:70000}/2'::sparsevec::halfvec;
SELECT '{1:1}/16001'::sparsevec::vector;
SELECT '[1,0,3]'::vector::sparsevec(2);
SELECT ARRAY[0,1,0,2]::sparsevec, ARRAY[0,1.5]::real[]::sparsevec, ARRAY[0,1.5]::float8[]::sparsevec, ARRAY[0,1.5]::numeric[]::sparsevec;
SELECT ARRAY[1,NULL]::sparsevec;
SELECT ARRAY[1e300]::float8[]::sparsevec;
SELECT ARRAY[[1,2]]::sparsevec;
SELECT array_fill(0, ARRAY[20000])::sparsevec;
CREATE TABLE t (v sparsevec(3));
INSERT INTO t VALUES ('[1,0,2]'::vector), (ARRAY[0,0,4]);
SELECT * FROM t;
DROP TABLE t;

-- on real data made sparse: SIFT descriptors with components below 40 set to
-- zero. Distances over the non-zeros equal the dense distances, and exact
-- search agrees.
\getenv datadir VECTOR_EXT_DATA
\set siftfile :datadir '/sift5k-ngt/sift-dataset-5k.tsv'
CREATE TEMP TABLE raw (line text);
COPY raw FROM :'siftfile' WITH (FORMAT text, DELIMITER E'\x01');
CREATE TABLE sift AS
SELECT (fields[129])::int AS id,
       ARRAY(SELECT CASE WHEN x::real >= 40 THEN x::real ELSE 0 END FROM unnest(fields[1:128]) x)::vector(128) AS v
FROM (SELECT string_to_array(line, E'\t') AS fields FROM raw) s;
ALTER TABLE sift ADD COLUMN s sparsevec(128);
UPDATE sift SET s = v;
SELECT round(avg(length(s::text) - length(replace(s::text, ':', ''))))::int AS average_nonzeros_of_128 FROM sift;
SELECT count(*) AS changed_by_round_trip FROM sift WHERE s::vector <> v;
CREATE TABLE queries AS SELECT id, v, s FROM sift WHERE id > 104990;
SELECT count(*) AS mismatches FROM sift a, queries q
WHERE abs((a.s <-> q.s) - (a.v <-> q.v)) > 1e-3
   OR abs((a.s <#> q.s) - (a.v <#> q.v)) > 1e-1
   OR abs((a.s <=> q.s) - (a.v <=> q.v)) > 1e-6
   OR abs((a.s <+> q.s) - (a.v <+> q.v)) > 1e-3;
SELECT count(*) AS different_top10 FROM queries q
WHERE ARRAY(SELECT id FROM sift ORDER BY s <-> q.s, id LIMIT 10)
   <> ARRAY(SELECT id FROM sift ORDER BY v <-> q.v, id LIMIT 10);
DROP TABLE sift, queries;
