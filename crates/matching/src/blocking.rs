//! Blocking: which pairs are compared at all. Comparing every pair of a million records is
//! 5·10¹¹ comparisons; instead each rule groups records sharing a key (same personal ID;
//! same family and given name and birth year; …) and only pairs inside a group are
//! compared. Several rules are joined so that a duplicate with one field wrong is still
//! found by a rule that does not use that field.
//!
//! Each pair is compared once: a pair is skipped in a block when an earlier rule (or an
//! earlier key of the same rule) already put both records in a normal-sized block. Blocks
//! larger than `max_block` (thousands of "Nguyễn Văn Anh" born in 1990) are not compared
//! all-against-all but through a sorted window of `window` neighbours, so the work stays
//! near linear whatever the name distribution.

use rayon::prelude::*;

use crate::compare::Field;
use crate::fastmap::FastSet;
use crate::normalise::key;
use crate::record::{Record, Sym, MAX_NAME_TOKENS};

/// A blocking rule: up to two keys per record (0 = none).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub keys: fn(&Record) -> [u64; 2],
    /// Fields whose agreement the rule forces (not trained on this rule's pairs).
    pub involves: &'static [Field],
    /// Blocks larger than this (or than `settings.max_block`, whichever is smaller) are
    /// windowed: for a rule whose key groups many strangers.
    pub max_block: Option<usize>,
}

/// The block size from which `given+birth_date` windows its blocks: its family-name key
/// groups everyone of one family born on one day (about 130 Nguyễn a day at ten million
/// records, nearly all strangers), and a given name with a typo still sorts near the right
/// one inside the window (symbols are numbered in alphabetical order).
pub const DENSE_MAX_BLOCK: usize = 50;

impl Rule {
    /// Whether two records share a key of this rule.
    pub fn shared(&self, a: &Record, b: &Record) -> bool {
        let kb = (self.keys)(b);
        (self.keys)(a).iter().any(|k| *k != 0 && kb.contains(k))
    }
}

fn pid_keys(r: &Record) -> [u64; 2] {
    [if r.pid != 0 { key(&[1, r.pid]) } else { 0 }, 0]
}

fn cmnd_keys(r: &Record) -> [u64; 2] {
    [if r.cmnd != 0 { key(&[2, r.cmnd as u64]) } else { 0 }, 0]
}

fn phone_keys(r: &Record) -> [u64; 2] {
    [if r.phone != 0 { key(&[3, r.phone]) } else { 0 }, 0]
}

/// The 2025 province, or the folded province text when there is no unit code.
fn place(r: &Record) -> u64 {
    if r.province != 0 {
        r.province as u64
    } else {
        r.province_text as u64 | 1 << 40
    }
}

/// First and last name word (in either order) and birth year, anywhere in the country:
/// robust to a move, a missing or extra middle name, swapped family/given columns, any
/// day/month error and an ID error.
fn name_ends_year_keys(r: &Record) -> [u64; 2] {
    if r.n_names < 2 || r.date.year == 0 {
        return [0, 0];
    }
    let (f, g) = (r.family() as u64, r.given() as u64);
    [key(&[4, f.min(g), f.max(g), r.date.year as u64]), 0]
}

/// Given name and full birth date (day and month in either order): robust to a move, a
/// family-name error and a middle-name error; and the family name with the full date: robust
/// to a typo in the given name (`Lan`/`Lam`), and to a name written given-first (its family
/// name last). Its blocks are windowed from [`DENSE_MAX_BLOCK`] records.
fn given_date_keys(r: &Record) -> [u64; 2] {
    let d = r.date;
    if r.n_names < 2 || !d.is_full() {
        return [0, 0];
    }
    let dk =
        |w: Sym| key(&[9, w as u64, d.year as u64, d.month.min(d.day) as u64, d.month.max(d.day) as u64]);
    [dk(r.given()), dk(r.family())]
}

/// A sound key of a folded name word: the first letter and the consonant skeleton of the
/// rest (vowels, `h` and doubled letters dropped), so `nguyen`/`nguyn`/`ngyuen`, `huong`/
/// `hương`/`huongf` share it.
pub fn sound_key(w: &str) -> u64 {
    let b = w.as_bytes();
    let mut out: u64 = 0;
    let mut last = 0u8;
    for (i, &c) in b.iter().enumerate() {
        let c = c.to_ascii_lowercase();
        let keep = i == 0
            || !matches!(
                c,
                b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'h' | b'w' | b'f' | b's' | b'r' | b'x' | b'j'
            );
        if keep && c != last && c.is_ascii_alphanumeric() {
            out = out.wrapping_mul(37).wrapping_add(c as u64);
        }
        last = c;
    }
    out | 1
}

/// The hash of the sorted sound keys of a record's name words (0 without names).
pub fn sound_names(r: &Record, strings: &[Box<str>]) -> u64 {
    let n = r.n_names as usize;
    if n == 0 {
        return 0;
    }
    let mut t = [0u64; MAX_NAME_TOKENS];
    for (slot, &sym) in t.iter_mut().zip(&r.names[..n]) {
        *slot = strings.get(sym as usize).map(|s| sound_key(s)).unwrap_or(0);
    }
    t[..n].sort_unstable();
    key(&t[..n])
}

/// Sorted sound keys of all name words, with birth month and day: robust to a move, a
/// wrong or missing birth year, a typo in a name and any word order.
fn sound_names_month_day_keys(r: &Record) -> [u64; 2] {
    let d = r.date;
    if r.n_names < 2 || !d.is_full() || r.sound_names == 0 {
        return [0, 0];
    }
    [key(&[10, r.sound_names, d.month.min(d.day) as u64, d.month.max(d.day) as u64]), 0]
}

/// Fragments of the personal ID: the six random digits, and the first six (province,
/// century, year) with the given name: an ID with one digit wrong or two digits swapped
/// keeps one of them.
fn id_fragment_keys(r: &Record) -> [u64; 2] {
    if r.pid == 0 {
        return [0, 0];
    }
    let serial = r.pid % 1_000_000;
    let head = r.pid / 1_000_000;
    [key(&[11, serial]), if r.n_names >= 2 { key(&[12, head, r.given() as u64]) } else { 0 }]
}

/// The commune (2025), both candidates of a split legacy commune, or else the province:
/// the finest place a block can use without losing the same address written in legacy units.
fn local_places(r: &Record) -> [u64; 2] {
    if r.commune == 0 {
        return [place(r), 0];
    }
    let second =
        if r.split != 0 { crate::normalise::split_candidates(r.split).get(1).copied() } else { None };
    [r.commune as u64 | 1 << 41, second.map(|c| c as u64 | 1 << 41).unwrap_or(0)]
}

/// The commune by code ([`local_places`]), else by its name as written (a list whose
/// communes are not official units), else nothing.
pub(crate) fn commune_places(r: &Record) -> [u64; 2] {
    if r.commune != 0 {
        local_places(r)
    } else if r.commune_text != 0 {
        [r.commune_text as u64 | 1 << 42, 0]
    } else {
        [0, 0]
    }
}

/// Birth decade (0 when unknown): most date errors (swapped day and month, year only, a
/// wrong day) keep it, and it splits the blocks of common names tenfold.
fn decade(r: &Record) -> u64 {
    (r.date.year / 10) as u64
}

/// All name words as a set, the province and the birth decade: robust to any word order, a
/// wrong or missing ID and most date errors.
fn name_set_province_keys(r: &Record) -> [u64; 2] {
    if r.n_names < 2 {
        return [0, 0];
    }
    let mut t = r.names;
    let n = r.n_names as usize;
    t[..n].sort_unstable();
    let mut parts = [0u64; 9];
    parts[0] = 5;
    parts[1] = place(r);
    parts[2] = decade(r);
    for (i, s) in t[..n].iter().enumerate() {
        parts[3 + i] = *s as u64;
    }
    [key(&parts[..3 + n]), 0]
}

/// Full birth date with day and month in either order, and the commune: robust to any
/// name error and to a wrong or missing ID.
fn date_commune_keys(r: &Record) -> [u64; 2] {
    let d = r.date;
    if !d.is_full() {
        return [0, 0];
    }
    local_places(r).map(|p| {
        if p == 0 {
            0
        } else {
            key(&[6, d.year as u64, d.month.min(d.day) as u64, d.month.max(d.day) as u64, p])
        }
    })
}

/// Given name, commune and birth decade: robust to a family-name error together with a
/// day/month error or a wrong ID.
fn given_commune_keys(r: &Record) -> [u64; 2] {
    if r.n_names < 2 {
        return [0, 0];
    }
    commune_places(r).map(|p| if p == 0 { 0 } else { key(&[7, r.given() as u64, p, decade(r)]) })
}

/// First and last name word (in either order) and the commune, by code (both candidates of
/// a split legacy commune) or by its name as written, with no date at all: a record whose
/// birth date is missing (or whose year is wrong) is still compared with the records of its
/// namesakes in its own commune, where a duplicate that has not moved lives. Blocks stay
/// small: people of one name in one commune.
fn name_ends_commune_keys(r: &Record) -> [u64; 2] {
    if r.n_names < 2 {
        return [0, 0];
    }
    let (f, g) = (r.family() as u64, r.given() as u64);
    let names = |place: u64| key(&[15, f.min(g), f.max(g), place]);
    let text = if r.commune_text != 0 { names(r.commune_text as u64 | 1 << 42) } else { 0 };
    if r.commune == 0 {
        return [text, 0];
    }
    let [first, second] = local_places(r);
    [names(first), if second != 0 { names(second) } else { text }]
}

/// The house numbers of the address detail and the commune: a household's block, robust to
/// every error in names, dates and IDs at once (a duplicate with a typo in the given name, a
/// year-only date and no ID is still at the same address). Without unit codes the commune
/// name and the postcode stand in for the commune (one key each, so a typo in one is
/// survived).
fn address_keys(r: &Record) -> [u64; 2] {
    if r.detail_digits == 0 {
        return [0, 0];
    }
    let text = if r.commune_text != 0 { key(&[13, r.commune_text as u64, r.detail_digits]) } else { 0 };
    if r.commune != 0 {
        // The code's commune, and the commune name as written as well (or the second
        // candidate of a split commune): one record of a household may carry only the code
        // and the other only the name.
        let [first, second] = local_places(r).map(|p| if p == 0 { 0 } else { key(&[8, p, r.detail_digits]) });
        return [first, if second != 0 { second } else { text }];
    }
    let post = if r.postcode != 0 { key(&[14, r.postcode as u64, r.detail_digits]) } else { 0 };
    [text, post]
}

/// Every blocking rule by name, strongest first (the order they run in).
pub const RULE_NAMES: [&str; 12] = [
    "personal_id",
    "cmnd",
    "phone",
    "id_fragments",
    "name_ends+year",
    "given+birth_date",
    "sound_names+month_day",
    "name_words+place+decade",
    "birth_date+commune",
    "given+commune+decade",
    "name_ends+commune",
    "address_numbers",
];

const PLACES: &[Field] = &[Field::Unit, Field::Address, Field::Place, Field::Detail];

/// A rule by name, when the model has the fields it needs.
fn rule(name: &str, fields: &[Field]) -> Option<Rule> {
    let has = |f: Field| fields.contains(&f);
    let r = |name: &'static str, keys: fn(&Record) -> [u64; 2], involves: &'static [Field]| {
        Some(Rule { name, keys, involves, max_block: None })
    };
    match name {
        "personal_id" if has(Field::PersonalId) => r("personal_id", pid_keys, &[Field::PersonalId]),
        "cmnd" if has(Field::Cmnd) => r("cmnd", cmnd_keys, &[Field::Cmnd]),
        "phone" if has(Field::Phone) => r("phone", phone_keys, &[Field::Phone]),
        "id_fragments" if has(Field::PersonalId) => {
            r("id_fragments", id_fragment_keys, &[Field::PersonalId, Field::GivenName])
        }
        "name_ends+year" if has(Field::BirthDate) => {
            r("name_ends+year", name_ends_year_keys, &[Field::FamilyName, Field::GivenName, Field::BirthDate])
        }
        "given+birth_date" if has(Field::BirthDate) => {
            r("given+birth_date", given_date_keys, &[Field::FamilyName, Field::GivenName, Field::BirthDate])
                .map(|rule| Rule { max_block: Some(DENSE_MAX_BLOCK), ..rule })
        }
        "sound_names+month_day" if has(Field::BirthDate) => r(
            "sound_names+month_day",
            sound_names_month_day_keys,
            &[Field::FamilyName, Field::GivenName, Field::MiddleName, Field::BirthDate],
        ),
        "name_words+place+decade" if fields.iter().any(|f| PLACES.contains(f)) => r(
            "name_words+place+decade",
            name_set_province_keys,
            &[
                Field::FamilyName,
                Field::GivenName,
                Field::MiddleName,
                Field::Unit,
                Field::Address,
                Field::Place,
                Field::Detail,
            ],
        ),
        "birth_date+commune" if has(Field::BirthDate) && fields.iter().any(|f| PLACES.contains(f)) => r(
            "birth_date+commune",
            date_commune_keys,
            &[Field::BirthDate, Field::Unit, Field::Address, Field::Place, Field::Detail],
        ),
        "given+commune+decade" if fields.iter().any(|f| PLACES.contains(f)) => r(
            "given+commune+decade",
            given_commune_keys,
            &[Field::GivenName, Field::Unit, Field::Address, Field::Place, Field::Detail],
        ),
        "name_ends+commune" if fields.iter().any(|f| PLACES.contains(f)) => r(
            "name_ends+commune",
            name_ends_commune_keys,
            &[Field::FamilyName, Field::GivenName, Field::Unit, Field::Address, Field::Place, Field::Detail],
        ),
        "address_numbers" if has(Field::Address) || has(Field::Detail) => {
            r("address_numbers", address_keys, &[Field::Unit, Field::Address, Field::Place, Field::Detail])
        }
        _ => None,
    }
}

/// The rules that apply to a model's fields, strongest first: `selected` by name (mapping
/// `settings.blocking`), or all of [`RULE_NAMES`] when empty. None needs a shared province:
/// people move, and a moved record without its ID is found by name and date alone.
pub fn rules_for(fields: &[Field], selected: &[String]) -> Vec<Rule> {
    RULE_NAMES
        .iter()
        .filter(|n| selected.is_empty() || selected.iter().any(|s| s == *n))
        .filter_map(|n| rule(n, fields))
        .collect()
}

/// Counts from one blocking run.
#[derive(Debug, Clone, Default)]
pub struct BlockStats {
    /// Per rule: name, pairs compared, oversized blocks.
    pub rules: Vec<(&'static str, u64, u64)>,
    pub pairs: u64,
}

/// How blocks are walked.
#[derive(Debug, Clone, Copy)]
pub struct Walk {
    pub max_block: usize,
    pub window: usize,
    /// Only pairs from different sources (link and reconcile modes).
    pub cross: bool,
    /// Walk only one block in this many (chosen by key hash): a sample for training.
    pub sample_every: u64,
}

/// Visits every candidate pair once (as `(i, j)` record indices, `i < j`), in parallel.
/// `cross` keeps only pairs from different sources (link and reconcile modes). Each
/// thread folds into its own accumulator; accumulators are then reduced.
pub fn visit<A, I, V, R>(
    records: &[Record],
    rules: &[Rule],
    walk: Walk,
    init: I,
    visit: V,
    reduce: R,
) -> (A, BlockStats)
where
    A: Send,
    I: Fn() -> A + Sync + Send,
    V: Fn(&mut A, u32, u32) + Sync + Send,
    R: Fn(A, A) -> A + Sync + Send,
{
    let Walk { max_block, window, cross, sample_every } = walk;
    let mut oversized: Vec<FastSet<u64>> = Vec::new();
    let mut stats = BlockStats::default();
    let mut total: Option<A> = None;
    for (r, rule) in rules.iter().enumerate() {
        let max_block = rule.max_block.map_or(max_block, |m| m.min(max_block));
        let mut entries: Vec<(u64, u32)> = records
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, rec)| {
                // A record without a name is never blocked (it stays a cluster of its own).
                let mut keys = if rec.n_names == 0 { [0, 0] } else { (rule.keys)(rec) };
                // Two equal keys (given name and family name alike, say) would put the record
                // twice in one block and pair it with itself.
                if keys[1] == keys[0] {
                    keys[1] = 0;
                }
                keys.into_iter().filter(|k| *k != 0).map(move |k| (k, i as u32))
            })
            .collect();
        entries.par_sort_unstable();
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for i in 1..=entries.len() {
            if i == entries.len() || entries[i].0 != entries[start].0 {
                if i - start > 1 && (sample_every <= 1 || entries[start].0.is_multiple_of(sample_every)) {
                    groups.push((start, i));
                }
                start = i;
            }
        }
        let big: FastSet<u64> =
            groups.iter().filter(|(s, e)| e - s > max_block).map(|(s, _)| entries[*s].0).collect();
        stats.rules.push((rule.name, 0, big.len() as u64));
        oversized.push(big);
        let earlier = &rules[..=r];
        let over = &oversized;
        // Whether an earlier rule (or an earlier key of this one) already compared the pair,
        // from the keys of the two records under every rule so far (`ka`, `kb`: one entry
        // per rule, computed once per block member rather than once per pair).
        let covered = |ka: &[[u64; 2]], kb: &[[u64; 2]], current: u64| -> bool {
            for (rr, (ka, kb)) in ka.iter().zip(kb).enumerate() {
                for &x in ka {
                    if x == 0 || !kb.contains(&x) || over[rr].contains(&x) {
                        continue;
                    }
                    if rr < r || x < current {
                        return true;
                    }
                }
            }
            false
        };
        let (acc, pairs) = groups
            .par_iter()
            .fold(
                || (init(), 0u64),
                |(mut acc, mut n), &(s, e)| {
                    let k = entries[s].0;
                    let mut members: Vec<u32> = entries[s..e].iter().map(|x| x.1).collect();
                    if members.len() > max_block {
                        members.sort_unstable_by_key(|&i| sort_key(&records[i as usize]));
                    }
                    let width = earlier.len();
                    let keys: Vec<[u64; 2]> = members
                        .iter()
                        .flat_map(|&i| earlier.iter().map(move |rule| (rule.keys)(&records[i as usize])))
                        .collect();
                    let mut each = |x: usize, y: usize| {
                        let (i, j) = (members[x], members[y]);
                        let (a, b) = (&records[i as usize], &records[j as usize]);
                        if cross && a.source == b.source {
                            return;
                        }
                        if covered(&keys[x * width..(x + 1) * width], &keys[y * width..(y + 1) * width], k) {
                            return;
                        }
                        n += 1;
                        visit(&mut acc, i.min(j), i.max(j));
                    };
                    let reach = if members.len() <= max_block { members.len() } else { window + 1 };
                    for x in 0..members.len() {
                        for y in x + 1..(x + reach).min(members.len()) {
                            each(x, y);
                        }
                    }
                    (acc, n)
                },
            )
            .reduce(|| (init(), 0), |a, b| (reduce(a.0, b.0), a.1 + b.1));
        stats.rules[r].1 = pairs;
        stats.pairs += pairs;
        total = Some(match total {
            None => acc,
            Some(t) => reduce(t, acc),
        });
    }
    (total.unwrap_or_else(init), stats)
}

/// Order inside an oversized block: equal names and dates end up next to each other.
fn sort_key(r: &Record) -> (u32, u32, u16, u8, u8, u32) {
    (r.given(), r.family(), r.date.year, r.date.month, r.date.day, r.names[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::Ymd;

    fn rec(names: &[u32], year: u16, pid: u64) -> Record {
        let mut r = Record { n_names: names.len() as u8, pid, ..Default::default() };
        r.names[..names.len()].copy_from_slice(names);
        r.date = Ymd { year, month: 1, day: 2 };
        r
    }

    /// Every candidate pair, with blocks of at most 10 and a window of 3.
    fn pairs_of(records: &[Record], rules: &[Rule]) -> (Vec<(u32, u32)>, BlockStats) {
        visit(
            records,
            rules,
            Walk { max_block: 10, window: 3, cross: false, sample_every: 1 },
            Vec::new,
            |v: &mut Vec<(u32, u32)>, i, j| v.push((i, j)),
            |mut a, b| {
                a.extend(b);
                a
            },
        )
    }

    /// A mover without an ID: same name and full birth date, another province, commune and
    /// house. A rule that needs no place still compares the pair.
    #[test]
    fn a_mover_without_id_is_compared() {
        let fields = [Field::PersonalId, Field::BirthDate, Field::Address];
        let rules = rules_for(&fields, &[]);
        let mut a = rec(&[1, 2, 3], 1987, 0);
        let mut b = rec(&[1, 2, 3], 1987, 0);
        (a.province, a.commune, a.detail_digits) = (1, 101, 12);
        (b.province, b.commune, b.detail_digits) = (79, 26734, 48);
        assert!(rules.iter().any(|r| r.name == "given+birth_date" && r.shared(&a, &b)));
        let (pairs, _) = pairs_of(&[a, b], &rules);
        assert_eq!(pairs, vec![(0, 1)]);
    }

    /// One record of a household carries the commune code, the other only the commune name:
    /// the address rule still puts them in one block.
    #[test]
    fn address_block_by_code_or_by_name() {
        let mut a = rec(&[1, 2], 1990, 0);
        let mut b = rec(&[5, 6], 1960, 0);
        (a.commune, a.province, a.commune_text, a.detail_digits) = (101, 1, 9, 77);
        (b.commune_text, b.detail_digits) = (9, 77);
        assert!(address_keys(&a).iter().any(|k| *k != 0 && address_keys(&b).contains(k)));
    }

    #[test]
    fn each_pair_once_and_big_blocks_windowed() {
        let fields = [Field::PersonalId, Field::BirthDate];
        let rules = rules_for(&fields, &[]);
        // 0 and 1 share ID, name and date: found by three rules, visited once.
        let mut records = vec![rec(&[1, 2, 3], 1990, 5), rec(&[1, 2, 3], 1990, 5), rec(&[7, 8], 1950, 9)];
        // A big block of 50 identical names without IDs.
        records.extend((0..50).map(|_| rec(&[4, 5], 1980, 0)));
        let (pairs, stats) = pairs_of(&records, &rules);
        let mut sorted = pairs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert!(pairs.contains(&(0, 1)));
        assert_eq!(pairs.iter().filter(|p| **p == (0, 1)).count(), 1);
        assert!(!pairs.iter().any(|&(i, j)| i == 2 || j == 2));
        // Window of 3 in a block of 50, in each of the rules that block them together.
        assert!(stats.pairs < 3 * 50 * 3 + 1, "{stats:?}");
        assert!(stats.rules.iter().any(|r| r.2 > 0));
    }

    /// A rule whose two keys of a record are equal puts the record in one block once: it is
    /// never compared with itself.
    #[test]
    fn a_record_is_never_its_own_pair() {
        let twice = Rule { name: "twice", keys: |_| [7, 7], involves: &[], max_block: None };
        let (pairs, _) = pairs_of(&[rec(&[3, 3], 1990, 0), rec(&[4, 5], 1980, 0)], &[twice]);
        assert_eq!(pairs, vec![(0, 1)]);
    }
}
