//! The real data sets in ../shared/data, for the tests and benchmarks.

use std::fs::File;
use std::io::{BufReader, Read};

/// Row-major vectors of one dimension.
pub struct Vectors {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Vectors {
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(self.dim)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The mean vector: the centroid a quantizer centers on.
    pub fn mean(&self) -> Vec<f32> {
        let mut sum = vec![0.0f64; self.dim];
        for row in self.rows() {
            sum.iter_mut().zip(row).for_each(|(s, &x)| *s += x as f64);
        }
        sum.iter().map(|s| (s / self.len() as f64) as f32).collect()
    }
}

fn shared(relative: &str) -> String {
    format!("{}/../../shared/data/{relative}", env!("CARGO_MANIFEST_DIR"))
}

/// The first `limit` vectors of an fvecs file: per vector a little-endian
/// i32 dimension, then that many little-endian f32.
pub fn fvecs(relative: &str, limit: usize) -> Vectors {
    let path = shared(relative);
    let mut reader = BufReader::new(File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}")));
    let (mut dim, mut data) = (0, Vec::new());
    let mut word = [0u8; 4];
    while data.len() < limit.saturating_mul(dim.max(1)) && reader.read_exact(&mut word).is_ok() {
        let this_dim = i32::from_le_bytes(word) as usize;
        assert!(dim == 0 || dim == this_dim, "{path}: mixed dimensions");
        dim = this_dim;
        let mut bytes = vec![0u8; 4 * dim];
        reader.read_exact(&mut bytes).unwrap_or_else(|e| panic!("{path}: truncated: {e}"));
        data.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())));
    }
    Vectors { dim, data }
}

/// SIFT 5k base (128-d, L2): NGT's TSV, 128 components then an id per line.
pub fn sift5k() -> Vectors {
    let path = shared("sift5k-ngt/sift-dataset-5k.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let data = text.lines().flat_map(|line| line.split('\t').take(128).map(|x| x.parse::<f32>().unwrap())).collect();
    Vectors { dim: 128, data }
}

/// The 100 siftsmall queries for [`sift5k`].
pub fn sift_queries() -> Vectors {
    fvecs("sift5k-ngt/siftsmall_query.fvecs", usize::MAX)
}

/// The first `limit` of the 41,159 pydoc-minilm base vectors (384-d, unit norm, cosine).
pub fn pydoc_base(limit: usize) -> Vectors {
    fvecs("pydoc-minilm/base.fvecs", limit)
}

/// The first `limit` of the 1,000 pydoc-minilm queries.
pub fn pydoc_queries(limit: usize) -> Vectors {
    fvecs("pydoc-minilm/query.fvecs", limit)
}
