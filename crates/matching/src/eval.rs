//! Measuring against a truth file (`record_id,person_id`, as `dancu gen --truth` writes it):
//! pairwise precision, recall and F1 of the clusters, and the share of true pairs that
//! blocking let through (no scoring can find a pair that was never compared).

use crate::fastmap::FastMap;
use std::path::Path;

use crate::io::MatchError;

/// The person of each record (by record index); `u32::MAX` when the truth file does not
/// name the record (it is then counted as a person of its own).
#[derive(Debug, Clone)]
pub struct Truth {
    pub person: Vec<u32>,
    /// Pairs of records of the same person.
    pub true_pairs: u64,
}

pub const UNKNOWN: u32 = u32::MAX;

impl Truth {
    /// Reads `record_id,person_id` (header required; extra columns ignored).
    pub fn read(path: &Path, ids: &[Box<str>]) -> Result<Self, MatchError> {
        let index: FastMap<&str, u32> = ids.iter().enumerate().map(|(i, s)| (&**s, i as u32)).collect();
        let err = |line: u64, message: String| MatchError::Truth { path: path.into(), line, message };
        let mut rdr = csv::Reader::from_path(path).map_err(|e| err(0, e.to_string()))?;
        let header = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
        let col = |name: &str| {
            header.iter().position(|h| h.trim_start_matches('\u{feff}') == name).ok_or_else(|| {
                err(1, format!("the header has no `{name}` column (expected record_id,person_id)"))
            })
        };
        let (rid, pid) = (col("record_id")?, col("person_id")?);
        let mut persons: FastMap<Vec<u8>, u32> = FastMap::default();
        let mut person = vec![UNKNOWN; ids.len()];
        let mut row = csv::ByteRecord::new();
        while rdr
            .read_byte_record(&mut row)
            .map_err(|e| err(e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?
        {
            let (Some(r), Some(p)) = (row.get(rid), row.get(pid)) else { continue };
            let Ok(r) = std::str::from_utf8(r) else { continue };
            if let Some(&i) = index.get(r) {
                let n = persons.len() as u32;
                person[i as usize] = match persons.get(p) {
                    Some(&x) => x,
                    None => *persons.entry(p.to_vec()).or_insert(n),
                };
            }
        }
        Ok(Self::from_persons(person))
    }

    pub fn from_persons(person: Vec<u32>) -> Self {
        let mut sizes: FastMap<u32, u64> = FastMap::default();
        for &p in person.iter().filter(|&&p| p != UNKNOWN) {
            *sizes.entry(p).or_default() += 1;
        }
        let true_pairs = sizes.values().map(|&n| n * (n - 1) / 2).sum();
        Truth { person, true_pairs }
    }

    /// Every pair of records of one person, each as (lower index, higher index).
    pub fn pairs(&self) -> Vec<(u32, u32)> {
        let mut by_person: Vec<(u32, u32)> = self
            .person
            .iter()
            .enumerate()
            .filter(|(_, &p)| p != UNKNOWN)
            .map(|(i, &p)| (p, i as u32))
            .collect();
        by_person.sort_unstable();
        let mut pairs = Vec::with_capacity(self.true_pairs as usize);
        for g in by_person.chunk_by(|a, b| a.0 == b.0) {
            for x in 0..g.len() {
                for y in x + 1..g.len() {
                    pairs.push((g[x].1, g[y].1));
                }
            }
        }
        pairs
    }

    pub fn same(&self, i: u32, j: u32) -> bool {
        let p = self.person[i as usize];
        p != UNKNOWN && p == self.person[j as usize]
    }
}

/// Pairwise quality of a clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairMetrics {
    pub true_positives: u64,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Pairwise metrics of `labels` (cluster per record) against `truth`.
pub fn pairwise(labels: &[u32], truth: &Truth) -> PairMetrics {
    let c2 = |n: u64| n * n.saturating_sub(1) / 2;
    let mut clusters: FastMap<u32, u64> = FastMap::default();
    let mut both: FastMap<(u32, u32), u64> = FastMap::default();
    for (i, &l) in labels.iter().enumerate() {
        *clusters.entry(l).or_default() += 1;
        let p = truth.person[i];
        if p != UNKNOWN {
            *both.entry((l, p)).or_default() += 1;
        }
    }
    let predicted_pairs: u64 = clusters.values().map(|&n| c2(n)).sum();
    let true_positives: u64 = both.values().map(|&n| c2(n)).sum();
    let precision = if predicted_pairs == 0 { 1.0 } else { true_positives as f64 / predicted_pairs as f64 };
    let recall = if truth.true_pairs == 0 { 1.0 } else { true_positives as f64 / truth.true_pairs as f64 };
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    PairMetrics { true_positives, predicted_pairs, true_pairs: truth.true_pairs, precision, recall, f1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_counts() {
        // Persons: {0,1,2}, {3,4}, {5}. Clusters: {0,1}, {2,3,4}, {5}.
        let truth = Truth::from_persons(vec![0, 0, 0, 1, 1, 2]);
        assert_eq!(truth.true_pairs, 4);
        let m = pairwise(&[0, 0, 2, 2, 2, 5], &truth);
        // Predicted pairs: 1 + 3 = 4; correct: (0,1), (3,4) = 2.
        assert_eq!((m.predicted_pairs, m.true_positives), (4, 2));
        assert!((m.precision - 0.5).abs() < 1e-9 && (m.recall - 0.5).abs() < 1e-9);
    }
}
