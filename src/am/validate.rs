//! amvalidate: an hnsw or ivfflat operator class must have a distance support function
//! (1), may have a norm (2), and its operators must be ORDER BY operators.

use pgrx::prelude::*;
use pgrx::pg_sys;

#[pg_guard]
pub unsafe extern "C-unwind" fn amvalidate(opclass: pg_sys::Oid) -> bool {
    let problems = Spi::get_one_with_args::<i64>(
        "WITH family AS (SELECT opcfamily FROM pg_opclass WHERE oid = $1)
         SELECT (SELECT count(*) FROM pg_amproc, family WHERE amprocfamily = opcfamily AND amprocnum NOT IN (1, 2))
              + (SELECT count(*) FROM pg_amop, family WHERE amopfamily = opcfamily AND amoppurpose <> 'o')
              + (SELECT CASE WHEN count(*) = 1 THEN 0 ELSE 1 END FROM pg_amproc, family
                 WHERE amprocfamily = opcfamily AND amprocnum = 1)",
        &[opclass.into()],
    );
    matches!(problems, Ok(Some(0)))
}
