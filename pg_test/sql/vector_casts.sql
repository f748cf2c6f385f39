-- Casts between vectors and arrays, with pgvector's cast contexts.
SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.0,2.0,3.0]::vector;
SELECT ARRAY[1,2,3]::float4[]::vector;
SELECT ARRAY[1,2,3]::float8[]::vector;
SELECT ARRAY[1,2,3]::numeric[]::vector;
SELECT '{NULL}'::real[]::vector;
SELECT '{NaN}'::real[]::vector;
SELECT '{Infinity}'::real[]::vector;
SELECT '{-Infinity}'::real[]::vector;
SELECT '{}'::real[]::vector;
SELECT '{{1}}'::real[]::vector;
SELECT '{1e39}'::float8[]::vector;
SELECT '[1,2,3]'::vector::real[];
SELECT array_agg(n)::vector FROM generate_series(1, 16001) n;
SELECT array_to_vector(array_agg(n), 16000, false) FROM generate_series(1, 16000) n \gset
SELECT ARRAY[1,2,3]::vector(3);
SELECT ARRAY[1,2,3]::vector(2);
SELECT '[1,2,3]'::vector::vector(2);
-- an array literal assigned to a vector column just works
CREATE TABLE t (v vector(3));
INSERT INTO t VALUES (ARRAY[1,2,3]), ('{4,5,6}'::real[]), (ARRAY[7.5,8,9]::numeric[]);
INSERT INTO t VALUES (ARRAY[1,2]);
SELECT v FROM t ORDER BY v;
DROP TABLE t;
