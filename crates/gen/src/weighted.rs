//! Weighted choice over a small fixed table.

use rand::Rng;

/// Items with cumulative weights; [`Weighted::pick`] costs one random number and a binary
/// search.
#[derive(Debug, Clone)]
pub(crate) struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<f64>,
}

impl<T: Copy> Weighted<T> {
    /// Builds the table; items with a weight ≤ 0 are never picked. Panics on an empty or
    /// all-zero table (the tables are compiled in, so that is a programming error).
    pub(crate) fn new(pairs: impl IntoIterator<Item = (T, f64)>) -> Self {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for (item, w) in pairs {
            if w > 0.0 {
                total += w;
                items.push(item);
                cumulative.push(total);
            }
        }
        assert!(total > 0.0, "a weighted table needs a positive weight");
        Weighted { items, cumulative }
    }

    pub(crate) fn pick<R: Rng>(&self, rng: &mut R) -> T {
        let total = *self.cumulative.last().unwrap();
        let u = rng.gen::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= u).min(self.items.len() - 1);
        self.items[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn follows_weights_and_skips_zero() {
        let t = Weighted::new([('a', 3.0), ('b', 0.0), ('c', 1.0)]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 40_000;
        let a = (0..n).filter(|_| t.pick(&mut rng) == 'a').count() as f64 / n as f64;
        assert!((a - 0.75).abs() < 0.02, "{a}");
        assert!((0..1000).all(|_| t.pick(&mut rng) != 'b'));
    }
}
