//! `halfvec`: float2 elements, and its casts to and from `vector`. Its SQL
//! symbols are pgvector's names.

use vector_core::types::Half;

dense_type! {
    Half,
    distances: {
        l2_distance: halfvec_l2_distance / pg_finfo_halfvec_l2_distance,
        l2_squared_distance: halfvec_l2_squared_distance / pg_finfo_halfvec_l2_squared_distance,
        inner_product: halfvec_inner_product / pg_finfo_halfvec_inner_product,
        negative_inner_product: halfvec_negative_inner_product / pg_finfo_halfvec_negative_inner_product,
        cosine_distance: halfvec_cosine_distance / pg_finfo_halfvec_cosine_distance,
        l1_distance: halfvec_l1_distance / pg_finfo_halfvec_l1_distance,
        spherical_distance: halfvec_spherical_distance / pg_finfo_halfvec_spherical_distance,
    },
    io: { halfvec_in, halfvec_out, halfvec_typmod_in, halfvec_recv, halfvec_send },
    functions: {
        dims: halfvec_vector_dims, norm: halfvec_l2_norm, l2_normalize: halfvec_l2_normalize,
        binary_quantize: halfvec_binary_quantize, subvector: halfvec_subvector,
    },
    operators: { add: halfvec_add, sub: halfvec_sub, mul: halfvec_mul, concat: halfvec_concat },
    comparisons: { cmp: halfvec_cmp, lt: halfvec_lt, le: halfvec_le, eq: halfvec_eq, ne: halfvec_ne, ge: halfvec_ge, gt: halfvec_gt },
    aggregates: { accum: halfvec_accum, avg: halfvec_avg, combine: halfvec_combine },
    casts: { coerce: halfvec, from_array: array_to_halfvec, to_float4: halfvec_to_float4 },
}

#[pg_extern(sql = false)]
fn halfvec_to_vector(vector: Dense, typmod: i32, _explicit: bool) -> PgDense<f32> {
    casts::convert(vector, typmod)
}

#[pg_extern(sql = false)]
fn vector_to_halfvec(vector: PgDense<f32>, typmod: i32, _explicit: bool) -> Dense {
    casts::convert(vector, typmod)
}
