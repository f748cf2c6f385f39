//! The hnsw access method through SPI: answers against exact search.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// The ids of the 10 rows nearest to row `query`, by the current plan.
    fn nearest(query: i32) -> Vec<i32> {
        Spi::get_one::<Vec<i32>>(&format!(
            "SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <-> \
             (SELECT embedding FROM items WHERE id = {query}) LIMIT 10) s"
        ))
        .unwrap()
        .unwrap()
    }

    fn create_items(rows: i32) {
        Spi::run("SELECT setseed(0.3)").unwrap();
        Spi::run(&format!(
            "CREATE TABLE items AS SELECT i AS id, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 12))::vector(12) AS embedding \
             FROM generate_series(1, {rows}) i"
        ))
        .unwrap();
    }

    #[pg_test]
    fn index_answers_match_exact_search_at_high_ef() {
        create_items(600);
        Spi::run("SET enable_seqscan = off").unwrap();
        Spi::run("SET hnsw.ef_search = 600").unwrap();
        Spi::run("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32)").unwrap();
        let plan: String = Spi::connect(|client| {
            client
                .select("EXPLAIN SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 10", None, &[])
                .unwrap()
                .map(|row| row.get::<String>(1).unwrap().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
        });
        assert!(plan.contains("items_embedding_idx"), "{plan}");
        let from_index: Vec<Vec<i32>> = (1..=20).map(nearest).collect();
        Spi::run("SET enable_indexscan = off").unwrap();
        Spi::run("SET enable_seqscan = on").unwrap();
        let exact: Vec<Vec<i32>> = (1..=20).map(nearest).collect();
        assert_eq!(from_index, exact);
    }

    #[pg_test]
    fn inserted_rows_are_found_by_the_index() {
        create_items(200);
        Spi::run("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)").unwrap();
        Spi::run("INSERT INTO items SELECT 1000 + i, ARRAY[i, i, i, i, i, i, i, i, i, i, i, i] FROM generate_series(1, 50) i")
            .unwrap();
        Spi::run("SET enable_seqscan = off").unwrap();
        for id in [1001, 1025, 1050] {
            assert_eq!(nearest(id)[0], id, "a new row is its own nearest neighbour");
        }
    }

    #[pg_test(error = "ef_construction must be greater than or equal to 2 * m")]
    fn ef_construction_below_twice_m_is_refused() {
        create_items(10);
        Spi::run("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 20, ef_construction = 30)").unwrap();
    }

    #[pg_test(error = "different vector dimensions 12 and 2")]
    fn a_query_of_the_wrong_dimension_is_an_error() {
        create_items(10);
        Spi::run("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)").unwrap();
        Spi::run("SET enable_seqscan = off").unwrap();
        Spi::run("SELECT id FROM items ORDER BY embedding <-> '[1,2]' LIMIT 1").unwrap();
    }
}
