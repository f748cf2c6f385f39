//! `cargo bench -p vector_core --bench rabitq`: nanoseconds per RaBitQ
//! squared-L2 estimate on every code kernel set, one at a time and in a
//! batch, next to the exact f32 distance of the best `distance` kernels.
//! Prints a markdown table.

use std::hint::black_box;
use std::time::Instant;

use rand::{rngs::SmallRng, Rng, SeedableRng};
use vector_core::distance;
use vector_core::quant::{kernels, Estimate, RabitqEncoder};

const DIMENSIONS: [usize; 5] = [128, 384, 768, 1024, 1536];
const BITS: [usize; 3] = [1, 2, 4];
/// Bytes of codes (or vectors) per row: larger than L1 but inside L2, so the
/// table measures the arithmetic rather than the memory bus.
const WORKING_SET_BYTES: usize = 256 * 1024;

/// Median over a few runs of the nanoseconds one item of `items` takes.
fn time_ns(items: usize, mut run: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..7)
        .map(|_| {
            let rounds = 20;
            let start = Instant::now();
            for _ in 0..rounds {
                run();
            }
            start.elapsed().as_nanos() as f64 / (rounds * items) as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    let mut rng = SmallRng::seed_from_u64(42);
    let sets = kernels::available();
    let levels_kernels = kernels::available_levels();
    let exact = distance::kernels();
    let names: Vec<&str> = sets.iter().map(|k| k.name).chain(levels_kernels.iter().map(|k| k.name)).collect();
    println!("code kernels on this CPU: {}", names.join(", "));
    println!();
    println!(
        "| d | B | code bytes | {} | byte tables ns | tables built us | batch ns | exact f32 l2 ({}) ns | exact / batch |",
        names.iter().map(|name| format!("{name} ns")).collect::<Vec<_>>().join(" | "),
        exact.name
    );
    println!("|---:|---:|---:|{}---:|---:|---:|---:|---:|", "---:|".repeat(names.len()));
    for dim in DIMENSIONS {
        let random_vector = |rng: &mut SmallRng| -> Vec<f32> { (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect() };
        let vectors: Vec<Vec<f32>> = (0..WORKING_SET_BYTES / (4 * dim)).map(|_| random_vector(&mut rng)).collect();
        let query = random_vector(&mut rng);
        let exact_ns = time_ns(vectors.len(), || {
            for vector in &vectors {
                black_box((exact.l2_squared)(black_box(vector), black_box(&query)));
            }
        });
        for bits in BITS {
            let encoder = RabitqEncoder::new(dim, bits, 7, vec![0.0; dim]);
            let count = WORKING_SET_BYTES / encoder.code_bytes();
            let codes: Vec<u8> = (0..count).flat_map(|_| encoder.encode(&random_vector(&mut rng))).collect();
            let prepared = encoder.prepare_query(&query);
            let on_each = sets
                .iter()
                .map(|&set| prepared.clone().with_kernels(set))
                .chain(levels_kernels.iter().map(|&kernel| prepared.clone().with_levels_kernel(kernel)));
            let times: Vec<f64> = on_each
                .map(|on_set| {
                    time_ns(count, || {
                        for code in codes.chunks_exact(encoder.code_bytes()) {
                            black_box(on_set.squared_l2(black_box(code)));
                        }
                    })
                })
                .collect();
            let on_tables = prepared.clone().with_byte_tables();
            let tables_ns = time_ns(count, || {
                for code in codes.chunks_exact(encoder.code_bytes()) {
                    black_box(on_tables.squared_l2(black_box(code)));
                }
            });
            let build_us = time_ns(1, || {
                black_box(prepared.clone().with_byte_tables());
            }) / 1000.0;
            let mut out = vec![Estimate::default(); count];
            let batch_ns = time_ns(count, || prepared.squared_l2_batch(black_box(&codes), black_box(&mut out)));
            let cells: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
            println!(
                "| {dim} | {bits} | {} | {} | {tables_ns:.1} | {build_us:.1} | {batch_ns:.1} | {exact_ns:.1} | {:.1}x |",
                encoder.code_bytes(),
                cells.join(" | "),
                exact_ns / batch_ns
            );
        }
    }
}
