//! The `vector` type: I/O, operators, casts and aggregates.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn text_round_trip_and_distances() {
        let text = Spi::get_one::<String>("SELECT '[1, 2.5, -3e-7]'::vector::text").unwrap().unwrap();
        assert_eq!(text, "[1,2.5,-3e-07]");
        let l2 = Spi::get_one::<f64>("SELECT '[0,0]'::vector <-> '[3,4]'").unwrap().unwrap();
        assert_eq!(l2, 5.0);
    }

    #[pg_test]
    fn binary_send_is_pgvector_bytes() {
        let bytes = Spi::get_one::<Vec<u8>>("SELECT vector_send('[1,-2]')").unwrap().unwrap();
        assert_eq!(bytes, [0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0]);
    }

    #[pg_test(error = "expected 3 dimensions, not 2")]
    fn typmod_is_enforced_on_insert() {
        Spi::run("CREATE TABLE t (v vector(3))").unwrap();
        Spi::run("INSERT INTO t VALUES ('[1,2]')").unwrap();
    }

    #[pg_test]
    fn aggregates_average_and_sum() {
        let avg = Spi::get_one::<String>("SELECT avg(v)::text FROM unnest(ARRAY['[1,2]'::vector, '[3,6]']) v").unwrap().unwrap();
        assert_eq!(avg, "[2,4]");
        let sum = Spi::get_one::<String>("SELECT sum(v)::text FROM unnest(ARRAY['[1,2]'::vector, '[3,6]']) v").unwrap().unwrap();
        assert_eq!(sum, "[4,8]");
    }
}
