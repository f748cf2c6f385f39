//! Inverted-file partitioning for the ivfflat index: k-means over a sample
//! of the rows (k-means++ seeding, Lloyd iterations), and the choice of the
//! cells a query probes.
//!
//! For inner product and cosine the centroids are kept at unit length
//! (spherical k-means), so "nearest centroid" means the largest inner product.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::distance::Metric;

/// At most this many Lloyd iterations; most runs settle much sooner.
const MAX_ITERATIONS: usize = 30;

/// `k` centroids (flattened, `dim` each) for `vectors`.
///
/// With fewer distinct vectors than `k`, some centroids repeat; an empty
/// cell is reseeded with the point furthest from its centroid.
///
/// Training costs O(n k dim) per step and can run for minutes with many
/// cells: `check_interrupts` is called often (after every centroid seeded,
/// every point assigned, every cell updated), so a caller can stop it.
pub fn kmeans(vectors: &[f32], dim: usize, k: usize, metric: Metric, seed: u64, check_interrupts: &mut dyn FnMut()) -> Vec<f32> {
    kmeans_bounded(vectors, dim, k, metric, seed, MAX_ITERATIONS, check_interrupts)
}

/// [`kmeans`] with at most `max_iterations` Lloyd iterations.
fn kmeans_bounded(
    vectors: &[f32],
    dim: usize,
    k: usize,
    metric: Metric,
    seed: u64,
    max_iterations: usize,
    check_interrupts: &mut dyn FnMut(),
) -> Vec<f32> {
    let n = vectors.len() / dim;
    assert!(n > 0 && k > 0, "k-means needs points and cells");
    let score = metric.score_fn();
    let point = |i: usize| &vectors[i * dim..(i + 1) * dim];
    if n <= k {
        // Every point can have a cell of its own (the optimum); the cells
        // left over repeat points and stay empty.
        let mut centroids: Vec<f32> = (0..k).flat_map(|cell| point(cell % n)).copied().collect();
        normalize_if_spherical(&mut centroids, dim, metric);
        return centroids;
    }
    let mut rng = SmallRng::seed_from_u64(seed);

    // k-means++: each new centroid is drawn with probability proportional
    // to its squared distance from the nearest one chosen so far.
    let mut centroids = Vec::with_capacity(k * dim);
    centroids.extend_from_slice(point(rng.gen_range(0..n)));
    let mut nearest: Vec<f32> = (0..n).map(|i| seeding_weight(score(point(i), &centroids[..dim]))).collect();
    while centroids.len() < k * dim {
        check_interrupts();
        let total: f64 = nearest.iter().map(|&w| w as f64).sum();
        let chosen = if total > 0.0 {
            let mut target = rng.gen::<f64>() * total;
            nearest.iter().position(|&w| {
                target -= w as f64;
                target <= 0.0
            })
            .unwrap_or(n - 1)
        } else {
            rng.gen_range(0..n)
        };
        let start = centroids.len();
        centroids.extend_from_slice(point(chosen));
        for (i, w) in nearest.iter_mut().enumerate() {
            *w = w.min(seeding_weight(score(point(i), &centroids[start..start + dim])));
        }
    }
    normalize_if_spherical(&mut centroids, dim, metric);

    let mut assignment = vec![usize::MAX; n];
    for _ in 0..max_iterations {
        let mut changed = 0;
        for (i, cell) in assignment.iter_mut().enumerate() {
            check_interrupts();
            let best = nearest_centroid(point(i), &centroids, dim, metric);
            if best != *cell {
                *cell = best;
                changed += 1;
            }
        }
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &cell) in assignment.iter().enumerate() {
            members[cell].push(i);
        }
        let mut mean = Mean::new(dim, metric);
        for cell in 0..k {
            check_interrupts();
            if members[cell].is_empty() {
                // An empty cell takes the point worst served by its own.
                let worst = (0..n)
                    .max_by(|&a, &b| {
                        let da = score(point(a), &centroids[assignment[a] * dim..(assignment[a] + 1) * dim]);
                        let db = score(point(b), &centroids[assignment[b] * dim..(assignment[b] + 1) * dim]);
                        da.total_cmp(&db)
                    })
                    .expect("n > 0");
                centroids[cell * dim..(cell + 1) * dim].copy_from_slice(point(worst));
                assignment[worst] = cell;
                continue;
            }
            for &i in &members[cell] {
                mean.add(point(i));
            }
            mean.take_into(&mut centroids[cell * dim..(cell + 1) * dim]);
        }
        normalize_if_spherical(&mut centroids, dim, metric);
        if changed * 1000 <= n {
            break; // fewer than 0.1% of the points moved
        }
    }
    centroids
}

/// The mean of one cell's vectors, added one at a time. For bit strings it
/// is their majority bit string (each bit set when more than half of them
/// have it set), the bit string with the least total Hamming distance to
/// them.
struct Mean {
    /// Per element of a vector, or per bit of a bit string's slots.
    sums: Vec<f64>,
    count: usize,
    bits: bool,
}

impl Mean {
    fn new(dim: usize, metric: Metric) -> Self {
        let bits = metric.compares_bits();
        Self { sums: vec![0.0; if bits { dim * 32 } else { dim }], count: 0, bits }
    }

    fn add(&mut self, v: &[f32]) {
        self.count += 1;
        if !self.bits {
            self.sums.iter_mut().zip(v).for_each(|(s, &x)| *s += x as f64);
            return;
        }
        for (slot, x) in v.iter().enumerate() {
            let mut word = x.to_bits();
            while word != 0 {
                self.sums[slot * 32 + word.trailing_zeros() as usize] += 1.0;
                word &= word - 1;
            }
        }
    }

    /// Writes the mean to `out` and starts over.
    fn take_into(&mut self, out: &mut [f32]) {
        let count = self.count as f64;
        if self.bits {
            for (slot, bits) in out.iter_mut().zip(self.sums.chunks_exact(32)) {
                let word = bits.iter().enumerate().fold(0u32, |word, (b, &set)| word | (((set * 2.0 > count) as u32) << b));
                *slot = f32::from_bits(word);
            }
        } else {
            out.iter_mut().zip(&self.sums).for_each(|(c, s)| *c = (s / count) as f32);
        }
        self.sums.iter_mut().for_each(|s| *s = 0.0);
        self.count = 0;
    }
}

/// k-means++ weights must be non-negative; scores for inner product are not.
fn seeding_weight(score: f32) -> f32 {
    score.max(0.0) + f32::EPSILON
}

fn normalize_if_spherical(centroids: &mut [f32], dim: usize, metric: Metric) {
    if matches!(metric, Metric::InnerProduct | Metric::Cosine) {
        for c in centroids.chunks_exact_mut(dim) {
            let norm = crate::distance::norm(c);
            if norm > 0.0 {
                c.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
            }
        }
    }
}

/// The cell whose centroid is nearest to `v`.
pub fn nearest_centroid(v: &[f32], centroids: &[f32], dim: usize, metric: Metric) -> usize {
    let score = centroid_score(metric);
    centroids
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, c)| (score(v, c), i))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one centroid")
        .1
}

/// An order of the rows of `vectors` (flattened, `dim` each) in which rows
/// near each other in space are near each other: recursive 2-means
/// bisection down to `leaf` rows. Each split fits its two centroids on at
/// most `BISECTION_SAMPLE` of its rows and assigns the rest, so ordering n
/// rows costs about 2n scores per level of the recursion. Writing index
/// tuples in this order keeps a search's visits on fewer pages.
///
/// The top of the recursion is split first, then its subtrees are ordered
/// on `threads` threads; the order is the same for any number of them.
pub fn bisection_order(vectors: &[f32], dim: usize, metric: Metric, leaf: usize, threads: usize) -> Vec<u32> {
    let bisection = Bisection { vectors, dim, metric, leaf: leaf.max(1) };
    // Subtrees left to right, split breadth first until there are several
    // per thread (splits are uneven) or none splits any more.
    let mut parts = vec![(0..(vectors.len() / dim) as u32).collect::<Vec<u32>>()];
    while parts.len() < 4 * threads && threads > 1 {
        let before = parts.len();
        parts = parts.into_iter().flat_map(|rows| bisection.split(&rows).map_or_else(|| vec![rows], |(near, far)| vec![near, far])).collect();
        if parts.len() == before {
            break;
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let ordered: Vec<std::sync::Mutex<Vec<u32>>> = parts.iter().map(|_| Default::default()).collect();
    let work = || loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(rows) = parts.get(i) else { break };
        *ordered[i].lock().expect("no thread panics holding a part") = bisection.order(rows.clone());
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    ordered.into_iter().flat_map(|part| part.into_inner().expect("threads are done")).collect()
}

/// Lloyd iterations of a bisection's 2-means: the order needs rough halves
/// only, and 30 iterations of the small splits deep in the recursion were
/// most of the cost (3.5 s of a 200,000-row build's page writing).
const BISECTION_ITERATIONS: usize = 6;

/// Rows fit their split's centroids on at most this many of them.
const BISECTION_SAMPLE: usize = 1024;

struct Bisection<'v> {
    vectors: &'v [f32],
    dim: usize,
    metric: Metric,
    leaf: usize,
}

impl Bisection<'_> {
    fn row(&self, n: u32) -> &[f32] {
        &self.vectors[n as usize * self.dim..(n as usize + 1) * self.dim]
    }

    /// `rows` in two halves by 2-means, `None` for a leaf or identical rows.
    fn split(&self, rows: &[u32]) -> Option<(Vec<u32>, Vec<u32>)> {
        if rows.len() <= self.leaf {
            return None;
        }
        let step = rows.len().div_ceil(BISECTION_SAMPLE);
        let sample: Vec<f32> = rows.iter().step_by(step).flat_map(|&n| self.row(n)).copied().collect();
        let centroids = kmeans_bounded(&sample, self.dim, 2, self.metric, rows.len() as u64, BISECTION_ITERATIONS, &mut || {});
        let (near, far): (Vec<u32>, Vec<u32>) =
            rows.iter().partition(|&&n| nearest_centroid(self.row(n), &centroids, self.dim, self.metric) == 0);
        (!near.is_empty() && !far.is_empty()).then_some((near, far))
    }

    /// `rows` in bisection order, depth first by an explicit stack (a
    /// skewed split must not overflow it).
    fn order(&self, rows: Vec<u32>) -> Vec<u32> {
        let mut out = Vec::with_capacity(rows.len());
        let mut pending = vec![rows];
        while let Some(rows) = pending.pop() {
            match self.split(&rows) {
                Some((near, far)) => {
                    pending.push(far);
                    pending.push(near);
                }
                None => out.extend(rows),
            }
        }
        out
    }
}

/// The `probes` cells nearest to `query`, nearest first.
pub fn nearest_cells(query: &[f32], centroids: &[f32], dim: usize, metric: Metric, probes: usize) -> Vec<usize> {
    let score = centroid_score(metric);
    let mut cells: Vec<(f32, usize)> = centroids.chunks_exact(dim).enumerate().map(|(i, c)| (score(query, c), i)).collect();
    cells.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    cells.into_iter().take(probes).map(|(_, i)| i).collect()
}

/// Cells are chosen by L2 for L2 and L1 data, by inner product for the
/// unit-length centroids of inner-product and cosine data, by Hamming
/// distance to the majority bit strings of bit data.
fn centroid_score(metric: Metric) -> fn(&[f32], &[f32]) -> f32 {
    match metric {
        Metric::L2 | Metric::L1 => Metric::L2.score_fn(),
        Metric::InnerProduct | Metric::Cosine => Metric::InnerProduct.score_fn(),
        Metric::Hamming | Metric::Jaccard => Metric::Hamming.score_fn(),
        _ => panic!("no lists over sparse vectors: {metric:?} has no mean to center a cell on"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(centers: &[[f32; 2]], per: usize, seed: u64) -> Vec<f32> {
        let mut rng = SmallRng::seed_from_u64(seed);
        centers.iter().flat_map(|c| (0..per).flat_map(move |_| [c[0], c[1]]).collect::<Vec<_>>()).map(|x| x + rng.gen_range(-0.5..0.5)).collect()
    }

    /// Bit strings around four centers (each bit flipped with probability
    /// 0.05): Hamming k-means puts each center's strings in one cell, whose
    /// centroid, their majority, is the center itself.
    #[test]
    fn bit_strings_cluster_around_their_majority() {
        use crate::types::bits::{slot_hamming, to_slots};
        let mut rng = SmallRng::seed_from_u64(9);
        let bits = 100;
        let centers: Vec<Vec<u8>> = (0..4).map(|_| (0..13).map(|i| if i < 12 { rng.gen() } else { rng.gen::<u8>() & 0xf0 }).collect()).collect();
        let data: Vec<f32> = (0..400)
            .flat_map(|i| {
                let mut bytes = centers[i % 4].clone();
                for bit in 0..bits {
                    if rng.gen_bool(0.05) {
                        bytes[bit / 8] ^= 1 << (7 - bit % 8);
                    }
                }
                to_slots(&bytes)
            })
            .collect();
        let slots = 4;
        let centroids = kmeans(&data, slots, 4, Metric::Hamming, 3, &mut || {});
        for center in &centers {
            let center = to_slots(center);
            assert!(centroids.chunks_exact(slots).any(|c| slot_hamming(c, &center) == 0.0), "a centroid is the center");
        }
        for (i, point) in data.chunks_exact(slots).enumerate() {
            let same = nearest_centroid(point, &centroids, slots, Metric::Hamming);
            assert_eq!(same, nearest_centroid(&data[(i % 4) * slots..(i % 4 + 1) * slots], &centroids, slots, Metric::Hamming));
        }
    }

    #[test]
    fn finds_well_separated_clusters() {
        let centers = [[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]];
        let data = blobs(&centers, 200, 1);
        let centroids = kmeans(&data, 2, 4, Metric::L2, 7, &mut || {});
        for c in centers {
            let nearest = centroids.chunks_exact(2).map(|x| (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2)).fold(f32::MAX, f32::min);
            assert!(nearest < 1.0, "a centroid lies within 1 of {c:?}");
        }
        // every point lands in the cell of its own blob
        for (i, p) in data.chunks_exact(2).enumerate() {
            let cell = nearest_centroid(p, &centroids, 2, Metric::L2);
            let first = nearest_centroid(&data[(i / 200) * 400..(i / 200) * 400 + 2], &centroids, 2, Metric::L2);
            assert_eq!(cell, first);
        }
    }

    #[test]
    fn bisection_order_is_a_permutation_that_keeps_neighbors_close() {
        let base = crate::test_data::sift5k();
        let order = bisection_order(&base.data, base.dim, Metric::L2, 8, 1);
        assert_eq!(bisection_order(&base.data, base.dim, Metric::L2, 8, 3), order, "the same order on three threads");
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..base.len() as u32).collect::<Vec<_>>(), "every row once");
        let gap = |order: &[u32]| {
            let pairs = order.windows(2).map(|w| crate::distance::l2_squared(base.row(w[0] as usize), base.row(w[1] as usize)) as f64);
            pairs.sum::<f64>() / (order.len() - 1) as f64
        };
        let (bisected, stored) = (gap(&order), gap(&(0..base.len() as u32).collect::<Vec<_>>()));
        assert!(bisected < 0.6 * stored, "consecutive rows are closer: {bisected:.0} against {stored:.0} in stored order");
        let same = [1.0f32, 2.0].repeat(20);
        assert_eq!(bisection_order(&same, 2, Metric::L2, 4, 2).len(), 20, "identical rows end the recursion");
    }

    #[test]
    fn more_cells_than_distinct_points_leaves_none_unusable() {
        let data = [1.0, 1.0, 1.0, 1.0, 5.0, 5.0];
        let centroids = kmeans(&data, 2, 5, Metric::L2, 3, &mut || {});
        assert_eq!(centroids.len(), 10);
        assert!(centroids.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn with_no_more_points_than_cells_each_point_is_a_centroid() {
        let data = blobs(&[[0.0, 0.0], [9.0, 9.0]], 20, 5);
        let mut interrupt_checks = 0;
        let centroids = kmeans(&data, 2, 32_768, Metric::L2, 3, &mut || interrupt_checks += 1);
        assert_eq!(centroids.len(), 2 * 32_768);
        for p in data.chunks_exact(2) {
            let cell = nearest_centroid(p, &centroids, 2, Metric::L2);
            assert_eq!(&centroids[cell * 2..cell * 2 + 2], p);
        }
        let centroids = kmeans(&data, 2, 4, Metric::L2, 3, &mut || interrupt_checks += 1);
        assert_eq!(centroids.len(), 8);
        assert!(interrupt_checks > 40, "training checks for interrupts as it goes");
    }

    #[test]
    fn spherical_centroids_have_unit_length() {
        let data = blobs(&[[1.0, 0.2], [0.1, 1.0]], 50, 2);
        let centroids = kmeans(&data, 2, 2, Metric::Cosine, 4, &mut || {});
        for c in centroids.chunks_exact(2) {
            assert!((crate::distance::norm(c) - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn probes_are_ordered_by_distance() {
        let centroids = [0.0, 0.0, 10.0, 0.0, 20.0, 0.0];
        assert_eq!(nearest_cells(&[11.0, 0.0], &centroids, 2, Metric::L2, 3), vec![1, 2, 0]);
        assert_eq!(nearest_cells(&[11.0, 0.0], &centroids, 2, Metric::L2, 1), vec![1]);
    }
}
