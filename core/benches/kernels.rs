//! `cargo bench -p vector_core --bench kernels`: every kernel set against a
//! naive loop at the dimensions embeddings come in. Prints a markdown table
//! of nanoseconds per distance and the speed-up over the naive loop.

use std::hint::black_box;
use std::time::Instant;

use rand::{rngs::SmallRng, Rng, SeedableRng};
use vector_core::distance::{available, Kernels};

const DIMENSIONS: [usize; 4] = [128, 384, 768, 1536];
/// Bytes of vectors per dimension: larger than L1 but inside L2, so the table
/// measures the arithmetic rather than the memory bus.
const WORKING_SET_BYTES: usize = 256 * 1024;

fn naive_l2_squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}
fn naive_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
fn naive_l1(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}
fn naive_cosine(a: &[f32], b: &[f32]) -> f32 {
    naive_dot(a, b) / (naive_dot(a, a) * naive_dot(b, b)).sqrt()
}

/// Median over a few runs of the nanoseconds one call takes.
fn time_ns(data: &[Vec<f32>], f: impl Fn(&[f32], &[f32]) -> f32) -> f64 {
    let mut runs: Vec<f64> = (0..7)
        .map(|_| {
            let rounds = 20;
            let start = Instant::now();
            for _ in 0..rounds {
                for pair in data.chunks_exact(2) {
                    black_box(f(black_box(&pair[0]), black_box(&pair[1])));
                }
            }
            start.elapsed().as_nanos() as f64 / (rounds * data.len() / 2) as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    let mut rng = SmallRng::seed_from_u64(42);
    let sets = available();
    let best: &Kernels = sets.last().unwrap();
    println!("kernel sets on this CPU: {}", sets.iter().map(|k| k.name).collect::<Vec<_>>().join(", "));
    println!();
    println!("| kernel | d | naive ns | {} | speed-up |", sets.iter().map(|k| format!("{} ns", k.name)).collect::<Vec<_>>().join(" | "));
    println!("|---|---:|---:|{}---:|", "---:|".repeat(sets.len()));
    for dim in DIMENSIONS {
        let vectors = WORKING_SET_BYTES / (dim * 4);
        let data: Vec<Vec<f32>> = (0..vectors).map(|_| (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect()).collect();
        type Pick = fn(&Kernels) -> fn(&[f32], &[f32]) -> f32;
        let rows: [(&str, fn(&[f32], &[f32]) -> f32, Pick); 3] = [
            ("l2_squared", naive_l2_squared, |k| k.l2_squared),
            ("inner_product", naive_dot, |k| k.dot),
            ("l1", naive_l1, |k| k.l1),
        ];
        for (name, naive, pick) in rows {
            let naive_ns = time_ns(&data, naive);
            let times: Vec<f64> = sets.iter().map(|k| time_ns(&data, pick(k))).collect();
            let best_ns = time_ns(&data, pick(best));
            print_row(name, dim, naive_ns, &times, best_ns);
        }
        let naive_ns = time_ns(&data, naive_cosine);
        let cos = |k: &Kernels| {
            let parts = k.cosine_parts;
            move |a: &[f32], b: &[f32]| {
                let (d, na, nb) = parts(a, b);
                d / (na * nb).sqrt()
            }
        };
        let times: Vec<f64> = sets.iter().map(|k| time_ns(&data, cos(k))).collect();
        let best_ns = time_ns(&data, cos(best));
        print_row("cosine", dim, naive_ns, &times, best_ns);
    }
}

fn print_row(name: &str, dim: usize, naive_ns: f64, times: &[f64], best_ns: f64) {
    let cells: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
    println!("| {name} | {dim} | {naive_ns:.1} | {} | {:.1}x |", cells.join(" | "), naive_ns / best_ns);
}
