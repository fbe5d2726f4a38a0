//! A fast non-cryptographic hasher for the engine's internal maps (interned words, per-value
//! caches, pattern counts). The standard SipHash resists hash flooding, which matters for
//! maps keyed by untrusted input in a server; here the maps live for one batch run and
//! hashing was a tenth of the reading time.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash (as in rustc): rotate, xor, multiply, a word at a time.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// With a final avalanche: the hash table indexes buckets by the low bits, and the low
    /// bits of a product depend only on the low bits of its inputs, so ids like
    /// `R000012345` (digits in the high bytes of a word) would otherwise collide in bulk.
    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^ (z >> 33)
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_hashes_differ() {
        let mut m: FastMap<Box<str>, u32> = FastMap::default();
        m.insert("nguyen".into(), 1);
        m.insert("nguyet".into(), 2);
        assert_eq!(m.get("nguyen"), Some(&1));
        assert_eq!(m.get("nguyet"), Some(&2));
        let h = |s: &str| {
            let mut x = FxHasher::default();
            x.write(s.as_bytes());
            x.finish()
        };
        assert_ne!(h("an"), h("anh"));
        // Ids differing only in high bytes of a word spread over the low bits.
        let low: std::collections::HashSet<u64> = (0..1000).map(|i| h(&format!("R{i:09}")) & 0xFFF).collect();
        assert!(low.len() > 600, "{}", low.len());
    }
}
