-- hnsw (bit_hamming_ops, bit_jaccard_ops) and ivfflat (bit_hamming_ops) on
-- bit columns: answers equal a sequential scan's, inserts are found,
-- pgvector's binary-quantization recipe uses its expression index, and
-- bad bit strings and columns get clear errors.
SET enable_seqscan = off;

-- 1,000 pseudo-random 64-bit strings (every row its own, reproducibly)
CREATE TABLE b (id int, bits bit(64));
INSERT INTO b SELECT g, hashint8extended(g, 0)::bit(64) FROM generate_series(1, 1000) g;
INSERT INTO b VALUES (1001, NULL), (1002, repeat('0', 64)::bit(64));
CREATE TABLE q AS SELECT g AS qid, hashint8extended(g, 1)::bit(64) AS bits FROM generate_series(1, 20) g;

-- The distances of the first 10 rows an index scan returns, against an
-- exact scan's (ordered by the distance + 0, which no index serves);
-- distances, not ids: Hamming distances tie often. ef_search and probes
-- below cover every row, so the index scans must be exact.
CREATE FUNCTION first_distances(op text, query bit, use_index bool) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE result float8[];
BEGIN
    EXECUTE format('SELECT array_agg(d) FROM (SELECT b.bits %s $1 AS d FROM b ORDER BY (b.bits %s $1)%s LIMIT 10) s',
                   op, op, CASE WHEN use_index THEN '' ELSE ' + 0' END)
        INTO result USING query;
    RETURN result;
END $$;

CREATE INDEX b_hamming ON b USING hnsw (bits bit_hamming_ops);
EXPLAIN (COSTS OFF) SELECT id FROM b ORDER BY bits <~> '1010101010101010101010101010101010101010101010101010101010101010' LIMIT 5;
SET hnsw.ef_search = 1000;
SELECT count(*) FILTER (WHERE first_distances('<~>', q.bits, true) = first_distances('<~>', q.bits, false)) AS hamming_exact
FROM q;
-- NULLs are not indexed; the all-zero string is (1,001 rows; an iterative
-- scan, since one search returns at most ef_search rows)
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS returned FROM (SELECT id FROM b ORDER BY bits <~> (SELECT bits FROM q WHERE qid = 1) LIMIT 2000) s;
RESET hnsw.iterative_scan;
-- every row is found by its own bit string
SELECT count(*) AS not_found FROM b t WHERE t.bits IS NOT NULL
  AND t.id NOT IN (SELECT s.id FROM b s ORDER BY s.bits <~> t.bits LIMIT 10);
-- inserts after the build are found
INSERT INTO b SELECT g, hashint8extended(g, 0)::bit(64) FROM generate_series(5001, 5100) g;
SELECT count(*) AS inserted_not_found FROM b t WHERE t.id > 5000
  AND t.id NOT IN (SELECT s.id FROM b s ORDER BY s.bits <~> t.bits LIMIT 10);
SELECT count(*) AS problems FROM hnsw_verify('b_hamming');
DROP INDEX b_hamming;

CREATE INDEX b_jaccard ON b USING hnsw (bits bit_jaccard_ops);
SELECT count(*) FILTER (WHERE first_distances('<%>', q.bits, true) = first_distances('<%>', q.bits, false)) AS jaccard_exact
FROM q;
SELECT count(*) AS problems FROM hnsw_verify('b_jaccard');
DROP INDEX b_jaccard;
RESET hnsw.ef_search;

CREATE INDEX b_ivfflat ON b USING ivfflat (bits bit_hamming_ops) WITH (lists = 10);
EXPLAIN (COSTS OFF) SELECT id FROM b ORDER BY bits <~> '1010101010101010101010101010101010101010101010101010101010101010' LIMIT 5;
SET ivfflat.probes = 10;
SELECT count(*) FILTER (WHERE first_distances('<~>', q.bits, true) = first_distances('<~>', q.bits, false)) AS ivfflat_exact
FROM q;
SELECT count(*) AS not_found FROM b t WHERE t.bits IS NOT NULL
  AND t.id NOT IN (SELECT s.id FROM b s ORDER BY s.bits <~> t.bits LIMIT 10);
SELECT count(*) AS problems FROM ivfflat_verify('b_ivfflat');
RESET ivfflat.probes;
DROP INDEX b_ivfflat;

-- a query of another length is an error, as the distance function's is
CREATE INDEX b_hamming ON b USING hnsw (bits bit_hamming_ops);
SELECT id FROM b ORDER BY bits <~> '101' LIMIT 1;
SELECT id FROM b ORDER BY bits <~> '10101010101010101010101010101010101010101010101010101010101010' LIMIT 1;
DROP TABLE b, q;
DROP FUNCTION first_distances;

-- pgvector's recipe: an expression index on binary_quantize, re-ranked by
-- the exact distance
CREATE TABLE items (id int, embedding vector(3));
INSERT INTO items VALUES (1, '[1,-1,1]'), (2, '[-1,1,1]'), (3, '[1,1,-1]'), (4, '[1,1,1]'), (5, '[0.5,-2,3]');
CREATE INDEX ON items USING hnsw ((binary_quantize(embedding)::bit(3)) bit_hamming_ops);
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY binary_quantize(embedding)::bit(3) <~> binary_quantize('[1,-2,3]'::vector) LIMIT 20;
SELECT id FROM (
    SELECT id, embedding FROM items ORDER BY binary_quantize(embedding)::bit(3) <~> binary_quantize('[1,-2,3]'::vector) LIMIT 20
) candidates ORDER BY embedding <-> '[1,-2,3]' LIMIT 2;
DROP TABLE items;

-- columns an index cannot take
CREATE TABLE wide (bits bit(64001));
CREATE INDEX ON wide USING hnsw (bits bit_hamming_ops);
CREATE INDEX ON wide USING ivfflat (bits bit_hamming_ops);
DROP TABLE wide;
-- binary_quantize returns bit strings of any length: an index on it needs a cast to bit(n)
CREATE TABLE items (embedding vector(3));
CREATE INDEX ON items USING hnsw (binary_quantize(embedding) bit_hamming_ops);
DROP TABLE items;
-- the longest bit strings indexed: 64,000 bits
CREATE TABLE longest (bits bit(64000));
CREATE INDEX ON longest USING hnsw (bits bit_jaccard_ops);
INSERT INTO longest SELECT repeat('01', 32000)::bit(64000);
SELECT count(*) FROM (SELECT 1 FROM longest ORDER BY bits <%> repeat('10', 32000)::bit(64000) LIMIT 1) s;
DROP TABLE longest;
