//! Fellegi–Sunter scoring without labels. Each field level has an m probability (how often
//! true matches show it) and a u probability (how often non-matches do); a pair's match
//! weight is the sum of log2(m/u) over its fields. Nobody has labelled data for a sector
//! list, so:
//! - u comes from random pairs (in a big list almost every random pair is a non-match);
//! - m and the share of matches λ come from expectation–maximisation over the candidate
//!   pairs, counted by comparison pattern (a few thousand distinct patterns, so EM costs
//!   nothing however many pairs there are);
//! - exact name agreement is weighed by how common the name is (term frequency): agreeing
//!   on "Nguyễn" (38% of people) proves far less than agreeing on "Khổng".

use crate::fastmap::FastMap;

use rayon::prelude::*;

use crate::compare::{date_key, full_name_key, middle_key, unpack, Comparator, Comparison, Field, NULL};
use crate::record::{IdCheck, Record, Sym};

/// u probabilities are kept at or above this, so that a coincidence never seen among the
/// random pairs cannot prove a match on its own (at most log2(1/FLOOR) ≈ 16.6 bits).
const FLOOR: f64 = 1e-5;
/// m probabilities may go lower: a level true matches (almost) never show — a completely
/// different birth date, a different valid ID — is strong evidence against a match, and
/// must outweigh a household's shared family name, given name and address.
const M_FLOOR: f64 = 1e-7;
/// The most a word of a name can carry in [`Model::name_info`] (a share of 10⁻⁹).
const MAX_INFO_BITS: f64 = 29.897_352_853_986_263;
/// How far a term-frequency adjustment may move an exact-name weight, in bits.
const TF_MAX_SHIFT: f64 = 8.0;
/// Pseudo-people added to a full name's count, at the share its words predict, when a
/// name rarer than its words is estimated ([`Model::full_name_excess`]).
const FULL_NAME_PRIOR: f64 = 1.0;

/// A trained model.
#[derive(Debug, Clone)]
pub struct Model {
    pub fields: Vec<Field>,
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
    /// Share of all pairs (not only candidate pairs) that are matches: the prior.
    pub lambda: f64,
    /// log2(m/u) per field and level.
    pub weights: Vec<Vec<f64>>,
    /// Per symbol, −log2 of its share in either end role (the larger of its share of the
    /// records as family name and as given name), +∞ for a word no record gives: the
    /// exact-name weights are log2 m plus this, with no logarithm per pair.
    pub end_bits: Vec<f64>,
    /// −log2 of the share of the records with a full birth date that give each date
    /// ([`date_key`]).
    pub tf_date: FastMap<u32, f64>,
    /// −log2 of the share of the records with a middle name that give each middle name
    /// ([`middle_key`]).
    pub tf_middle: FastMap<u64, f64>,
    /// log2 of each field's m for its exact level.
    pub exact_m_bits: Vec<f64>,
    /// People carrying each full name ([`full_name_key`]; see [`full_name_frequencies`]).
    pub tf_full: FastMap<u64, u32>,
    /// People counted in `tf_full`, over all names.
    pub full_people: f64,
    /// Per band of a full name's rarity ([`name_band`]): how many bits likelier than
    /// two random records two different people of one full name are to live in one commune
    /// (see [`commune_lift`]); taken off the address weight of a pair whose full name and
    /// commune agree.
    pub commune_lift: [f64; NAME_BANDS],
    /// Per field, the training session (blocking rule) its m came from.
    pub m_source: Vec<&'static str>,
    /// Conditioning on a context (one household; namesakes of one commune): per context,
    /// per field the weights to use instead when a pair is in that context (see [`HouseU`]).
    pub house: Vec<Vec<Option<Vec<f64>>>>,
    pub house_u: Vec<HouseU>,
}

impl Model {
    /// Field `i`'s levels with their weights in bits, for a run's summary:
    /// `exact +9.3, close +4.1, …`.
    pub fn levels_text(&self, i: usize) -> String {
        let levels: Vec<String> = self.fields[i]
            .levels()
            .iter()
            .enumerate()
            .map(|(l, name)| format!("{name} {:+.1}", self.weights[i][l]))
            .collect();
        levels.join(", ")
    }

    /// The weight a field contributes (0 for a `NULL` level), with term-frequency adjustment
    /// for exact family and given names.
    pub fn field_weight(&self, i: usize, c: &Comparison) -> f64 {
        self.field_weight_in(i, c, self.contexts(c))
    }

    /// The contexts (household, namesakes of one commune) a pair is in, one bit each:
    /// worked out once per pair, not once per field.
    fn contexts(&self, c: &Comparison) -> u8 {
        self.house_u
            .iter()
            .enumerate()
            .filter(|(_, h)| h.holds(|f| c.levels[f]))
            .fold(0, |m, (k, _)| m | 1 << k)
    }

    /// [`Model::field_weight`] with the pair's [`Model::contexts`].
    fn field_weight_in(&self, i: usize, c: &Comparison, ctx: u8) -> f64 {
        let w = self.own_weight_in(i, c, ctx);
        if self.fields[i] == Field::GivenName && c.full != 0 {
            return w - self.full_name_excess(c, ctx);
        }
        if self.fields[i] == Field::Address
            && c.full != 0
            && matches!(c.levels[i], 2 | SAME_COMMUNE_OTHER_HOUSE)
        {
            let band = name_band(self.name_info(c.family_sym, c.given_sym, c.middle));
            return w - self.commune_lift[band];
        }
        // A household shares its phone as it shares its address: when both agree they are
        // one piece of evidence ("same household"), counted once at the larger weight, so
        // twins or siblings at one address with one phone are not proved the same person.
        if self.fields[i] == Field::Phone && w > 0.0 {
            let place = self
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| matches!(f, Field::Address | Field::Detail | Field::Unit | Field::Place))
                .map(|(k, _)| self.own_weight_in(k, c, ctx))
                .fold(0.0f64, f64::max);
            return (w - place).max(0.0);
        }
        w
    }

    /// How much the three name fields, weighed each by its own frequency, misstate a full
    /// name that agrees (positive: overstate). They are not independent (`Văn` goes with
    /// men's given names, `Thị` with women's, a lineage keeps its family and middle names
    /// together), so a common full name is commoner than the product of its words' shares:
    /// the share of the other people carrying the full name (the pair's own people left
    /// out) bounds the three together. A full name that fewer people carry than its words
    /// predict is rarer than they say: its share is estimated by shrinking the count of the
    /// other people towards the words' prediction (one pseudo-person, [`FULL_NAME_PRIOR`]),
    /// and the name weighs more, but only for a pair in no context (one house, namesakes of
    /// one commune), where the resemblance of kin is not explained away. Taken off (or
    /// added to) the given name's weight, so that the fields still sum to the total.
    fn full_name_excess(&self, c: &Comparison, ctx: u8) -> f64 {
        let pos = |x: Field| self.fields.iter().position(|f| *f == x);
        let (Some(fam), Some(giv), Some(mid)) =
            (pos(Field::FamilyName), pos(Field::GivenName), pos(Field::MiddleName))
        else {
            return 0.0;
        };
        let people = self.tf_full.get(&c.full).copied().unwrap_or(0);
        let mid_m = if c.levels[mid] == 0 { self.m[mid][0] } else { 1.0 };
        let words = self.own_weight_in(fam, c, ctx)
            + self.own_weight_in(giv, c, ctx)
            + self.own_weight_in(mid, c, ctx);
        let full = |share: f64| (self.m[fam][0] * self.m[giv][0] * mid_m / share).log2();
        let n = self.full_people.max(1.0);
        let others = people.saturating_sub(c.full_own as u32);
        if others > 0 {
            let excess = words - full(others as f64 / n);
            if excess > 0.0 {
                return excess;
            }
        }
        if ctx != 0 {
            return 0.0;
        }
        // Raising, the pair counts as one person at most: two records of one name whose
        // dates differ may be two people, and then the name is not as rare as it looks.
        let others = people.saturating_sub(c.full_own.min(1) as u32) as f64;
        let words_share = (-self.name_info(c.family_sym, c.given_sym, c.middle)).exp2();
        let share = (others + FULL_NAME_PRIOR) / (n + FULL_NAME_PRIOR / words_share);
        (words - full(share)).min(0.0)
    }

    /// How rare a full name is by its words: −log2 of the product of the family and given
    /// names' shares (each in either end role) and the middle name's share (1 without one).
    /// It does not count the pair's own people, unlike `tf_full`, whose small counts say
    /// as much about the pair as about the name.
    pub fn name_info(&self, family: Sym, given: Sym, middle: u64) -> f64 {
        let bits =
            |s: Sym| self.end_bits.get(s as usize).copied().unwrap_or(f64::INFINITY).min(MAX_INFO_BITS);
        let mid = if middle == 0 {
            0.0
        } else {
            self.tf_middle.get(&middle).copied().unwrap_or(0.0).min(MAX_INFO_BITS)
        };
        bits(family) + bits(given) + mid
    }

    /// A field's weight on its own, in the pair's contexts `ctx` ([`Model::contexts`]).
    fn own_weight_in(&self, i: usize, c: &Comparison, ctx: u8) -> f64 {
        let l = c.levels[i];
        if l == NULL {
            return 0.0;
        }
        let plain = self.plain_weight(i, c);
        // A context (the household, namesakes of one commune) explains resemblance; it
        // never adds evidence (a level never seen among a few such pairs would otherwise
        // weigh as proof).
        (0..self.house.len())
            .filter(|k| ctx & 1 << k != 0)
            .filter_map(|k| self.house[k][i].as_ref().map(|w| w[l as usize]))
            .fold(plain, f64::min)
    }

    /// A field's weight against random pairs, term frequency included.
    fn plain_weight(&self, i: usize, c: &Comparison) -> f64 {
        let l = c.levels[i];
        let base = self.weights[i][l as usize];
        if l != 0 {
            return base;
        }
        // A word's frequency in either end role: names are aligned (family and given may
        // be swapped), so "Anh" agreeing in the family slot is weighed as the common given
        // name it is, not as a rare family name.
        let end = |s: Sym| self.end_bits.get(s as usize).copied().filter(|b| b.is_finite());
        let bits = match self.fields[i] {
            Field::FamilyName => end(c.family_sym),
            Field::GivenName => end(c.given_sym),
            // Birth dates are not spread evenly either: 1 January stands in for an unknown
            // day in many lists, and some years are far commoner than others.
            Field::BirthDate => self.tf_date.get(&c.date).copied(),
            // Middle names too: `Văn` and `Thị` are carried by a large share of men and
            // women, and one weight for all middle names overrates them.
            Field::MiddleName => self.tf_middle.get(&c.middle).copied(),
            _ => None,
        };
        match bits {
            Some(bits) => {
                let adjusted = self.exact_m_bits[i] + bits;
                // A middle name's frequency only ever lowers its weight: siblings and
                // cousins of one family share an uncommon middle name, so an uncommon one
                // is no stronger proof than the trained weight (on the development profile
                // raising it let namesakes of one commune through).
                let up = if self.fields[i] == Field::MiddleName { 0.0 } else { TF_MAX_SHIFT };
                adjusted.clamp(base - TF_MAX_SHIFT, base + up)
            }
            None => base,
        }
    }

    /// Total match weight in bits (log2 Bayes factor, prior excluded).
    pub fn weight(&self, c: &Comparison) -> f64 {
        let ctx = self.contexts(c);
        (0..self.fields.len()).map(|i| self.field_weight_in(i, c, ctx)).sum()
    }

    /// Match probability of a weight, with the prior λ.
    pub fn probability(&self, weight: f64) -> f64 {
        let odds = self.lambda / (1.0 - self.lambda) * weight.exp2();
        odds / (1.0 + odds)
    }

    /// The weight at which the probability reaches `p`.
    pub fn weight_for(&self, p: f64) -> f64 {
        (p / (1.0 - p) * (1.0 - self.lambda) / self.lambda).log2()
    }
}

/// splitmix64: a tiny deterministic generator for sampling pairs (outputs are reproducible).
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Level counts per field.
type Counts = Vec<Vec<f64>>;

fn empty_counts(fields: &[Field]) -> Counts {
    fields.iter().map(|f| vec![0.0; f.levels().len()]).collect()
}

/// u probabilities from `samples` random pairs. With `cross` (link and reconcile modes) a
/// pair takes one record from each source.
pub fn estimate_u(records: &[Record], cmp: &Comparator<'_>, samples: usize, cross: bool) -> Vec<Vec<f64>> {
    let n = records.len();
    let (left, right): (Vec<u32>, Vec<u32>) = if cross {
        (
            (0..n as u32).filter(|&i| records[i as usize].source == 0).collect(),
            (0..n as u32).filter(|&i| records[i as usize].source == 1).collect(),
        )
    } else {
        ((0..n as u32).collect(), Vec::new())
    };
    let chunks = 64usize;
    let per_chunk = samples.div_ceil(chunks);
    let counts = (0..chunks)
        .into_par_iter()
        .fold(
            || empty_counts(&cmp.fields),
            |mut acc, chunk| {
                let mut rng = SplitMix(0x5eed ^ (chunk as u64) << 32);
                for _ in 0..per_chunk {
                    let (i, j) = if cross {
                        if left.is_empty() || right.is_empty() {
                            break;
                        }
                        (left[rng.below(left.len())], right[rng.below(right.len())])
                    } else {
                        if n < 2 {
                            break;
                        }
                        (rng.below(n) as u32, rng.below(n) as u32)
                    };
                    if i == j {
                        continue;
                    }
                    let c = cmp.compare(&records[i as usize], &records[j as usize]);
                    for (f, counts) in acc.iter_mut().enumerate() {
                        let l = c.levels[f];
                        if l != NULL {
                            counts[l as usize] += 1.0;
                        }
                    }
                }
                acc
            },
        )
        .reduce(|| empty_counts(&cmp.fields), add_counts);
    counts.into_iter().map(|c| normalise(c, 1.0, FLOOR)).collect()
}

fn add_counts(mut a: Counts, b: Counts) -> Counts {
    for (x, y) in a.iter_mut().zip(b) {
        for (p, q) in x.iter_mut().zip(y) {
            *p += q;
        }
    }
    a
}

/// Probabilities from counts, with `pseudo` added to every level and a floor.
fn normalise(counts: Vec<f64>, pseudo: f64, floor: f64) -> Vec<f64> {
    let total: f64 = counts.iter().sum::<f64>() + pseudo * counts.len() as f64;
    let mut p: Vec<f64> = counts.iter().map(|c| ((c + pseudo) / total).max(floor)).collect();
    let s: f64 = p.iter().sum();
    p.iter_mut().for_each(|x| *x /= s);
    p
}

/// Starting m: most matches agree exactly, the rest spread over the weaker levels.
fn initial_m(fields: &[Field]) -> Vec<Vec<f64>> {
    fields
        .iter()
        .map(|f| {
            let n = f.levels().len();
            let mut v = vec![0.1 / (n - 1) as f64; n];
            v[0] = 0.9;
            v
        })
        .collect()
}

/// EM for m and λ with u fixed, over candidate pairs counted by pattern. Fields with
/// `skip[f]` set are left out (their levels were forced by the blocking rule that produced
/// the pairs, so they say nothing about matches).
pub fn train(
    fields: &[Field],
    patterns: &FastMap<u64, u64>,
    u: &[Vec<f64>],
    skip: &[bool],
) -> (Vec<Vec<f64>>, f64, usize) {
    train_with_fixed(fields, patterns, u, skip, &initial_m(fields), &vec![false; fields.len()])
}

/// [`train`], with the m of the fields marked `fixed` taken from `m0` and not re-estimated:
/// fields learned from a better session still weigh each pair, so that EM over a block of
/// namesakes (which agree on the name and the year) does not take them for matches and
/// learn that a different ID says little.
pub fn train_with_fixed(
    fields: &[Field],
    patterns: &FastMap<u64, u64>,
    u: &[Vec<f64>],
    skip: &[bool],
    m0: &[Vec<f64>],
    fixed: &[bool],
) -> (Vec<Vec<f64>>, f64, usize) {
    let mut m = m0.to_vec();
    let mut lambda = 0.1f64;
    let mut pats: Vec<(u64, f64)> = patterns.iter().map(|(&p, &c)| (p, c as f64)).collect();
    // Sums in a fixed order: the same counts give bit-identical estimates, whatever order
    // the parallel counting filled the map in.
    pats.sort_unstable_by_key(|p| p.0);
    let total: f64 = pats.iter().map(|p| p.1).sum();
    if total == 0.0 {
        return (m, lambda, 0);
    }
    let mut iterations = 0;
    for it in 0..200 {
        iterations = it + 1;
        let mut mc = empty_counts(fields);
        let mut matches = 0.0;
        for &(p, count) in &pats {
            let (mut pm, mut pu) = (lambda, 1.0 - lambda);
            for f in 0..fields.len() {
                let l = unpack(p, f);
                if l != NULL && !skip[f] {
                    pm *= m[f][l as usize];
                    pu *= u[f][l as usize];
                }
            }
            let post = pm / (pm + pu);
            matches += post * count;
            for (f, c) in mc.iter_mut().enumerate() {
                let l = unpack(p, f);
                if l != NULL && !skip[f] {
                    c[l as usize] += post * count;
                }
            }
        }
        let new_m: Vec<Vec<f64>> = mc
            .into_iter()
            .enumerate()
            .map(|(f, c)| if fixed[f] { m[f].clone() } else { normalise(c, 0.01, M_FLOOR) })
            .collect();
        let delta = new_m
            .iter()
            .zip(&m)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0f64, f64::max);
        m = new_m;
        lambda = (matches / total).clamp(1e-6, 1.0 - 1e-6);
        if delta < 1e-6 {
            break;
        }
    }
    (m, lambda, iterations)
}

/// The training pairs of one blocking rule, and the fields that rule forces to agree.
#[derive(Debug)]
pub struct Session<'a> {
    pub name: &'static str,
    pub patterns: &'a FastMap<u64, u64>,
    pub involves: &'a [Field],
}

/// Below this many pairs a session is not trusted to estimate anything.
const MIN_SESSION_PAIRS: u64 = 50;

/// m estimated the way Splink does it, per blocking rule: EM over the pairs of one rule
/// estimates m for the fields that rule does not involve (pairs blocked on a name are a fair
/// sample for dates, IDs and addresses, and vice versa). Pairs of households — same family
/// name and address, different given name and birth date — thus never teach the model that
/// an address is what makes a match. Each field takes m from the first session (personal
/// ID first, then by number of pairs) that does not involve it; then λ, the share of
/// matches among **all** pairs (`all_pairs`, in the units of `all`'s counts), is estimated
/// with m and u fixed, every pair blocking left out counted as a non-match. Returns m, λ
/// and the session each field's m came from.
pub fn train_sessions(
    fields: &[Field],
    sessions: &[Session<'_>],
    all: &FastMap<u64, u64>,
    u: &[Vec<f64>],
    all_pairs: f64,
) -> (Vec<Vec<f64>>, f64, Vec<&'static str>, Vec<HouseU>) {
    let mut m = initial_m(fields);
    let mut source = vec!["prior"; fields.len()];
    let mut done = vec![false; fields.len()];
    // Identifiers, phone and categories first, from anchor pairs.
    if let Some(am) = anchor_m(fields, all) {
        for (i, f) in fields.iter().enumerate() {
            if !is_anchor_field(*f) {
                m[i] = am[i].clone();
                done[i] = true;
                source[i] = "anchor pairs";
            }
        }
    }
    // Pairs sharing a personal ID are nearly all matches: the best teacher for every other
    // field. After it, the larger a session, the better its estimates.
    let mut order: Vec<&Session<'_>> = sessions.iter().collect();
    order.sort_by_key(|s| (s.name != "personal_id", std::cmp::Reverse(s.patterns.values().sum::<u64>())));
    for s in order {
        if s.patterns.values().sum::<u64>() < MIN_SESSION_PAIRS {
            continue;
        }
        let skip: Vec<bool> = fields.iter().map(|f| s.involves.contains(f)).collect();
        if fields.iter().enumerate().all(|(i, _)| skip[i] || done[i]) {
            continue;
        }
        // Fields already learned keep their m and weigh the pairs of this session.
        let (sm, _, _) = train_with_fixed(fields, s.patterns, u, &skip, &m, &done);
        for i in 0..fields.len() {
            if !skip[i] && !done[i] {
                m[i] = sm[i].clone();
                done[i] = true;
                source[i] = s.name;
            }
        }
    }
    let house: Vec<HouseU> =
        [house_u(fields, all, Context::Household), house_u(fields, all, Context::Namesakes)]
            .into_iter()
            .flatten()
            .collect();
    let lambda = estimate_lambda(fields, all, &m, u, &house, all_pairs);
    (m, lambda, source, house)
}

/// Whether an address level says "the same house" (same commune and detail, or same
/// commune and house numbers).
fn same_house(level: u8) -> bool {
    level == 0 || level == 1
}

/// Fields whose agreement a household explains: members share a family name, often a
/// middle name and, for twins, a birth date; given name and sex are what set them apart.
fn house_conditioned(f: Field) -> bool {
    matches!(
        f,
        Field::FamilyName | Field::MiddleName | Field::GivenName | Field::BirthDate | Field::Category(_)
    )
}

/// Below this many pairs of one house with different IDs, no household conditioning.
const MIN_HOUSE_PAIRS: f64 = 200.0;

/// u within households: the fields that mark a household, and per field its u among pairs
/// of one household (the same house, or the same phone number). Fellegi–Sunter takes fields as independent given the match status, but
/// among non-matches of one house they are not: a family name, a middle name and even a
/// birth date (twins) are shared far more often than between random records, so the
/// weights of random pairs count a household's resemblance as proof of one person. These
/// u are read from the pairs of one house whose valid personal IDs differ (two people,
/// almost surely), with nothing chosen on the fields being estimated.
///
/// A shared phone marks a household as a shared house does: lists give a parent's number
/// for children and the house number is often left out, so twins with one phone and one
/// record without a house would otherwise weigh their shared birth date as strangers do.
///
/// Namesakes of one commune are the second such context: people who give the same full
/// name in the same commune are often of one family line (a lineage keeps its family name
/// and middle names in one village), and of one generation, so a shared birth year, a
/// partial date that agrees or one part of a date that differs is far commoner between two
/// of them than between two random records. Their u is read the same way, from the pairs
/// of one commune whose full names agree and whose valid IDs differ (every such pair is
/// proposed by blocking: `name_ends+commune`).
#[derive(Debug, Clone)]
pub struct HouseU {
    pub kind: Context,
    pub address: usize,
    pub phone: Option<usize>,
    /// Family, given and middle name fields (for [`Context::Namesakes`]).
    pub names: [usize; 3],
    pub u: Vec<Option<Vec<f64>>>,
}

/// A group of pairs whose fields are not independent among non-matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// One house, or one phone number.
    Household,
    /// The same full name in the same commune.
    Namesakes,
}

impl HouseU {
    /// Whether a pair (its level per field) is in this context.
    pub fn holds(&self, level: impl Fn(usize) -> u8) -> bool {
        match self.kind {
            Context::Household => {
                same_house(level(self.address)) || self.phone.is_some_and(|p| level(p) == 0)
            }
            Context::Namesakes => {
                let [family, given, middle] = self.names;
                level(family) == 0
                    && level(given) == 0
                    && matches!(level(middle), 0 | NULL)
                    && level(self.address) <= SAME_COMMUNE_OTHER_HOUSE
            }
        }
    }

    /// Whether field `f` is conditioned on this context.
    fn conditions(&self, f: Field) -> bool {
        match self.kind {
            Context::Household => house_conditioned(f),
            // The names define the context; what a lineage of one commune shares beyond
            // them is its generation (the birth date) and, with the given name, the sex.
            Context::Namesakes => matches!(f, Field::BirthDate | Field::Category(_)),
        }
    }
}

/// The address level "same commune, another house": levels up to it are the same commune.
const SAME_COMMUNE_OTHER_HOUSE: u8 = 3;

fn house_u(fields: &[Field], all: &FastMap<u64, u64>, kind: Context) -> Option<HouseU> {
    let address = fields.iter().position(|f| *f == Field::Address)?;
    let pid = fields.iter().position(|f| *f == Field::PersonalId)?;
    let phone = fields.iter().position(|f| *f == Field::Phone);
    let pos = |x: Field| fields.iter().position(|f| *f == x);
    let names = match kind {
        Context::Household => [0; 3],
        Context::Namesakes => [pos(Field::FamilyName)?, pos(Field::GivenName)?, pos(Field::MiddleName)?],
    };
    let marks = HouseU { kind, address, phone, names, u: Vec::new() };
    let different = (Field::PersonalId.levels().len() - 1) as u8;
    let mut counts = empty_counts(fields);
    let mut pairs = 0.0;
    let mut all: Vec<(u64, u64)> = all.iter().map(|(&p, &c)| (p, c)).collect();
    all.sort_unstable();
    for (p, c) in all {
        if !marks.holds(|f| unpack(p, f)) || unpack(p, pid) != different {
            continue;
        }
        pairs += c as f64;
        for (i, counts) in counts.iter_mut().enumerate() {
            let l = unpack(p, i);
            if l != NULL {
                counts[l as usize] += c as f64;
            }
        }
    }
    if pairs < MIN_HOUSE_PAIRS {
        return None;
    }
    let u = fields
        .iter()
        .zip(counts)
        .map(|(f, c)| marks.conditions(*f).then(|| normalise(c, 1.0, FLOOR)))
        .collect();
    Some(HouseU { u, ..marks })
}

/// Fields that define an anchor pair.
fn is_anchor_field(f: Field) -> bool {
    matches!(
        f,
        Field::FamilyName
            | Field::GivenName
            | Field::MiddleName
            | Field::BirthDate
            | Field::Address
            | Field::Unit
            | Field::Detail
            | Field::Place
    )
}

/// A pair whose full name and full birth date agree exactly and whose address is the same
/// commune without two different houses: with few duplicates in a list, pairs that also
/// agree on the house are too few to read anything from, and namesakes of one commune
/// rarely share a full birth date as well. Twins share the date and the house but never
/// the given name.
fn relaxed_anchor(fields: &[Field], p: u64) -> bool {
    let mut names_and_date = 0;
    let mut place = false;
    for (i, f) in fields.iter().enumerate() {
        let l = unpack(p, i);
        match f {
            Field::FamilyName | Field::GivenName | Field::BirthDate if l == 0 => names_and_date += 1,
            Field::MiddleName if l != 0 && l != NULL => return false,
            // same commune and detail / numbers / a house missing on one side
            Field::Address if l <= 2 => place = true,
            Field::Unit | Field::Place if l == 0 => place = true,
            _ => {}
        }
    }
    names_and_date == 3 && place
}

/// m for the other fields (IDs, phone, categories) from anchor pairs: pairs whose full
/// name, full birth date and address all agree exactly are (nearly) all the same person,
/// so no EM is needed to read how often their IDs agree, are one digit off or differ.
/// EM sessions can fail here: in a big list, namesakes born the same year in the same
/// province are many, and EM over a name block may take them for matches and conclude that
/// a different personal ID says little. `None` without enough anchor pairs (or without
/// names, dates and addresses to define them).
fn anchor_m(fields: &[Field], all: &FastMap<u64, u64>) -> Option<Vec<Vec<f64>>> {
    let required = [Field::FamilyName, Field::GivenName, Field::BirthDate];
    if !required.iter().all(|f| fields.contains(f)) {
        return None;
    }
    let has_place = fields.iter().any(|f| matches!(f, Field::Address | Field::Unit | Field::Place));
    if !has_place {
        return None;
    }
    let mut counts = empty_counts(fields);
    let mut anchors = 0u64;
    let place = |f: &Field| matches!(f, Field::Address | Field::Unit | Field::Place);
    let mut all: Vec<(u64, u64)> = all.iter().map(|(&p, &c)| (p, c)).collect();
    all.sort_unstable();
    for (p, c) in all {
        // Name, full date and a place must all be there and agree; other anchor fields
        // (middle name, detail) may be missing.
        let strict = fields.iter().enumerate().all(|(i, f)| {
            let l = unpack(p, i);
            !is_anchor_field(*f) || l == 0 || (l == NULL && !required.contains(f) && !place(f))
        }) && fields.iter().enumerate().any(|(i, f)| place(f) && unpack(p, i) == 0);
        let is_anchor = strict || relaxed_anchor(fields, p);
        if !is_anchor {
            continue;
        }
        anchors += c;
        for (i, counts) in counts.iter_mut().enumerate() {
            let l = unpack(p, i);
            if l != NULL {
                counts[l as usize] += c as f64;
            }
        }
    }
    (anchors >= MIN_SESSION_PAIRS).then(|| counts.into_iter().map(|c| normalise(c, 0.01, M_FLOOR)).collect())
}

/// The share of matches among all `all_pairs` pairs, m and u fixed: EM over the candidate
/// patterns, the pairs blocking did not propose counted as non-matches. u comes from random
/// pairs, so the Bayes factors are relative to a random pair, and the prior must be too: a
/// share among candidate pairs would count the evidence of blocking twice and grow with
/// every blocking rule added (0.56 where the truth was 0.33 among candidates).
fn estimate_lambda(
    fields: &[Field],
    patterns: &FastMap<u64, u64>,
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    house: &[HouseU],
    all_pairs: f64,
) -> f64 {
    let mut bf: Vec<(f64, f64)> = patterns
        .iter()
        .map(|(&p, &c)| {
            let mut r = 1.0;
            let at: Vec<&HouseU> = house.iter().filter(|h| h.holds(|f| unpack(p, f))).collect();
            for f in 0..fields.len() {
                let l = unpack(p, f);
                if l != NULL {
                    // As in scoring: a context only ever lowers a weight.
                    let hu = at
                        .iter()
                        .filter_map(|h| h.u[f].as_ref())
                        .map(|hu| hu[l as usize])
                        .fold(0.0f64, f64::max);
                    r *= m[f][l as usize] / u[f][l as usize].max(hu);
                }
            }
            (r, c as f64)
        })
        .collect();
    // A fixed order: the sum is then the same whatever the hash map's order.
    bf.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let candidates: f64 = bf.iter().map(|x| x.1).sum();
    let total = all_pairs.max(candidates);
    if candidates == 0.0 || total == 0.0 {
        return 1e-9;
    }
    let mut lambda = (candidates / total).clamp(1e-12, 0.5);
    for _ in 0..500 {
        let odds = lambda / (1.0 - lambda);
        let matches: f64 = bf.iter().map(|(r, c)| c * (odds * r) / (1.0 + odds * r)).sum();
        let new = (matches / total).clamp(1e-12, 1.0 - 1e-9);
        let done = (new - lambda).abs() <= 1e-7 * lambda;
        lambda = new;
        if done {
            break;
        }
    }
    lambda
}

/// Assembles a model from m, u and name frequencies (λ to be set by the caller).
pub fn model(
    fields: Vec<Field>,
    m: Vec<Vec<f64>>,
    u: Vec<Vec<f64>>,
    records: &[Record],
    n_strings: usize,
    m_source: Vec<&'static str>,
    house: &[HouseU],
) -> Model {
    let lambda = 0.5;
    let ratio = |m: &[f64], u: &[f64]| -> Vec<f64> { m.iter().zip(u).map(|(a, b)| (a / b).log2()).collect() };
    let weights = m.iter().zip(&u).map(|(m, u)| ratio(m, u)).collect();
    let end_bits = end_word_bits(records, n_strings);
    let tf_date = date_frequencies(records);
    let tf_middle = middle_frequencies(records);
    let (tf_full, full_people) = full_name_frequencies(records);
    let exact_m_bits = m.iter().map(|m| m[0].log2()).collect();
    let house_u = house.to_vec();
    let house = house
        .iter()
        .map(|h| m.iter().zip(&h.u).map(|(m, hu)| hu.as_ref().map(|hu| ratio(m, hu))).collect())
        .collect();
    let mut model = Model {
        fields,
        m,
        u,
        lambda,
        weights,
        end_bits,
        tf_date,
        tf_middle,
        exact_m_bits,
        tf_full,
        full_people,
        commune_lift: [0.0; NAME_BANDS],
        m_source,
        house,
        house_u,
    };
    if let Some(a) = model.fields.iter().position(|f| *f == Field::Address) {
        // The levels the lift applies to: the same commune, not one house.
        let same_commune = model.u[a][2] + model.u[a][SAME_COMMUNE_OTHER_HOUSE as usize];
        let info = |r: &Record| {
            let t = r.name_tokens();
            let middle = if t.len() > 2 { middle_key(&t[1..t.len() - 1]) } else { 0 };
            model.name_info(r.family(), r.given(), middle)
        };
        model.commune_lift = commune_lift(records, info, same_commune);
    }
    model
}

/// −log2 of the share of each full birth date among the records that give a full date.
fn date_frequencies(records: &[Record]) -> FastMap<u32, f64> {
    let mut counts: FastMap<u32, u32> = FastMap::default();
    for r in records {
        let k = date_key(r.date);
        if k != 0 {
            *counts.entry(k).or_default() += 1;
        }
    }
    let n = counts.values().map(|&c| c as f64).sum::<f64>().max(1.0);
    counts.into_iter().map(|(k, c)| (k, share_bits(c, n))).collect()
}

/// Per full name, how many **people** carry it, and the people counted over all names.
/// People, not records: a person's own duplicates (an uploaded list holding three rows of
/// one person) must not make her name look common. Among the records carrying a name, a
/// person is told apart by the full birth date, and records giving one valid personal ID
/// are one person whatever their dates (a row whose date has a typo is not a second
/// person); records without a full date are not counted (they cannot be told apart).
/// The pair compared is one person if it is a match, so the bound leaves out the people
/// its own records were counted as ([`Comparison::full_own`]: a true pair whose dates
/// differ by a typo was counted twice and leaves out two).
fn full_name_frequencies(records: &[Record]) -> (FastMap<u64, u32>, f64) {
    let mut rows: Vec<(u64, u32, u64)> = records
        .par_iter()
        .filter_map(|r| {
            let d = date_key(r.date);
            let k = if d != 0 { full_name_key(r.name_tokens()) } else { 0 };
            let pid = if r.id_check == Some(IdCheck::Valid) { r.pid } else { 0 };
            (k != 0).then_some((k, d, pid))
        })
        .collect();
    rows.par_sort_unstable();
    rows.dedup();
    let mut people: FastMap<u64, u32> = FastMap::default();
    let mut total = 0u64;
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let n = people_of_one_name(group);
        total += n as u64;
        people.insert(group[0].0, n);
    }
    (people, total as f64)
}

/// Bands of a full name's rarity ([`Model::name_info`], 3 bits wide from 9 bits up).
pub const NAME_BANDS: usize = 7;

/// The band of a full name whose words carry `info` bits.
pub fn name_band(info: f64) -> usize {
    ((info - 9.0) / 3.0).floor().clamp(0.0, (NAME_BANDS - 1) as f64) as usize
}

/// Below this many pairs of different people of one full name in a band, no lift.
const MIN_NAME_PAIRS: u64 = 200;

/// Per band of the name's rarity ([`name_band`]), log2 of how much likelier two **different** people
/// of one full name are to live in the same commune than two random records
/// (`same_commune`: the u of the address levels the lift applies to, the same commune but
/// not one house), never below 0.
///
/// Fellegi–Sunter takes the name and the address as independent among non-matches, so a
/// pair agreeing on both gets the name's weight and the commune's (about 11 bits) in full.
/// But names are not spread evenly: a lineage keeps its family and middle names in one
/// village, and parents name children after relatives, so two people of one full name live
/// in one commune far more often than two strangers, the more so the rarer the name. The
/// chain rule P(name, commune) = P(name) · P(commune | name) needs this second factor, read
/// here from the records with a valid personal ID: people are distinct IDs (IDs one digit
/// apart, or with two adjacent digits swapped, in one commune are one person), the pairs of
/// different people of each name counted nation-wide and within each commune (pairs at one
/// house left out: the household context weighs those). Names whose
/// records give no ID contribute nothing; a list without IDs (or too few) gets no lift.
fn commune_lift(
    records: &[Record],
    info: impl Fn(&Record) -> f64 + Sync,
    same_commune: f64,
) -> [f64; NAME_BANDS] {
    let mut rows: Vec<(u64, u64, u64, usize, u64)> = records
        .par_iter()
        .filter_map(|r| {
            let name = full_name_key(r.name_tokens());
            let place = crate::blocking::commune_places(r)[0];
            let valid = r.id_check == Some(IdCheck::Valid);
            (valid && name != 0).then(|| (name, place, r.pid, name_band(info(r)), r.detail_digits))
        })
        .collect();
    rows.par_sort_unstable();
    rows.dedup();
    let mut all = [0u64; NAME_BANDS];
    let mut local = [0u64; NAME_BANDS];
    for name in rows.chunk_by(|a, b| a.0 == b.0) {
        let band = name[0].3;
        let mut ids: Vec<u64> = name.iter().map(|r| r.2).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut people = ids.len() as u64;
        let mut here = 0u64;
        for commune in name.chunk_by(|a, b| a.1 == b.1).filter(|g| g[0].1 != 0) {
            let mut k = commune.len() as u64;
            let mut one_house = 0;
            for (x, a) in commune.iter().enumerate() {
                if commune[..x].iter().any(|b| crate::compare::id_level(a.2, b.2) == 1) {
                    k -= 1;
                    people -= 1;
                } else {
                    one_house +=
                        commune[..x].iter().filter(|b| a.4 != 0 && a.4 == b.4 && a.2 != b.2).count() as u64;
                }
            }
            here += (k * k.saturating_sub(1) / 2).saturating_sub(one_house);
        }
        all[band] += people * people.saturating_sub(1) / 2;
        local[band] += here;
    }
    let mut lift = [0.0; NAME_BANDS];
    for b in 0..NAME_BANDS {
        if all[b] >= MIN_NAME_PAIRS && local[b] > 0 && same_commune > 0.0 {
            let share = local[b] as f64 / all[b] as f64;
            lift[b] = (share / same_commune).log2().clamp(0.0, -same_commune.log2());
        }
    }
    lift
}

/// How many people the rows (name, full date, valid personal ID or 0) of one name, sorted,
/// hold: the distinct dates, less those joined to another by a shared personal ID.
fn people_of_one_name(rows: &[(u64, u32, u64)]) -> u32 {
    let dates: Vec<u32> = {
        let mut d: Vec<u32> = rows.iter().map(|r| r.1).collect();
        d.dedup();
        d
    };
    if dates.len() < 2 || rows.iter().all(|r| r.2 == 0) {
        return dates.len() as u32;
    }
    // Union–find over the dates; each personal ID joins the dates it was given with.
    let mut parent: Vec<u32> = (0..dates.len() as u32).collect();
    fn root(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    let mut first: FastMap<u64, u32> = FastMap::default();
    let mut people = dates.len() as u32;
    for &(_, d, pid) in rows {
        if pid == 0 {
            continue;
        }
        let at = dates.binary_search(&d).expect("date of the group") as u32;
        let other = *first.entry(pid).or_insert(at);
        let (a, b) = (root(&mut parent, at), root(&mut parent, other));
        if a != b {
            parent[a as usize] = b;
            people -= 1;
        }
    }
    people
}

/// −log2 of the share of each middle name among the records that give one.
fn middle_frequencies(records: &[Record]) -> FastMap<u64, f64> {
    let mut counts: FastMap<u64, u32> = FastMap::default();
    for r in records {
        let t = r.name_tokens();
        if t.len() >= 3 {
            *counts.entry(middle_key(&t[1..t.len() - 1])).or_default() += 1;
        }
    }
    let n = counts.values().map(|&c| c as f64).sum::<f64>().max(1.0);
    counts.into_iter().map(|(k, c)| (k, share_bits(c, n))).collect()
}

/// −log2 of `count / n`, the share rounded to `f32` first as the shares are kept elsewhere.
fn share_bits(count: u32, n: f64) -> f64 {
    -((count as f64 / n) as f32 as f64).log2()
}

/// Per symbol, −log2 of the larger of its shares of the records as family name and as given
/// name (+∞ for a word in neither role): [`Model::end_bits`].
fn end_word_bits(records: &[Record], n_strings: usize) -> Vec<f64> {
    let mut fam = vec![0u32; n_strings];
    let mut giv = vec![0u32; n_strings];
    for r in records {
        if r.n_names >= 2 {
            fam[r.family() as usize] += 1;
        }
        giv[r.given() as usize] += 1;
    }
    let n = records.len().max(1) as f32;
    let share = |c: u32| c as f32 / n;
    fam.into_iter()
        .zip(giv)
        .map(|(f, g)| {
            let s = share(f).max(share(g));
            if s > 0.0 {
                -(s as f64).log2()
            } else {
                f64::INFINITY
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn em_separates_a_planted_mixture() {
        // Two fields with two levels each; matches agree 90%, non-matches 10%.
        let fields = vec![Field::Phone, Field::Cmnd];
        let u = vec![vec![0.05, 0.95], vec![0.02, 0.98]];
        let mut pats = FastMap::default();
        let mut add = |a: u8, b: u8, c: u64| *pats.entry((a as u64) | ((b as u64) << 4)).or_default() += c;
        // 1000 matches: 0.9 / 0.95 agreement; 9000 non-matches with u.
        add(0, 0, 855);
        add(0, 1, 45);
        add(1, 0, 95);
        add(1, 1, 5);
        add(0, 0, 9);
        add(0, 1, 441);
        add(1, 0, 171);
        add(1, 1, 8379);
        let (m, lambda, _) = train(&fields, &pats, &u, &[false, false]);
        assert!((lambda - 0.1).abs() < 0.02, "lambda {lambda}");
        assert!((m[0][0] - 0.9).abs() < 0.05, "m {m:?}");
        assert!((m[1][0] - 0.95).abs() < 0.05, "m {m:?}");
    }

    fn pack(levels: &[u8]) -> u64 {
        levels.iter().enumerate().fold(0u64, |p, (i, &l)| p | ((l as u64) << (4 * i)))
    }

    /// A different personal ID must stay strong evidence against a match even when the only
    /// session that can teach it is a block of namesakes: with the address m already learned
    /// and held fixed, EM does not take namesakes of other houses for matches.
    #[test]
    fn em_with_fixed_fields_is_not_fooled_by_namesakes() {
        let fields = vec![Field::Address, Field::PersonalId];
        let u = vec![vec![1e-4, 2e-4, 1e-3, 0.01, 0.1, 0.8889], vec![1e-5, 1e-4, 0.99989]];
        let m0 = vec![vec![0.6, 0.25, 0.05, 0.01, 0.05, 0.04], vec![0.9, 0.05, 0.05]];
        let mut pats = FastMap::default();
        // 100 duplicates (same house, same ID) and 5,000 namesakes of other houses whose IDs differ.
        *pats.entry(pack(&[0, 0])).or_default() += 100;
        *pats.entry(pack(&[3, 2])).or_default() += 2_000;
        *pats.entry(pack(&[5, 2])).or_default() += 3_000;
        let skip = [false, false];
        let (free, _, _) = train(&fields, &pats, &u, &skip);
        let (fixed, _, _) = train_with_fixed(&fields, &pats, &u, &skip, &m0, &[true, false]);
        assert_eq!(fixed[0], m0[0]);
        let w = |m: &[Vec<f64>]| (m[1][2] / u[1][2]).log2();
        assert!(w(&fixed) < -8.0, "different ID weighs {} with the address fixed", w(&fixed));
        assert!(w(&free) > w(&fixed), "free {} fixed {}", w(&free), w(&fixed));
    }

    /// Pairs of one house with different IDs give the household's u: a shared birth date
    /// among them (twins) is far commoner than among random pairs, so the same date weighs
    /// less at one house, and a twin pair without IDs no longer outweighs the threshold.
    #[test]
    fn household_conditioning_weakens_a_shared_date_at_one_house() {
        let fields = vec![Field::GivenName, Field::BirthDate, Field::Address, Field::PersonalId];
        let mut pats = FastMap::default();
        // 1,000 household pairs with different IDs: 3 % share a birth date (twins), the
        // given names differ; the rest differ in date too.
        *pats.entry(pack(&[3, 0, 0, 2])).or_default() += 30;
        *pats.entry(pack(&[3, 5, 0, 2])).or_default() += 970;
        let h = house_u(&fields, &pats, Context::Household).expect("enough household pairs");
        assert_eq!(h.address, 2);
        let hu = h.u[1].as_ref().unwrap();
        assert!(hu[0] > 0.02 && hu[0] < 0.04, "{hu:?}");
        assert!(h.u[3].is_none(), "the ID is not conditioned");
        let u = vec![
            vec![0.01, 0.01, 0.03, 0.95],
            vec![5e-5, 1e-5, 1e-3, 1e-3, 0.01, 0.98894],
            vec![1e-5, 1e-5, 1e-4, 1e-3, 0.01, 0.98888],
            vec![1e-5, 1e-5, 0.99998],
        ];
        let m = vec![
            vec![0.95, 0.03, 0.01, 0.01],
            vec![0.85, 0.02, 0.05, 0.05, 0.02, 0.01],
            vec![0.5, 0.2, 0.1, 0.05, 0.1, 0.05],
            vec![0.9, 0.05, 0.05],
        ];
        let recs: Vec<Record> = Vec::new();
        let plain = model(fields.clone(), m.clone(), u.clone(), &recs, 0, vec![], &[]);
        let cond = model(fields, m, u, &recs, 0, vec![], std::slice::from_ref(&h));
        let mut twin = Comparison { levels: [NULL; crate::compare::MAX_FIELDS], ..Default::default() };
        twin.levels[..4].copy_from_slice(&[3, 0, 0, NULL]);
        assert!(
            cond.weight(&twin) < plain.weight(&twin) - 8.0,
            "{} vs {}",
            cond.weight(&twin),
            plain.weight(&twin)
        );
        // Away from the house, nothing changes.
        twin.levels[2] = 5;
        assert_eq!(cond.weight(&twin), plain.weight(&twin));
    }

    /// A shared phone marks a household like a shared house: twins who give a parent's
    /// number, one of them without a house number, do not weigh their shared birth date as
    /// two strangers would.
    #[test]
    fn a_shared_phone_marks_a_household() {
        let fields =
            vec![Field::GivenName, Field::BirthDate, Field::Address, Field::PersonalId, Field::Phone];
        let mut pats = FastMap::default();
        // Household pairs known only by their phone (the address level says nothing of a
        // house: one side has none), different IDs: 3 % share a birth date.
        *pats.entry(pack(&[3, 0, 2, 2, 0])).or_default() += 30;
        *pats.entry(pack(&[3, 5, 2, 2, 0])).or_default() += 970;
        let h = house_u(&fields, &pats, Context::Household).expect("household pairs by phone");
        assert_eq!(h.phone, Some(4));
        let u = vec![
            vec![0.01, 0.01, 0.03, 0.95],
            vec![5e-5, 1e-5, 1e-3, 1e-3, 0.01, 0.98894],
            vec![1e-5, 1e-5, 1e-4, 1e-3, 0.01, 0.98888],
            vec![1e-5, 1e-5, 0.99998],
            vec![1e-4, 0.9999],
        ];
        let m = vec![
            vec![0.95, 0.03, 0.01, 0.01],
            vec![0.85, 0.02, 0.05, 0.05, 0.02, 0.01],
            vec![0.5, 0.2, 0.1, 0.05, 0.1, 0.05],
            vec![0.9, 0.05, 0.05],
            vec![0.5, 0.5],
        ];
        let recs: Vec<Record> = Vec::new();
        let plain = model(fields.clone(), m.clone(), u.clone(), &recs, 0, vec![], &[]);
        let cond = model(fields, m, u, &recs, 0, vec![], std::slice::from_ref(&h));
        let mut twin = Comparison { levels: [NULL; crate::compare::MAX_FIELDS], ..Default::default() };
        twin.levels[..5].copy_from_slice(&[3, 0, 2, NULL, 0]);
        assert!(
            cond.weight(&twin) < plain.weight(&twin) - 8.0,
            "{} vs {}",
            cond.weight(&twin),
            plain.weight(&twin)
        );
        // Another phone and no shared house: not a household.
        twin.levels[4] = 1;
        assert_eq!(cond.weight(&twin), plain.weight(&twin));
    }

    /// Namesakes of one commune (same full name, same commune) whose IDs differ often share
    /// a birth year: a partial date that agrees weighs less between two of them than between
    /// strangers, and nothing changes for a pair of another commune.
    #[test]
    fn namesakes_of_one_commune_weaken_a_partial_date() {
        let fields = vec![
            Field::FamilyName,
            Field::GivenName,
            Field::MiddleName,
            Field::Address,
            Field::BirthDate,
            Field::PersonalId,
        ];
        let mut pats = FastMap::default();
        // 1,000 pairs of namesakes in one commune (another house) with different IDs: 30 %
        // agree on a partial date (one side gives the year only), the rest differ.
        *pats.entry(pack(&[0, 0, 0, 3, 2, 2])).or_default() += 300;
        *pats.entry(pack(&[0, 0, 0, 3, 5, 2])).or_default() += 700;
        let h = house_u(&fields, &pats, Context::Namesakes).expect("enough namesake pairs");
        assert!(h.u[4].is_some() && h.u[1].is_none(), "only the date is conditioned here");
        assert!(house_u(&fields, &pats, Context::Household).is_none(), "no pair at one house");
        let u = vec![
            vec![0.1, 0.05, 0.85],
            vec![0.01, 0.01, 0.03, 0.01, 0.94],
            vec![0.2, 0.1, 0.05, 0.65],
            vec![1e-5, 1e-5, 1e-4, 1e-3, 0.01, 0.98888],
            vec![5e-5, 1e-5, 1e-3, 1e-3, 0.01, 0.98894],
            vec![1e-5, 1e-5, 0.99998],
        ];
        let m = vec![
            vec![0.95, 0.03, 0.02],
            vec![0.95, 0.02, 0.01, 0.01, 0.01],
            vec![0.9, 0.05, 0.03, 0.02],
            vec![0.5, 0.2, 0.1, 0.05, 0.1, 0.05],
            vec![0.85, 0.02, 0.05, 0.05, 0.02, 0.01],
            vec![0.9, 0.05, 0.05],
        ];
        let recs: Vec<Record> = Vec::new();
        let plain = model(fields.clone(), m.clone(), u.clone(), &recs, 0, vec![], &[]);
        let cond = model(fields, m, u, &recs, 0, vec![], std::slice::from_ref(&h));
        let mut pair = Comparison { levels: [NULL; crate::compare::MAX_FIELDS], ..Default::default() };
        pair.levels[..6].copy_from_slice(&[0, 0, 0, 3, 2, NULL]);
        assert!(
            cond.weight(&pair) < plain.weight(&pair) - 5.0,
            "{} vs {}",
            cond.weight(&pair),
            plain.weight(&pair)
        );
        // Another province: not namesakes of one commune.
        pair.levels[3] = 5;
        assert_eq!(cond.weight(&pair), plain.weight(&pair));
        // A given name that differs: not namesakes either.
        pair.levels[3] = 3;
        pair.levels[1] = 4;
        assert_eq!(cond.weight(&pair), plain.weight(&pair));
    }

    /// A record with the name words `w` (family, middle, given) born on the `i`-th day
    /// from 1 January 1950.
    fn person(w: [u32; 3], i: u32) -> Record {
        use crate::normalise::Ymd;
        let mut r = Record { n_names: 3, ..Default::default() };
        r.names[..3].copy_from_slice(&w);
        r.date =
            Ymd { year: 1950 + (i / 336) as u16, month: (i / 28 % 12 + 1) as u8, day: (i % 28 + 1) as u8 };
        r
    }

    fn full_name_pair(w: [u32; 3]) -> Comparison {
        let mut levels = [NULL; crate::compare::MAX_FIELDS];
        levels[..3].copy_from_slice(&[0, 0, 0]);
        Comparison {
            levels,
            family_sym: w[0],
            given_sym: w[2],
            middle: middle_key(&w[1..2]),
            full: full_name_key(&w),
            full_own: 1,
            ..Default::default()
        }
    }

    /// Two different people of one full name who live in one commune are no coincidence of
    /// two independent fields: the lift measures how much likelier than two random records
    /// they are to share it, from the records with valid IDs; a second ID one digit off in
    /// the same commune is a typo of the same person, not a second person.
    #[test]
    fn people_of_one_name_in_one_commune_lift_the_commune_u() {
        let row = |k: u32, commune: u32, pid: u64| {
            let mut r = person([1000 + k, 1, 2000 + k], k);
            r.commune = commune;
            r.pid = pid;
            r.id_check = Some(IdCheck::Valid);
            r
        };
        let same_commune = 0.001;
        let lift = |recs: &[Record]| commune_lift(recs, |_| 20.0, same_commune)[name_band(20.0)];
        let id = |k: u32, j: u64| 100_000_000_000 + 1_000 * k as u64 + 123 * j;
        // 600 names, each carried by two people of one commune.
        let lineage: Vec<Record> =
            (0..600).flat_map(|k| [row(k, 100 + k, id(k, 1)), row(k, 100 + k, id(k, 2))]).collect();
        assert!((lift(&lineage) - (1.0 / same_commune).log2()).abs() < 1e-9, "{}", lift(&lineage));
        // The same names, the two people in two communes, one of them with a second record
        // whose ID has one digit wrong.
        let spread: Vec<Record> = (0..600)
            .flat_map(|k| {
                [
                    row(k, 100 + 2 * k, id(k, 1)),
                    row(k, 100 + 2 * k, id(k, 1) + 1),
                    row(k, 101 + 2 * k, id(k, 2)),
                ]
            })
            .collect();
        assert_eq!(lift(&spread), 0.0);
        // Without valid IDs nothing can be read.
        let unread: Vec<Record> = lineage
            .iter()
            .cloned()
            .map(|mut r| {
                r.id_check = None;
                r
            })
            .collect();
        assert_eq!(lift(&unread), 0.0);
    }

    /// The weight of the full name A M G (words 1, 2, 3; m 0.95, 0.95, 0.9) when `others`
    /// other people carry it, shrunk towards its words' share as `full_name_excess` does.
    fn shrunk_full_bits(model: &Model, pair: &Comparison, others: f64) -> f64 {
        let words_share = (-model.name_info(1, 3, pair.middle)).exp2();
        let share = (others + FULL_NAME_PRIOR) / (model.full_people + FULL_NAME_PRIOR / words_share);
        (0.95f64 * 0.95 * 0.9 / share).log2()
    }

    /// The full-name bound counts people, not records: three rows of one person (one birth
    /// date, or one ID), as an uploaded list may hold, do not make her name look common (it
    /// is rarer than its words, and weighs more), while three people of that name (three
    /// dates) do bound it. Records without a full date are not counted.
    #[test]
    fn three_records_of_one_person_do_not_make_the_name_common() {
        let fields = vec![Field::FamilyName, Field::GivenName, Field::MiddleName];
        let m = vec![vec![0.95, 0.03, 0.02], vec![0.95, 0.02, 0.01, 0.01, 0.01], vec![0.9, 0.05, 0.03, 0.02]];
        let u = vec![vec![0.1, 0.05, 0.85], vec![0.01, 0.01, 0.03, 0.01, 0.94], vec![0.2, 0.1, 0.05, 0.65]];
        // A small list: 20 people of other names, and three rows of one person A M G.
        let mut recs: Vec<Record> = (0..20).map(|i| person([10 + i, 40 + i, 70 + i], i)).collect();
        recs.extend((0..3).map(|_| person([1, 2, 3], 500)));
        let one = model(fields.clone(), m.clone(), u.clone(), &recs, 100, vec![], &[]);
        let pair = full_name_pair([1, 2, 3]);
        let words: f64 = (0..3).map(|i| one.own_weight_in(i, &pair, 0)).sum();
        // The name's weight when `others` other people carry it, shrunk towards its words.
        let raised = |model: &Model, others: f64| shrunk_full_bits(model, &pair, others).max(words);
        assert_eq!(one.tf_full.values().copied().max(), Some(1), "{:?}", one.tf_full);
        assert!(
            (one.weight(&pair) - raised(&one, 0.0)).abs() < 1e-9,
            "{} vs words {words}",
            one.weight(&pair)
        );
        // The same rows without a birth date are not counted either.
        let mut undated = recs.clone();
        for r in &mut undated[20..] {
            r.date = Default::default();
        }
        let undated = model(fields.clone(), m.clone(), u.clone(), &undated, 100, vec![], &[]);
        assert!((undated.weight(&pair) - raised(&undated, 0.0)).abs() < 1e-9);
        // One of the three rows with a typo in its date, all three with one valid personal
        // ID: still one person.
        let mut typo = recs.clone();
        for r in &mut typo[20..] {
            r.pid = 1_085_000_123;
            r.id_check = Some(IdCheck::Valid);
        }
        typo[22] = Record { pid: 1_085_000_123, id_check: Some(IdCheck::Valid), ..person([1, 2, 3], 501) };
        let typo = model(fields.clone(), m.clone(), u.clone(), &typo, 100, vec![], &[]);
        assert_eq!(typo.tf_full.values().copied().max(), Some(1), "{:?}", typo.tf_full);
        assert!((typo.weight(&pair) - raised(&typo, 0.0)).abs() < 1e-9);
        // Without the ID the typo counts as a second person, but a pair of the two rows
        // whose dates differ leaves out both: no other person bounds the name. Raising it,
        // the pair counts as one person: the other may be a second one.
        let mut typo_no_id = recs.clone();
        typo_no_id[22] = person([1, 2, 3], 501);
        let typo_no_id = model(fields.clone(), m.clone(), u.clone(), &typo_no_id, 100, vec![], &[]);
        let two_dates = Comparison { full_own: 2, ..pair };
        assert!((typo_no_id.weight(&two_dates) - raised(&typo_no_id, 1.0)).abs() < 1e-9);
        // Three people of that name (three birth dates): two others carry it, of 23 people.
        for (r, i) in recs[20..].iter_mut().zip([500, 600, 700]) {
            *r = person([1, 2, 3], i);
        }
        let three = model(fields, m, u, &recs, 100, vec![], &[]);
        let full = (0.95f64 * 0.95 * 0.9 / (2.0 / 23.0)).log2();
        assert!(full < words, "the test needs a binding bound: {full} vs {words}");
        assert!((three.weight(&pair) - full).abs() < 1e-3, "{} vs {full}", three.weight(&pair));
    }

    /// A full name whose words are common but which one person carries is rarer than its
    /// words say and weighs more, outside a context; one house (kin share names) keeps the
    /// words' weights, and a pair whose dates differ counts as one person at most.
    #[test]
    fn a_full_name_rarer_than_its_words_weighs_more() {
        let fields = vec![Field::FamilyName, Field::GivenName, Field::MiddleName];
        let m = vec![vec![0.95, 0.03, 0.02], vec![0.95, 0.02, 0.01, 0.01, 0.01], vec![0.9, 0.05, 0.03, 0.02]];
        let u = vec![vec![0.1, 0.05, 0.85], vec![0.01, 0.01, 0.03, 0.01, 0.94], vec![0.2, 0.1, 0.05, 0.65]];
        // 300 people, each sharing one word with A M G (words 1, 2, 3); one A M G.
        let mut recs: Vec<Record> = (0..300)
            .map(|i| match i % 3 {
                0 => person([1, 10 + i, 400 + i], i),
                1 => person([10 + i, 2, 400 + i], i),
                _ => person([10 + i, 400 + i, 3], i),
            })
            .collect();
        let trained = |recs: &[Record]| model(fields.clone(), m.clone(), u.clone(), recs, 1000, vec![], &[]);
        let pair = full_name_pair([1, 2, 3]);
        // The name's weight when `others` other people carry it, and the words' weights.
        let expect = |model: &Model, others: f64| {
            let words: f64 = (0..3).map(|i| model.own_weight_in(i, &pair, 0)).sum();
            (shrunk_full_bits(model, &pair, others), words)
        };
        recs.push(person([1, 2, 3], 900));
        let one = trained(&recs);
        let (full, words) = expect(&one, 0.0);
        assert!(full > words + 1.0, "{full} vs words {words}");
        assert!((one.weight(&pair) - full).abs() < 1e-9, "{} vs {full}", one.weight(&pair));
        // One house: the words' weights.
        assert!((one.field_weight_in(1, &pair, 1) - one.own_weight_in(1, &pair, 1)).abs() < 1e-9);
        // Two records of the name, two dates, no shared ID, and the pair of the two: it may
        // be two people, so one other person may carry the name.
        recs.push(person([1, 2, 3], 901));
        let two = trained(&recs);
        let two_dates = Comparison { full_own: 2, ..pair };
        let (full_two, words) = expect(&two, 1.0);
        assert!(full_two < expect(&two, 0.0).0 && full_two > words, "{full_two} vs words {words}");
        assert!((two.weight(&two_dates) - full_two).abs() < 1e-9, "{} vs {full_two}", two.weight(&two_dates));
    }

    /// A full name that agrees weighs at most what its own frequency says: a common full
    /// name (its words go together) proves less than the product of its words' shares (a
    /// rarer one weighs more: `three_records_of_one_person_do_not_make_the_name_common`).
    #[test]
    fn a_common_full_name_weighs_by_its_own_frequency() {
        let fields = vec![Field::FamilyName, Field::GivenName, Field::MiddleName];
        let m = vec![vec![0.95, 0.03, 0.02], vec![0.95, 0.02, 0.01, 0.01, 0.01], vec![0.9, 0.05, 0.03, 0.02]];
        let u = vec![vec![0.1, 0.05, 0.85], vec![0.01, 0.01, 0.03, 0.01, 0.94], vec![0.2, 0.1, 0.05, 0.65]];
        // Words 1 = family A, 2 = middle M, 3 = given G (common together), 4 = family B,
        // 5 = middle N, 6 = given H. 400 people are A M G; A, M and G are each also common
        // in other combinations; one person is B N H. Each record is its own person (its
        // own birth date).
        let mut recs: Vec<Record> = (0..400).map(|i| person([1, 2, 3], i)).collect();
        recs.extend((400..1000).map(|i| person([1, 5, 6], i)));
        recs.extend((1000..1600).map(|i| person([4, 2, 6], i)));
        recs.extend((1600..2200).map(|i| person([4, 5, 3], i)));
        recs.push(person([4, 5, 6], 2200));
        let model = model(fields, m, u, &recs, 7, vec![], &[]);
        let common = full_name_pair([1, 2, 3]);
        let words: f64 = (0..3).map(|i| model.own_weight_in(i, &common, 0)).sum();
        // 399 other people of 2,201 carry the name.
        let full = (0.95f64 * 0.95 * 0.9 / (399.0 / 2201.0)).log2();
        assert!((model.weight(&common) - full).abs() < 1e-3, "{} vs {full}", model.weight(&common));
        assert!(model.weight(&common) < words - 0.5, "{} vs words {words}", model.weight(&common));
        // Without the full-name key, the words' weights.
        let mut no_key = common;
        no_key.full = 0;
        assert!((model.weight(&no_key) - words).abs() < 1e-9);
    }

    /// An exact birth date is weighed by how common that date is: 1 January, where lists put
    /// an unknown day, proves far less than a date few records give.
    #[test]
    fn a_common_birth_date_weighs_less() {
        use crate::normalise::Ymd;
        let fields = vec![Field::BirthDate];
        let m = vec![vec![0.85, 0.02, 0.05, 0.05, 0.02, 0.01]];
        let u = vec![vec![1e-4, 1e-5, 1e-3, 1e-3, 0.01, 0.98789]];
        let date = |month, day| Ymd { year: 1970, month, day };
        // 2,000 records born on 1 January 1970, and one on each day 1–28 of 1950–1990.
        let mut recs: Vec<Record> =
            (0..2000).map(|_| Record { date: date(1, 1), ..Default::default() }).collect();
        for year in 1950..=1990u16 {
            recs.extend(
                (1..=12u8)
                    .flat_map(|mo| (1..=28u8).map(move |d| (mo, d)))
                    .map(|(month, day)| Record { date: Ymd { year, month, day }, ..Default::default() }),
            );
        }
        let model = model(fields, m, u, &recs, 1, vec![], &[]);
        let mut c = Comparison::default();
        c.levels[0] = 0;
        c.date = date_key(date(1, 1));
        let jan1 = model.weight(&c);
        c.date = date_key(date(7, 5));
        let rare = model.weight(&c);
        assert!(rare - jan1 > 6.0, "1 January {jan1}, 5 July {rare}");
        // Without a known date key the trained weight is used.
        c.date = 0;
        assert_eq!(model.weight(&c), model.weights[0][0]);
    }

    #[test]
    fn probability_and_weight_are_inverse() {
        let m = Model {
            fields: vec![],
            m: vec![],
            u: vec![],
            lambda: 0.01,
            weights: vec![],
            end_bits: vec![],
            tf_date: FastMap::default(),
            tf_middle: FastMap::default(),
            exact_m_bits: vec![],
            tf_full: FastMap::default(),
            full_people: 0.0,
            commune_lift: [0.0; NAME_BANDS],
            m_source: vec![],
            house: vec![],
            house_u: vec![],
        };
        let w = m.weight_for(0.9);
        assert!((m.probability(w) - 0.9).abs() < 1e-9);
    }
}
