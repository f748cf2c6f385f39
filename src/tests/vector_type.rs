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
}
