//! `vector`: float4 elements. Its SQL symbols are pgvector's names.

dense_type! {
    f32,
    distances: {
        l2_distance: vector_l2_distance / pg_finfo_vector_l2_distance,
        l2_squared_distance: vector_l2_squared_distance / pg_finfo_vector_l2_squared_distance,
        inner_product: vector_inner_product / pg_finfo_vector_inner_product,
        negative_inner_product: vector_negative_inner_product / pg_finfo_vector_negative_inner_product,
        cosine_distance: vector_cosine_distance / pg_finfo_vector_cosine_distance,
        l1_distance: vector_l1_distance / pg_finfo_vector_l1_distance,
        spherical_distance: vector_spherical_distance / pg_finfo_vector_spherical_distance,
    },
    io: { vector_in, vector_out, vector_typmod_in, vector_recv, vector_send },
    functions: {
        dims: vector_dims, norm: vector_norm, l2_normalize: l2_normalize,
        binary_quantize: binary_quantize, subvector: subvector,
    },
    operators: { add: vector_add, sub: vector_sub, mul: vector_mul, concat: vector_concat },
    comparisons: { cmp: vector_cmp, lt: vector_lt, le: vector_le, eq: vector_eq, ne: vector_ne, ge: vector_ge, gt: vector_gt },
    aggregates: { accum: vector_accum, avg: vector_avg, combine: vector_combine },
    casts: { coerce: vector, from_array: array_to_vector, to_float4: vector_to_float4 },
}
