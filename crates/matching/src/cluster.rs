//! From matching pairs to groups of records of one person. Plain connected components
//! chain: A≈B and B≈C put A and C together even when A and C are clearly different people
//! (two brothers linked through a badly typed record). So components are only a first cut;
//! a component of three or more records is re-clustered by average linkage on the pairwise
//! match weights of all its members (computed directly, not only the candidate pairs), and
//! no cluster grows beyond `max_cluster`.

use rayon::prelude::*;

/// Union–find with path halving.
#[derive(Debug)]
struct Dsu(Vec<u32>);

impl Dsu {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let p = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = p;
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (lo, hi) = (a.min(b), a.max(b));
            self.0[hi as usize] = lo;
        }
    }
}

/// Components larger than this are split greedily instead of by full average linkage.
const FULL_LINKAGE_MAX: usize = 150;

/// Clusters `n` records from pairs `(i, j, weight)` at or above `threshold` (bits).
/// `weight(i, j)` scores any pair on demand. Returns, per record, the smallest record index
/// of its cluster.
pub fn cluster(
    n: usize,
    pairs: &[(u32, u32, f32)],
    threshold: f64,
    max_cluster: usize,
    weight: impl Fn(u32, u32) -> f64 + Sync,
) -> Vec<u32> {
    let mut dsu = Dsu((0..n as u32).collect());
    for &(i, j, w) in pairs {
        if w as f64 >= threshold {
            dsu.union(i, j);
        }
    }
    let mut label: Vec<u32> = (0..n as u32).map(|i| dsu.find(i)).collect();
    // Members of components with three or more records.
    let mut size = vec![0u32; n];
    for &l in &label {
        size[l as usize] += 1;
    }
    let mut order: Vec<u32> = (0..n as u32).filter(|&i| size[label[i as usize] as usize] >= 3).collect();
    order.sort_unstable_by_key(|&i| (label[i as usize], i));
    let comps: Vec<&[u32]> = order.chunk_by(|a, b| label[*a as usize] == label[*b as usize]).collect();
    let relabels: Vec<Vec<(u32, u32)>> = comps
        .par_iter()
        .map(|members| {
            let groups = if members.len() <= FULL_LINKAGE_MAX {
                average_linkage(members, threshold, max_cluster, &weight)
            } else {
                greedy(members, pairs, threshold, max_cluster, &weight)
            };
            groups
                .into_iter()
                .flat_map(|g| {
                    let head = *g.iter().min().unwrap();
                    g.into_iter().map(move |m| (m, head))
                })
                .collect()
        })
        .collect();
    for (m, head) in relabels.into_iter().flatten() {
        label[m as usize] = head;
    }
    label
}

/// How far below the threshold a pair inside a cluster may fall when another pair links the
/// two groups above it: a factor of about a thousand in odds. Two records of one person
/// that both carry errors (one moved, the other lost its date) are often only weakly alike,
/// yet each matches a third record well; a different person shows evidence against a match
/// that costs more than this (another full birth date, another given name: 13–14 bits each).
const WEAK_LINK_BITS: f64 = 10.0;

/// Agglomerative clustering: repeatedly merge the two groups whose average pairwise weight
/// is highest, while that average is at or above the threshold — or while one pair links
/// them above the threshold and no pair between them is more than [`WEAK_LINK_BITS`] below it.
fn average_linkage(
    members: &[u32],
    threshold: f64,
    max_cluster: usize,
    weight: &impl Fn(u32, u32) -> f64,
) -> Vec<Vec<u32>> {
    let k = members.len();
    let mut w = vec![0.0f64; k * k];
    for a in 0..k {
        for b in a + 1..k {
            let x = weight(members[a], members[b]);
            w[a * k + b] = x;
            w[b * k + a] = x;
        }
    }
    let mut groups: Vec<Vec<usize>> = (0..k).map(|i| vec![i]).collect();
    loop {
        let mut best: Option<(f64, usize, usize)> = None;
        for x in 0..groups.len() {
            for y in x + 1..groups.len() {
                if groups[x].len() + groups[y].len() > max_cluster {
                    continue;
                }
                let (mut sum, mut max, mut min) = (0.0f64, f64::MIN, f64::MAX);
                for &a in &groups[x] {
                    for &b in &groups[y] {
                        let v = w[a * k + b];
                        sum += v;
                        max = max.max(v);
                        min = min.min(v);
                    }
                }
                let avg = sum / (groups[x].len() * groups[y].len()) as f64;
                if (avg >= threshold || (max >= threshold && min >= threshold - WEAK_LINK_BITS))
                    && best.is_none_or(|b| avg > b.0)
                {
                    best = Some((avg, x, y));
                }
            }
        }
        let Some((_, x, y)) = best else { break };
        let moved = groups.swap_remove(y);
        groups[x].extend(moved);
    }
    groups.into_iter().map(|g| g.into_iter().map(|i| members[i]).collect()).collect()
}

/// For very large components: strongest pairs first, a record joins a cluster only if it
/// matches the cluster's first member (its centre) too.
fn greedy(
    members: &[u32],
    pairs: &[(u32, u32, f32)],
    threshold: f64,
    max_cluster: usize,
    weight: &impl Fn(u32, u32) -> f64,
) -> Vec<Vec<u32>> {
    let set: std::collections::HashSet<u32> = members.iter().copied().collect();
    let mut edges: Vec<(f32, u32, u32)> = pairs
        .iter()
        .filter(|(i, j, w)| *w as f64 >= threshold && set.contains(i) && set.contains(j))
        .map(|&(i, j, w)| (w, i, j))
        .collect();
    edges.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut group_of: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for (_, i, j) in edges {
        match (group_of.get(&i).copied(), group_of.get(&j).copied()) {
            (None, None) => {
                group_of.insert(i, groups.len());
                group_of.insert(j, groups.len());
                groups.push(vec![i, j]);
            }
            (Some(g), None) | (None, Some(g)) => {
                let new = if group_of.contains_key(&i) { j } else { i };
                if groups[g].len() < max_cluster && weight(groups[g][0], new) >= threshold {
                    group_of.insert(new, g);
                    groups[g].push(new);
                }
            }
            (Some(_), Some(_)) => {}
        }
    }
    for &m in members {
        if !group_of.contains_key(&m) {
            groups.push(vec![m]);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_cut() {
        // 0≈1 strongly, 1≈2 strongly, but 0 and 2 are clearly different: average linkage
        // keeps 0 and 1 together and 2 apart. 3≈4 is a plain pair.
        let pairs = [(0, 1, 20.0), (1, 2, 6.0), (3, 4, 10.0)];
        let weight = |a: u32, b: u32| -> f64 {
            match (a.min(b), a.max(b)) {
                (0, 1) => 20.0,
                (1, 2) => 6.0,
                (0, 2) => -30.0,
                (3, 4) => 10.0,
                _ => -40.0,
            }
        };
        let labels = cluster(6, &pairs, 5.0, 20, weight);
        assert_eq!(labels, vec![0, 0, 2, 3, 3, 5]);
    }

    /// Three records of one person: two strong links and one weak one (both ends carry
    /// errors). They stay one cluster; with a clearly negative third link they would not.
    #[test]
    fn a_weak_but_plausible_link_does_not_split_a_person() {
        let pairs = [(0, 1, 40.0), (0, 2, 30.0)];
        let weight = |a: u32, b: u32| -> f64 {
            match (a.min(b), a.max(b)) {
                (0, 1) => 40.0,
                (0, 2) => 30.0,
                (1, 2) => 11.5,
                _ => -40.0,
            }
        };
        assert_eq!(cluster(3, &pairs, 21.0, 20, weight), vec![0, 0, 0]);
        let far = |a: u32, b: u32| if (a.min(b), a.max(b)) == (1, 2) { 5.0 } else { weight(a, b) };
        assert_eq!(cluster(3, &pairs, 21.0, 20, far), vec![0, 0, 2]);
    }

    #[test]
    fn size_is_capped() {
        let pairs: Vec<(u32, u32, f32)> = (1..10).map(|j| (0, j, 20.0)).collect();
        let labels = cluster(10, &pairs, 5.0, 4, |_, _| 20.0);
        let biggest = (0..10).map(|l| labels.iter().filter(|&&x| x == l).count()).max().unwrap();
        assert_eq!(biggest, 4);
    }
}
