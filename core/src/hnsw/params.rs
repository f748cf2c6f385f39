//! Index parameters and the random level of a new element.

use rand::Rng;

/// The build parameters of one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// M: links per element on layers above 0.
    pub m: usize,
    /// efConstruction: the candidate list size while inserting.
    pub ef_construction: usize,
}

impl HnswParams {
    pub const DEFAULT_M: usize = 16;
    pub const DEFAULT_EF_CONSTRUCTION: usize = 64;

    pub fn new(m: usize, ef_construction: usize) -> Self {
        assert!(m >= 2, "m is at least 2");
        Self { m, ef_construction: ef_construction.max(m) }
    }

    /// Mmax: layer 0 keeps 2M links (the paper's Mmax0), the others M.
    pub fn max_degree(&self, level: usize) -> usize {
        if level == 0 { 2 * self.m } else { self.m }
    }

    /// mL = 1 / ln(M), the level normalization factor.
    pub fn level_multiplier(&self) -> f64 {
        1.0 / (self.m as f64).ln()
    }

    /// Levels above this are never drawn: they would only waste space.
    pub fn max_level(&self) -> usize {
        // P(level >= L) = M^-L; at L = 16 that is 1e-19 even for M = 16.
        16
    }
}

impl Default for HnswParams {
    fn default() -> Self {
        Self::new(Self::DEFAULT_M, Self::DEFAULT_EF_CONSTRUCTION)
    }
}

/// Draws element levels: floor(-ln(U) * mL), U uniform in (0, 1].
pub struct LevelGenerator {
    multiplier: f64,
    max_level: usize,
}

impl LevelGenerator {
    pub fn new(params: &HnswParams) -> Self {
        Self { multiplier: params.level_multiplier(), max_level: params.max_level() }
    }

    pub fn draw(&self, rng: &mut impl Rng) -> usize {
        // gen::<f64>() is in [0, 1); 1 - it is in (0, 1], so ln never sees 0.
        let uniform = 1.0 - rng.gen::<f64>();
        ((-uniform.ln() * self.multiplier).floor() as usize).min(self.max_level)
    }
}
