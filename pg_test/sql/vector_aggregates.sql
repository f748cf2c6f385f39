-- avg(vector) and sum(vector), serial and parallel.
SELECT avg(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]']) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v;
SELECT avg(v) FROM unnest(ARRAY[]::vector[]) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v;
SELECT avg(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]']) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v;
SELECT sum(v) FROM unnest(ARRAY[]::vector[]) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v;
SELECT sum(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v;

-- partial aggregation in parallel workers gives the same answer
CREATE TABLE t AS SELECT ARRAY[i % 7, i % 11, 1]::vector(3) AS v FROM generate_series(1, 100000) i;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM t;
SELECT avg(v), sum(v) FROM t;
RESET max_parallel_workers_per_gather;
SELECT avg(v), sum(v) FROM t;
DROP TABLE t;
-- the state is a plain float8[] that can be passed by hand: bad ones are clean errors
SELECT vector_avg(ARRAY[1e-320]::float8[]);
SELECT vector_combine(ARRAY[NULL, 1]::float8[], ARRAY[1, 2]::float8[]);
SELECT vector_accum(ARRAY[1, NULL]::float8[], '[1]');
SELECT vector_avg(ARRAY[[1,2]]::float8[]);
SELECT vector_accum(ARRAY[]::float8[], '[1]');
SELECT vector_avg(ARRAY[2, 2, 4]::float8[]);
