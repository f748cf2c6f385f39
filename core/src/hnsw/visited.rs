//! Visited sets that are reset without freeing, so a search allocates nothing
//! once warm (hnswlib's trick: a generation counter instead of clearing).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

pub trait Visited<N> {
    /// Records `node`; true the first time it is seen since the last reset.
    fn first_visit(&mut self, node: N) -> bool;
    fn reset(&mut self);
}

/// For dense `u32` node ids: one generation stamp per node.
pub struct GenerationVisited {
    stamps: Vec<u32>,
    generation: u32,
}

impl GenerationVisited {
    pub fn new(capacity: usize) -> Self {
        Self { stamps: vec![0; capacity], generation: 1 }
    }
}

impl Visited<u32> for GenerationVisited {
    #[inline]
    fn first_visit(&mut self, node: u32) -> bool {
        let i = node as usize;
        if i >= self.stamps.len() {
            self.stamps.resize((i + 1).next_power_of_two(), 0);
        }
        let fresh = self.stamps[i] != self.generation;
        self.stamps[i] = self.generation;
        fresh
    }

    fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.generation = 1;
        }
    }
}

/// For sparse node addresses (pages): a hash set with a cheap hasher.
pub struct HashVisited<N> {
    seen: HashSet<N, BuildHasherDefault<MixHasher>>,
}

impl<N: Hash + Eq> Default for HashVisited<N> {
    fn default() -> Self {
        let mut seen = HashSet::default();
        seen.reserve(1024);
        Self { seen }
    }
}

impl<N> HashVisited<N> {
    /// The bytes the set's table takes: a slot and a control byte per bucket.
    pub fn memory_bytes(&self) -> usize {
        self.seen.capacity() * (std::mem::size_of::<N>() + 1)
    }
}

impl<N: Hash + Eq> Visited<N> for HashVisited<N> {
    #[inline]
    fn first_visit(&mut self, node: N) -> bool {
        self.seen.insert(node)
    }

    fn reset(&mut self) {
        self.seen.clear();
    }
}

/// Fibonacci hashing of the written integers: node addresses are not
/// attacker-controlled, so SipHash's cost buys nothing here.
#[derive(Default)]
pub struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    #[inline]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64);
    }

    #[inline]
    fn write_u16(&mut self, x: u16) {
        self.write_u64(x as u64);
    }
}
