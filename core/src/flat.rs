//! Many vectors in one allocation, end to end: the keys an index build
//! collects and its in-memory graph holds. Dense keys all have one length;
//! sparse keys in slots (`types::sparse::to_slots`) each have their own, so
//! every vector is found by where it ends.

#[derive(Debug, Clone, Default)]
pub struct FlatVectors {
    values: Vec<f32>,
    /// Vector i is values[ends[i - 1]..ends[i]] (from 0 for the first).
    ends: Vec<usize>,
}

impl FlatVectors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Vectors of `dim` values each, flattened into `values`.
    pub fn from_fixed(values: Vec<f32>, dim: usize) -> Self {
        assert!(dim > 0 && values.len().is_multiple_of(dim), "whole vectors of {dim} values");
        let ends = (1..=values.len() / dim).map(|i| i * dim).collect();
        Self { values, ends }
    }

    /// Room for `vectors` more holding `values` more values in all.
    pub fn reserve(&mut self, vectors: usize, values: usize) {
        self.ends.reserve(vectors);
        self.values.reserve(values);
    }

    pub fn push(&mut self, vector: &[f32]) {
        self.values.extend_from_slice(vector);
        self.ends.push(self.values.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    #[inline]
    pub fn get(&self, i: usize) -> &[f32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.values[start..self.ends[i]]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Every value, vector after vector.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Keeps the vectors whose `keep` is true, in order, in place.
    pub fn retain(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.len(), "a verdict per vector");
        let (mut kept_values, mut kept) = (0, 0);
        for (i, &keep) in keep.iter().enumerate() {
            if !keep {
                continue;
            }
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            let end = self.ends[i];
            self.values.copy_within(start..end, kept_values);
            kept_values += end - start;
            self.ends[kept] = kept_values;
            kept += 1;
        }
        self.values.truncate(kept_values);
        self.ends.truncate(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_of_any_length_come_back_as_pushed() {
        let mut flat = FlatVectors::new();
        let vectors: Vec<Vec<f32>> = vec![vec![1.0], vec![], vec![2.0, 3.0, 4.0], vec![5.0, 6.0]];
        vectors.iter().for_each(|v| flat.push(v));
        assert_eq!(flat.iter().collect::<Vec<_>>(), vectors.iter().map(|v| &v[..]).collect::<Vec<_>>());
        flat.retain(&[false, true, true, false]);
        assert_eq!(flat.iter().collect::<Vec<_>>(), vec![&[][..], &[2.0, 3.0, 4.0][..]]);
        flat.retain(&[false, true]);
        assert_eq!((flat.len(), flat.get(0), flat.values()), (1, &[2.0, 3.0, 4.0][..], &[2.0, 3.0, 4.0][..]));
    }

    #[test]
    fn fixed_vectors_are_cut_at_their_length() {
        let flat = FlatVectors::from_fixed((0..12).map(|x| x as f32).collect(), 4);
        assert_eq!((flat.len(), flat.get(2)), (3, &[8.0, 9.0, 10.0, 11.0][..]));
    }
}
