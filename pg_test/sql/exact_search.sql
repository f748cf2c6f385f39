-- Exact nearest-neighbour search, and the parallel sequential scan the
-- planner picks for it on a table large enough (no planner settings changed).
SELECT setseed(0.42);
CREATE TABLE items AS
SELECT i AS id, array_agg(random())::vector(128) AS embedding
FROM generate_series(1, 60000) i, generate_series(1, 128) j GROUP BY i;
ANALYZE items;
SELECT '[0.5' || repeat(',0.5', 127) || ']' AS q \gset
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> :'q' LIMIT 10;
-- the parallel plan returns what a serial scan returns, for every operator
EXPLAIN (COSTS OFF) SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <+> :'q' LIMIT 10) s;
SELECT '<->' AS op, array_agg(id) AS parallel FROM (SELECT id FROM items ORDER BY embedding <-> :'q' LIMIT 10) s;
SELECT '<#>' AS op, array_agg(id) AS parallel FROM (SELECT id FROM items ORDER BY embedding <#> :'q' LIMIT 10) s;
SELECT '<=>' AS op, array_agg(id) AS parallel FROM (SELECT id FROM items ORDER BY embedding <=> :'q' LIMIT 10) s;
SELECT '<+>' AS op, array_agg(id) AS parallel FROM (SELECT id FROM items ORDER BY embedding <+> :'q' LIMIT 10) s;
SET max_parallel_workers_per_gather = 0;
SELECT '<->' AS op, array_agg(id) AS serial FROM (SELECT id FROM items ORDER BY embedding <-> :'q' LIMIT 10) s;
SELECT '<#>' AS op, array_agg(id) AS serial FROM (SELECT id FROM items ORDER BY embedding <#> :'q' LIMIT 10) s;
SELECT '<=>' AS op, array_agg(id) AS serial FROM (SELECT id FROM items ORDER BY embedding <=> :'q' LIMIT 10) s;
SELECT '<+>' AS op, array_agg(id) AS serial FROM (SELECT id FROM items ORDER BY embedding <+> :'q' LIMIT 10) s;
RESET max_parallel_workers_per_gather;
-- a query vector of the wrong dimension is an error, not a wrong answer
SELECT id FROM items ORDER BY embedding <-> '[1,2]' LIMIT 1;
DROP TABLE items;
