-- The vector type: text input and output, typmods, binary round trips.
SELECT '[1,2,3]'::vector;
SELECT '[-1,-2,-3]'::vector;
SELECT '[1.,2.,3.]'::vector;
SELECT ' [ 1,  2 ,    3  ] '::vector;
SELECT '[1.23456789]'::vector;
SELECT '[hello,1]'::vector;
SELECT '[NaN,1]'::vector;
SELECT '[Infinity,1]'::vector;
SELECT '[-Infinity,1]'::vector;
SELECT '[1.5e38,-1.5e38]'::vector;
SELECT '[1.5e+38,-1.5e+38]'::vector;
SELECT '[1.5e-38,-1.5e-38]'::vector;
SELECT '[4e38,1]'::vector;
SELECT '[1e-46,1]'::vector;
SELECT '[1,2,3'::vector;
SELECT '[1,2,3]9'::vector;
SELECT '1,2,3'::vector;
SELECT ''::vector;
SELECT '['::vector;
SELECT '[ '::vector;
SELECT '[,'::vector;
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT '[,]'::vector;
SELECT '[1,]'::vector;
SELECT '[1a]'::vector;
SELECT '[1,,3]'::vector;
SELECT '[1, ,3]'::vector;
SELECT '[0.1, 1e6, 1e-5, 123456.7, 1e20]'::vector;
SELECT '[-0,0]'::vector;
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2,3]'::vector(2);
SELECT '[1,2,3]'::vector(3, 2);
SELECT '[1,2,3]'::vector('a');
SELECT '[1,2,3]'::vector(0);
SELECT '[1,2,3]'::vector(16001);
SELECT unnest('{"[1,2,3]", "[4,5,6]"}'::vector[]);
SELECT '{"[1,2,3]"}'::vector(2)[];
SELECT vector_dims(array_fill(1, ARRAY[16000])::vector);
SELECT vector_dims(array_fill(1, ARRAY[16001])::vector);

-- a column enforces its typmod on insert and update
CREATE TABLE t (v vector(3));
INSERT INTO t VALUES ('[1,2,3]'), (NULL);
INSERT INTO t VALUES ('[1,2]');
UPDATE t SET v = '[1,2,3,4]';
SELECT * FROM t ORDER BY v;
DROP TABLE t;

-- binary send/recv round trips through COPY BINARY, and the bytes are pgvector's
SELECT vector_send('[1,-2]'::vector);
CREATE TABLE src (v vector);
INSERT INTO src VALUES ('[1.5,-2,3e-7]'), ('[4]'), (NULL);
COPY src TO '/tmp/vector_ext_regress.bin' WITH (FORMAT binary);
CREATE TABLE dst (v vector);
COPY dst FROM '/tmp/vector_ext_regress.bin' WITH (FORMAT binary);
SELECT * FROM dst;
CREATE TABLE dst3 (v vector(3));
COPY dst3 FROM '/tmp/vector_ext_regress.bin' WITH (FORMAT binary);
DROP TABLE src, dst, dst3;

-- Output prints each element as float4out does, to the last digit: the
-- shortest text that reads back, never one halfway to the next float
-- (120941296 is 1.20941296e+08), over a wide range of magnitudes and
-- whole numbers.
SELECT setseed(0.25);
SELECT count(*) AS "vectors printed unlike float4out"
FROM (SELECT ARRAY(SELECT CASE WHEN d % 3 = 0 THEN round((random() - 0.5) * 10 ^ (random() * 12))::float4
                               ELSE ((random() - 0.5) * 10 ^ (random() * 76 - 38))::float4 END
                   FROM generate_series(1, 100) d WHERE g > 0) AS a
      FROM generate_series(1, 2000) g) s
WHERE a::vector::text <> '[' || array_to_string(a, ',') || ']';
SELECT '[120941296,-43565672,6.0170237e12,177134.125]'::vector;
