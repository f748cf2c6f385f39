//! amvalidate: an operator class of hnsw or ivfflat either orders by a
//! distance (ORDER BY operators only, support function 1 the distance and
//! an optional 2, the norm) or is a filter column's (search operators with
//! strategies 1 to 7, no support functions; see `am::filter`).

use pgrx::prelude::*;
use pgrx::pg_sys;

#[pg_guard]
pub unsafe extern "C-unwind" fn amvalidate(opclass: pg_sys::Oid) -> bool {
    let problems = Spi::get_one_with_args::<i64>(
        "WITH family AS (SELECT opcfamily FROM pg_opclass WHERE oid = $1),
              ops AS (SELECT amoppurpose, amopstrategy FROM pg_amop, family WHERE amopfamily = opcfamily),
              procs AS (SELECT amprocnum FROM pg_amproc, family WHERE amprocfamily = opcfamily)
         SELECT CASE WHEN EXISTS (SELECT FROM ops WHERE amoppurpose = 's')
             THEN (SELECT count(*) FROM ops WHERE amoppurpose <> 's' OR amopstrategy NOT BETWEEN 1 AND 7)
                + (SELECT count(*) FROM procs)
             ELSE (SELECT count(*) FROM procs WHERE amprocnum NOT IN (1, 2))
                + (SELECT count(*) FROM ops WHERE amoppurpose <> 'o')
                + (SELECT CASE WHEN count(*) = 1 THEN 0 ELSE 1 END FROM procs WHERE amprocnum = 1)
             END",
        &[opclass.into()],
    );
    matches!(problems, Ok(Some(0)))
}
