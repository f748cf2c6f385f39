//! Visited sets that are reset without freeing, so a search allocates nothing
//! once warm (hnswlib's trick: a generation counter instead of clearing).

use std::hash::Hasher;
use std::marker::PhantomData;

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

/// A node's identity as an integer below 2^48 (a page address: block and
/// offset), what [`HashVisited`] stores.
pub trait VisitKey: Copy {
    fn visit_key(self) -> u64;
}

/// Bits of a [`VisitKey`]; the slot's bits above them hold its generation.
const KEY_BITS: u32 = 48;
const MAX_GENERATION: u64 = (1 << (64 - KEY_BITS)) - 1;

/// For sparse node addresses (pages): an open-addressing table with linear
/// probing whose slots hold a key stamped with the generation that stored
/// it; a slot of an older generation is empty, so a reset is one
/// increment, as in [`GenerationVisited`]. A walk checks every neighbor of
/// every element it expands (2,400 checks a SIFT 5k search at ef_search
/// 40): a std `HashSet` of the same keys took 14% of the search's CPU.
pub struct HashVisited<N> {
    slots: Vec<u64>,
    /// 64 minus log2 of the slot count: a key's home slot is the top bits
    /// of its Fibonacci hash.
    shift: u32,
    generation: u64,
    len: usize,
    _node: PhantomData<N>,
}

/// Slots a new table starts with: 2,048 keys before it first grows (a
/// SIFT 5k search at ef_search 40 visits 1,100; growing from half that
/// took 2% of its CPU).
const INITIAL_SLOTS: usize = 4096;

impl<N> Default for HashVisited<N> {
    fn default() -> Self {
        Self { slots: vec![0; INITIAL_SLOTS], shift: 64 - INITIAL_SLOTS.trailing_zeros(), generation: 1, len: 0, _node: PhantomData }
    }
}

impl<N> HashVisited<N> {
    /// The bytes the table takes.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Stores `stamped` (not present) in its first empty slot.
    #[inline]
    fn place(&mut self, stamped: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(stamped & ((1 << KEY_BITS) - 1));
        while self.slots[i] >> KEY_BITS == self.generation {
            i = (i + 1) & mask;
        }
        self.slots[i] = stamped;
    }

    /// Doubles the table, keeping this generation's keys; at most half full
    /// keeps probe runs short.
    fn grow(&mut self) {
        let doubled = vec![0; 2 * self.slots.len()];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.shift -= 1;
        let generation = self.generation;
        for stamped in old.into_iter().filter(|slot| slot >> KEY_BITS == generation) {
            self.place(stamped);
        }
    }
}

impl<N: VisitKey> Visited<N> for HashVisited<N> {
    #[inline]
    fn first_visit(&mut self, node: N) -> bool {
        let key = node.visit_key();
        debug_assert!(key < 1 << KEY_BITS, "a visit key of more than {KEY_BITS} bits");
        let stamped = self.generation << KEY_BITS | key;
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot == stamped {
                return false;
            }
            if slot >> KEY_BITS != self.generation {
                self.slots[i] = stamped;
                self.len += 1;
                if 2 * self.len > self.slots.len() {
                    self.grow();
                }
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    fn reset(&mut self) {
        self.len = 0;
        self.generation += 1;
        if self.generation > MAX_GENERATION {
            self.slots.fill(0);
            self.generation = 1;
        }
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::{rngs::SmallRng, Rng, SeedableRng};

    use super::*;

    impl VisitKey for u64 {
        fn visit_key(self) -> u64 {
            self
        }
    }

    /// Against a std set: keys clustered like page addresses, walks long
    /// enough to grow the table several times, and enough resets to wrap
    /// the generation (the wrap clears the slots).
    #[test]
    fn hash_visited_answers_as_a_set_would_across_resets() {
        let mut rng = SmallRng::seed_from_u64(4);
        let mut visited = HashVisited::<u64>::default();
        for walk in 0..(MAX_GENERATION as usize + 40) {
            let mut want = HashSet::new();
            let visits = if walk % 1000 == 0 { 20_000 } else { 30 };
            for _ in 0..visits {
                let key = (rng.gen_range(1..3_000u64) << 16) | rng.gen_range(1..70u64);
                assert_eq!(visited.first_visit(key), want.insert(key), "walk {walk}");
            }
            visited.reset();
        }
        assert!(visited.memory_bytes() >= 16 * 20_000, "grew to hold the long walks at most half full");
    }
}
