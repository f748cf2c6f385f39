-- pgvector's functions on PostgreSQL's bit type: binary quantization,
-- Hamming and Jaccard distances.
SELECT binary_quantize('[1,0,-1,0.5,-0.5,2,3,-4,5]'::vector);
SELECT binary_quantize('[1,-1]'::halfvec);
SELECT length(binary_quantize(array_fill(1, ARRAY[1536])::vector));
SELECT '111000'::bit(6) <~> '101010', hamming_distance(B'1111', B'0000');
SELECT '1100'::bit(4) <%> '1010', jaccard_distance(B'0000', B'0000'), jaccard_distance(B'1010', B'1010');
SELECT B'11' <~> B'111';
SELECT B'11' <%> B'1';
-- words and tails: a 70-bit string differs from itself shifted in known places
SELECT (repeat('10', 35))::bit(70) <~> (repeat('01', 35))::bit(70);
SELECT (repeat('1', 70))::bit(70) <%> ('1' || repeat('0', 69))::bit(70) = 1 - 1 / 70.0;

-- the binary quantization recipe: rank by Hamming distance over the bits,
-- re-rank the candidates by the exact distance
\getenv datadir VECTOR_EXT_DATA
\set siftfile :datadir '/sift5k-ngt/sift-dataset-5k.tsv'
CREATE TEMP TABLE raw (line text);
COPY raw FROM :'siftfile' WITH (FORMAT text, DELIMITER E'\x01');
CREATE TABLE sift AS
SELECT (fields[129])::int AS id, (fields[1:128])::real[]::vector(128) AS v
FROM (SELECT string_to_array(line, E'\t') AS fields FROM raw) s;
-- centred, so that the sign of a component carries information
CREATE TABLE centred AS SELECT id, v - (SELECT avg(v) FROM sift) AS v FROM sift;
-- every Hamming distance equals the count of differing signs
SELECT count(*) AS mismatches FROM centred a, (SELECT v FROM centred WHERE id = 100001) q
WHERE binary_quantize(a.v)::bit(128) <~> binary_quantize(q.v)
   <> (SELECT count(*) FROM unnest(a.v::real[], q.v::real[]) u(x, y) WHERE (x > 0) <> (y > 0));
-- (1 bit per SIFT component is coarse: a fifth of the rows as candidates;
-- random candidates would give recall 0.2)
SELECT avg(hits) >= 0.95 AS rerank_recall_at_least_0_95 FROM (
  SELECT (SELECT count(*) FROM (
            SELECT id FROM (
              SELECT id, v FROM centred ORDER BY binary_quantize(v)::bit(128) <~> binary_quantize(q.v), id LIMIT 1000
            ) candidates ORDER BY v <-> q.v LIMIT 10) found
          WHERE id IN (SELECT id FROM centred ORDER BY v <-> q.v LIMIT 10)) / 10.0 AS hits
  FROM centred q WHERE id > 104980) per_query;
DROP TABLE sift, centred;
