//! Comparators: each field of a pair gets a graded level (0 = strongest agreement) or
//! `NULL` when one side is empty. Levels, not similarity scores, because Fellegi–Sunter
//! learns one m/u probability per level, and because an officer can read "swapped day and
//! month" where a number would mean nothing.

use crate::record::{Record, Sym};

/// The level of a comparison where one side has no value: it adds no evidence.
pub const NULL: u8 = 15;

/// A field compared between two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    FamilyName,
    GivenName,
    MiddleName,
    BirthDate,
    PersonalId,
    Cmnd,
    Unit,
    /// Unit and address detail together: a shared house number in the same commune is one
    /// piece of evidence, not two (counting both would weigh every household member's
    /// address twice).
    Address,
    Place,
    Detail,
    Postcode,
    Phone,
    Category(u8),
}

impl Field {
    /// Names of the levels, strongest first.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::FamilyName => &["exact", "similar", "different"],
            Field::GivenName => &["exact", "very_similar", "similar", "one_edit", "different"],
            Field::MiddleName => &["exact", "missing_or_extra_word", "similar", "different"],
            Field::BirthDate => &[
                "exact",
                "day_month_swapped",
                "partial_date_agrees",
                "one_part_differs",
                "same_year",
                "different",
            ],
            Field::PersonalId => &["exact", "one_digit_off", "different"],
            Field::Cmnd | Field::Postcode | Field::Phone | Field::Category(_) => &["exact", "different"],
            Field::Unit => &["same_commune", "same_province", "different"],
            Field::Address => &[
                "same_commune_and_detail",
                "same_commune_and_numbers",
                "same_commune",
                "same_commune_other_house",
                "same_province",
                "different",
                // Appended, so that the levels above keep their numbers.
                "same_province_and_detail",
                "same_province_and_numbers",
            ],
            Field::Place => &["same_commune", "same_province", "different"],
            Field::Detail => &["exact", "same_numbers_and_words", "same_numbers", "most_words", "different"],
        }
    }

    /// A name for reports (`given_name`, `birth_date`, `sex`…).
    pub fn name(self, categories: &[(String, String)]) -> String {
        match self {
            Field::FamilyName => "family_name".into(),
            Field::GivenName => "given_name".into(),
            Field::MiddleName => "middle_name".into(),
            Field::BirthDate => "birth_date".into(),
            Field::PersonalId => "personal_id".into(),
            Field::Cmnd => "cmnd".into(),
            Field::Unit => "unit".into(),
            Field::Address => "address".into(),
            Field::Place => "place".into(),
            Field::Detail => "address_detail".into(),
            Field::Postcode => "postcode".into(),
            Field::Phone => "phone".into(),
            Field::Category(i) => categories.get(i as usize).map(|c| c.0.clone()).unwrap_or_default(),
        }
    }
}

/// Most fields a model may have (levels are packed 4 bits each into a `u64` pattern).
pub const MAX_FIELDS: usize = 16;

/// The comparison of one pair: a level per field, and the name symbols and the full birth
/// date that were found equal (for term-frequency adjustment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Comparison {
    pub levels: [u8; MAX_FIELDS],
    pub family_sym: Sym,
    pub given_sym: Sym,
    /// [`date_key`] of the birth date both records give in full, else 0.
    pub date: u32,
    /// [`middle_key`] of the middle name both records give alike, else 0.
    pub middle: u64,
    /// [`full_name_key`] when the whole name agrees (family, given and middle name exact,
    /// or neither record has a middle name), else 0.
    pub full: u64,
    /// With `full`: how many people the two records were counted as in the full-name
    /// frequencies (0 without a full date on either side; 2 when both give full dates that
    /// differ and no shared valid personal ID joins them; else 1).
    pub full_own: u8,
}

/// How many people two records of one full name were counted as (see
/// [`Comparison::full_own`]).
fn own_people(a: &Record, b: &Record) -> u8 {
    let (x, y) = (date_key(a.date), date_key(b.date));
    let valid = |r: &Record| r.id_check == Some(crate::record::IdCheck::Valid);
    match (x != 0, y != 0) {
        (false, false) => 0,
        (true, true) if x != y && !(valid(a) && valid(b) && a.pid == b.pid) => 2,
        _ => 1,
    }
}

/// A full name as one number, whatever the order its words were written in (0 for none):
/// FNV-1a over the sorted word symbols.
pub fn full_name_key(words: &[Sym]) -> u64 {
    if words.len() < 2 {
        return 0;
    }
    let mut w = [0 as Sym; 8];
    let n = words.len().min(w.len());
    w[..n].copy_from_slice(&words[..n]);
    w[..n].sort_unstable();
    middle_key(&w[..n])
}

/// The middle words of a name as one number (0 for none): FNV-1a over the word symbols,
/// which are numbered in sorted order (`Dataset`), so the key is the same on every run.
pub fn middle_key(words: &[Sym]) -> u64 {
    if words.is_empty() {
        return 0;
    }
    let h =
        words.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &w| (h ^ w as u64).wrapping_mul(0x0100_0000_01b3));
    h.max(1)
}

/// A full date as one number (0 for a partial or missing date).
pub fn date_key(d: crate::normalise::Ymd) -> u32 {
    if d.is_full() {
        (d.year as u32) << 9 | (d.month as u32) << 5 | d.day as u32
    } else {
        0
    }
}

impl Comparison {
    /// The levels packed 4 bits per field: the key EM counts patterns by.
    pub fn pattern(&self, n: usize) -> u64 {
        self.levels[..n].iter().enumerate().fold(0u64, |p, (i, &l)| p | ((l as u64) << (4 * i)))
    }
}

pub fn unpack(pattern: u64, i: usize) -> u8 {
    ((pattern >> (4 * i)) & 0xF) as u8
}

/// Compares records on the fields of a model. Holds the interned strings for the
/// string-similarity levels.
#[derive(Debug)]
pub struct Comparator<'a> {
    pub fields: Vec<Field>,
    pub strings: &'a [Box<str>],
}

impl Comparator<'_> {
    pub fn compare(&self, a: &Record, b: &Record) -> Comparison {
        let mut c = Comparison { levels: [NULL; MAX_FIELDS], ..Default::default() };
        let names = align_names(a.name_tokens(), b.name_tokens());
        let mut whole_name = [false; 3];
        for (i, f) in self.fields.iter().enumerate() {
            c.levels[i] = match *f {
                Field::FamilyName => {
                    let l = self.token_level(names.family, &[0.88]);
                    if l == 0 {
                        c.family_sym = names.family.0;
                        whole_name[0] = true;
                    }
                    l
                }
                Field::GivenName => {
                    let mut l = self.token_level(names.given, &[0.92, 0.80]);
                    // Jaro–Winkler is harsh on short words: `My`/`Mt`, `Lâm`/`Kâm`, `Nam`/`Nsm`
                    // are one keystroke apart yet "different". A level of their own keeps
                    // a typo from teaching that different given names are common among
                    // matches (which would let twins through).
                    let (x, y) = names.given;
                    if l == 3
                        && !one_edit(self.strings[x as usize].as_bytes(), self.strings[y as usize].as_bytes())
                    {
                        l = 4;
                    }
                    if l == 0 {
                        c.given_sym = names.given.0;
                        whole_name[1] = true;
                    }
                    l
                }
                Field::MiddleName => {
                    let l = self.middle_level(names.middle_a, names.middle_b);
                    if l == 0 {
                        c.middle = middle_key(names.middle_a);
                    }
                    whole_name[2] = l == 0 || l == NULL;
                    l
                }
                Field::BirthDate => {
                    let l = date_level(a, b);
                    if l == 0 {
                        c.date = date_key(a.date);
                    }
                    l
                }
                Field::PersonalId => id_level(a.pid, b.pid),
                Field::Cmnd => exact(a.cmnd as u64, b.cmnd as u64),
                Field::Unit => location_level(a, b),
                Field::Address => match location_level(a, b) {
                    0 if a.detail != 0 && a.detail == b.detail => 0,
                    0 if a.detail_digits != 0 && a.detail_digits == b.detail_digits => 1,
                    // Both give a house and the houses differ: evidence against (a namesake
                    // of the same commune), unlike a house missing on one side.
                    0 if a.detail_digits != 0 && b.detail_digits != 0 => 3,
                    0 => 2,
                    NULL => NULL,
                    // The same house in the same province whose commune is missing on one
                    // side, or written with a typo: how much that proves is the data's to
                    // say (m and u per level), not a house in another commune's to deny.
                    1 if a.detail != 0 && a.detail == b.detail => 6,
                    1 if a.detail_digits != 0 && a.detail_digits == b.detail_digits => 7,
                    l => l + 3,
                },
                Field::Place => location_level(a, b),
                Field::Detail => {
                    if a.detail == 0 || b.detail == 0 {
                        NULL
                    } else if a.detail == b.detail {
                        0
                    } else {
                        let words = token_overlap(a.detail_tokens, b.detail_tokens) >= 0.75;
                        match (a.detail_digits != 0 && a.detail_digits == b.detail_digits, words) {
                            (true, true) => 1,
                            (true, false) => 2,
                            (false, true) => 3,
                            (false, false) => 4,
                        }
                    }
                }
                Field::Postcode => exact(a.postcode as u64, b.postcode as u64),
                Field::Phone => exact(a.phone, b.phone),
                Field::Category(k) => exact(a.cats[k as usize] as u64, b.cats[k as usize] as u64),
            };
        }
        if whole_name == [true; 3] {
            c.full = full_name_key(a.name_tokens());
            c.full_own = own_people(a, b);
        }
        c
    }

    fn token_level(&self, (x, y): (Sym, Sym), thresholds: &[f64]) -> u8 {
        if x == 0 || y == 0 {
            return NULL;
        }
        if x == y {
            return 0;
        }
        let sim = jaro_winkler(self.strings[x as usize].as_bytes(), self.strings[y as usize].as_bytes());
        thresholds.iter().position(|t| sim >= *t).map(|p| p as u8 + 1).unwrap_or(thresholds.len() as u8 + 1)
    }

    fn middle_level(&self, a: &[Sym], b: &[Sym]) -> u8 {
        if a.is_empty() && b.is_empty() {
            return NULL;
        }
        if a == b {
            return 0;
        }
        let subset = |x: &[Sym], y: &[Sym]| x.iter().all(|t| y.contains(t));
        if a.is_empty() || b.is_empty() || subset(a, b) || subset(b, a) {
            return 1;
        }
        // The words joined in a stack buffer: no allocation per pair.
        let join = |x: &[Sym], buf: &mut [u8; 64]| -> usize {
            let mut n = 0;
            for (k, s) in x.iter().enumerate() {
                let w = self.strings[*s as usize].as_bytes();
                if n + w.len() + 1 > buf.len() {
                    break;
                }
                if k > 0 {
                    buf[n] = b' ';
                    n += 1;
                }
                buf[n..n + w.len()].copy_from_slice(w);
                n += w.len();
            }
            n
        };
        let (mut ba, mut bb) = ([0u8; 64], [0u8; 64]);
        let (na, nb) = (join(a, &mut ba), join(b, &mut bb));
        // One keystroke apart counts as similar, as for the given name: in a short word
        // (`Đc` for `Đức`) a dropped letter leaves Jaro–Winkler far below the bar.
        let (x, y) = (&ba[..na], &bb[..nb]);
        if jaro_winkler(x, y) >= 0.88 || one_edit(x, y) {
            2
        } else {
            3
        }
    }
}

/// Whether two words are one edit apart: one letter changed, inserted, dropped, or two
/// adjacent letters swapped (equal words are not).
pub fn one_edit(a: &[u8], b: &[u8]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// Share of the smaller word set found in the other (0 when either is empty): an address
/// with the commune appended still contains the shorter one.
pub fn token_overlap(a: u64, b: u64) -> f64 {
    let (na, nb) = (a.count_ones(), b.count_ones());
    if na == 0 || nb == 0 {
        return 0.0;
    }
    (a & b).count_ones() as f64 / na.min(nb) as f64
}

fn exact(a: u64, b: u64) -> u8 {
    match (a, b) {
        (0, _) | (_, 0) => NULL,
        (a, b) if a == b => 0,
        _ => 1,
    }
}

/// Names aligned between two records: which token of each plays family and given name, and
/// the middle words. Vietnamese names are written family-first, but lists from other
/// agencies (and foreign-style forms) put the given name first or swap the two columns; the
/// orientation of `b` that agrees best with `a` is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aligned<'r> {
    pub family: (Sym, Sym),
    pub given: (Sym, Sym),
    pub middle_a: &'r [Sym],
    pub middle_b: &'r [Sym],
}

pub fn align_names<'r>(a: &'r [Sym], b: &'r [Sym]) -> Aligned<'r> {
    let split = |t: &'r [Sym]| -> (Sym, Sym, &'r [Sym]) {
        match t.len() {
            0 => (0, 0, &[]),
            1 => (0, t[0], &[]),
            n => (t[0], t[n - 1], &t[1..n - 1]),
        }
    };
    let (fa, ga, ma) = split(a);
    let (fb, gb, mb) = split(b);
    let n = b.len();
    // Orientations of b: as written; family and given swapped; given written first
    // (b = given family middle…); a written given-first relative to b.
    let mut options: [(Sym, Sym, &'r [Sym]); 4] = [(fb, gb, mb), (gb, fb, mb), (fb, gb, mb), (fb, gb, mb)];
    let count = if n >= 3 {
        options[2] = (b[1], b[0], &b[2..]);
        options[3] = (b[n - 1], b[n - 2], &b[..n - 2]);
        4
    } else {
        2
    };
    let score = |&(f, g, m): &(Sym, Sym, &[Sym])| {
        let eq = |x: Sym, y: Sym| (x != 0 && x == y) as u32;
        4 * eq(fa, f) + 4 * eq(ga, g) + m.iter().filter(|t| ma.contains(t)).count() as u32
    };
    let mut best = options[0];
    let mut best_score = score(&best);
    for o in &options[1..count] {
        let s = score(o);
        if s > best_score {
            best = *o;
            best_score = s;
        }
    }
    Aligned { family: (fa, best.0), given: (ga, best.1), middle_a: ma, middle_b: best.2 }
}

fn date_level(a: &Record, b: &Record) -> u8 {
    let (x, y) = (a.date, b.date);
    if !x.is_some() || !y.is_some() {
        // A record without a date whose valid personal ID encodes a birth year other than
        // the year the other record gives is not that person (same-name siblings, a
        // namesake): a different date. A year that agrees is what a year-only date that
        // agrees would say, when the other record has no ID giving a year of its own;
        // when it has one, the ID comparison already weighs it (the years are part of the
        // two IDs) and the date stays missing.
        let (undated, dated, date) = if x.is_some() { (b, a, x) } else { (a, b, y) };
        if undated.id_year == 0 || !date.is_some() {
            return NULL;
        }
        return if undated.id_year != date.year {
            5
        } else if dated.id_year == 0 {
            2
        } else {
            NULL
        };
    }
    if x.is_full() && y.is_full() {
        if x == y {
            return 0;
        }
        if x.year == y.year && x.day == y.month && x.month == y.day {
            return 1;
        }
    } else if x.year == y.year && (x.month == 0 || y.month == 0 || x.month == y.month) {
        return 2;
    }
    // 1 January stands for "only the year is known" in many lists: a partial date.
    let jan1 = |d: crate::normalise::Ymd| d.month == 1 && d.day == 1;
    if x.year == y.year && (jan1(x) || jan1(y)) && x != y {
        return 2;
    }
    let same_dm = x.month == y.month && x.day == y.day;
    if (x.year == y.year && (x.month == y.month || (x.day == y.day && x.day != 0)))
        || (same_dm
            && (x.year.abs_diff(y.year) <= 1
                || digit_transposed(x.year as u64, y.year as u64, 4)
                || one_digit_off(x.year as u64, y.year as u64, 4)))
    {
        return 3;
    }
    // The same year with another day and month (a date defaulted to 1 January, or the
    // wrong day typed) is far weaker evidence against a match than a different date.
    if x.year == y.year {
        return 4;
    }
    5
}

/// Identifier levels: equal; one digit wrong or two adjacent digits swapped; different.
pub fn id_level(a: u64, b: u64) -> u8 {
    if a == 0 || b == 0 {
        return NULL;
    }
    if a == b {
        return 0;
    }
    if one_digit_off(a, b, 12) || digit_transposed(a, b, 12) {
        1
    } else {
        2
    }
}

/// Positions (from the right) where the decimal digits of `a` and `b` differ, stopping
/// after three; with the digits at the first two.
fn digit_diffs(mut a: u64, mut b: u64, len: usize) -> (usize, [(usize, u8, u8); 2]) {
    let mut n = 0;
    let mut at = [(0usize, 0u8, 0u8); 2];
    for pos in 0..len {
        let (x, y) = ((a % 10) as u8, (b % 10) as u8);
        if x != y {
            if n < 2 {
                at[n] = (pos, x, y);
            }
            n += 1;
            if n > 2 {
                break;
            }
        }
        a /= 10;
        b /= 10;
    }
    (n, at)
}

fn one_digit_off(a: u64, b: u64, len: usize) -> bool {
    digit_diffs(a, b, len).0 == 1
}

/// Two adjacent digits swapped.
fn digit_transposed(a: u64, b: u64, len: usize) -> bool {
    let (n, [(p, x0, y0), (q, x1, y1)]) = digit_diffs(a, b, len);
    n == 2 && q == p + 1 && x0 == y1 && x1 == y0
}

fn unit_level(a: &Record, b: &Record) -> u8 {
    if a.commune == 0 || b.commune == 0 {
        return NULL;
    }
    let cands = |r: &Record| -> &'static [u32] { crate::normalise::split_candidates(r.split) };
    let in_split = |r: &Record, c: u32| r.split != 0 && cands(r).contains(&c);
    if a.commune == b.commune || in_split(a, b.commune) || in_split(b, a.commune) {
        0
    } else if a.province == b.province {
        1
    } else {
        2
    }
}

/// Same commune / same province / different, from the unit codes when both records have
/// one, else from the place names: one piece of evidence about where a person lives,
/// whichever way the list wrote it (counting codes and names both would count it twice).
fn location_level(a: &Record, b: &Record) -> u8 {
    match unit_level(a, b) {
        NULL => place_level(a, b),
        l => l,
    }
}

/// Same commune / same province / different from the names as written, the provinces by
/// their 2025 code when both are known (a pre-2025 province name and the name of the 2025
/// province it went into are one province).
fn place_level(a: &Record, b: &Record) -> u8 {
    let prov = if a.province != 0 && b.province != 0 {
        (a.province != b.province) as u8
    } else {
        exact(a.province_text as u64, b.province_text as u64)
    };
    let comm = exact(a.commune_text as u64, b.commune_text as u64);
    match (comm, prov) {
        // The same commune name in two provinces is two places.
        (0, 0 | NULL) => 0,
        (_, 0) => 1,
        (NULL, NULL) => NULL,
        _ => 2,
    }
}

/// Jaro–Winkler similarity on bytes (folded names are ASCII), without allocating.
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    if a == b {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() || a.len() > 64 || b.len() > 64 {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_match = [false; 64];
    let mut b_match = [false; 64];
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_match[j] && b[j] == ca {
                a_match[i] = true;
                b_match[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if a_match[i] {
            while !b_match[k] {
                k += 1;
            }
            if ca != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64 / 2.0) / m) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_edit_is_a_keystroke() {
        use super::one_edit;
        for (a, b) in
            [("my", "mt"), ("lam", "kam"), ("nam", "nsm"), ("mai", "mi"), ("an", "anh"), ("hoa", "hao")]
        {
            assert!(one_edit(a.as_bytes(), b.as_bytes()), "{a} {b}");
            assert!(one_edit(b.as_bytes(), a.as_bytes()), "{b} {a}");
        }
        for (a, b) in [("lan", "lan"), ("long", "lan"), ("hung", "dung a"), ("tu", "thuy"), ("", "ab")] {
            assert!(!one_edit(a.as_bytes(), b.as_bytes()), "{a} {b}");
        }
    }

    use super::*;
    use crate::normalise::Ymd;

    #[test]
    fn middle_names_one_keystroke_apart_are_similar() {
        let strings: Vec<Box<str>> = ["duc", "dc", "thi", "yhi", "van", "ngoc"].map(Box::from).to_vec();
        let c = Comparator { fields: vec![Field::MiddleName], strings: &strings };
        assert_eq!(c.middle_level(&[0], &[0]), 0);
        assert_eq!(c.middle_level(&[0], &[1]), 2, "a dropped letter");
        assert_eq!(c.middle_level(&[2], &[3]), 2, "a neighbouring key");
        assert_eq!(c.middle_level(&[2], &[4]), 3);
        assert_eq!(c.middle_level(&[4], &[5]), 3);
    }

    #[test]
    fn jaro_winkler_known_values() {
        assert!((jaro_winkler(b"martha", b"marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler(b"dwayne", b"duane") - 0.84).abs() < 1e-2);
        assert_eq!(jaro_winkler(b"abc", b"xyz"), 0.0);
        assert_eq!(jaro_winkler(b"nguyen", b"nguyen"), 1.0);
    }

    #[test]
    fn names_align_across_orders() {
        // Nguyễn Thị Ngọc Ánh = [1, 2, 3, 4]
        let a = [1, 2, 3, 4];
        let al = align_names(&a, &[4, 1, 2, 3]); // given first
        assert_eq!((al.family, al.given), ((1, 1), (4, 4)));
        let al = align_names(&a, &[4, 2, 3, 1]); // family and given swapped
        assert_eq!((al.family, al.given), ((1, 1), (4, 4)));
        let al = align_names(&a, &[1, 3, 4]); // a middle word missing
        assert_eq!((al.family, al.given, al.middle_b), ((1, 1), (4, 4), &[3][..]));
        let al = align_names(&[1, 2, 3, 4], &[2, 3, 4, 1]); // a given-first relative to b
        assert_eq!((al.family.1, al.given.1), (1, 4));
    }

    fn rec(y: u16, m: u8, d: u8) -> Record {
        Record { date: Ymd { year: y, month: m, day: d }, ..Default::default() }
    }

    /// A missing date against a date: the birth year of a valid personal ID is a year-only
    /// date, which disagrees or agrees with the other record's year.
    #[test]
    fn an_id_year_weighs_as_a_year_only_date() {
        let with_id =
            |pid: u64| Record { pid, id_year: crate::normalise::id_birth_year(pid), ..Default::default() };
        // 0 3 8 | 0 (man, 1900s) | 85 | serial: born 1985.
        let a = with_id(38_085_757_419);
        assert_eq!(a.id_year, 1985);
        assert_eq!(crate::normalise::id_birth_year(82_323_132_420), 2023);
        assert_eq!(date_level(&a, &rec(2023, 11, 13)), 5);
        assert_eq!(date_level(&rec(2023, 11, 13), &a), 5);
        assert_eq!(date_level(&a, &rec(2023, 0, 0)), 5);
        // A year that agrees says what a year-only date would, unless the other record's
        // own ID gives a year (the ID comparison weighs that).
        assert_eq!(date_level(&a, &rec(1985, 11, 13)), 2);
        assert_eq!(date_level(&rec(1985, 11, 13), &a), 2);
        let dated_with_id = Record { id_year: 1985, ..rec(1985, 11, 13) };
        assert_eq!(date_level(&a, &dated_with_id), NULL);
        assert_eq!(date_level(&a, &Record::default()), NULL);
        assert_eq!(date_level(&Record::default(), &rec(2023, 11, 13)), NULL);
        // A leading zero lost in a spreadsheet: the same digits, the same year.
        assert_eq!(crate::normalise::id_birth_year_if_readable(79_185_088_039, "id.length"), 1985);
        assert_eq!(crate::normalise::id_birth_year_if_readable(79_185_088_039, "id.province"), 0);
    }

    #[test]
    fn date_levels() {
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1990, 5, 4)), 0);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1990, 4, 5)), 1);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1990, 0, 0)), 2);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1990, 5, 0)), 2);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1990, 5, 9)), 3);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1991, 5, 4)), 3);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1909, 5, 4)), 3);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1980, 5, 4)), 3); // one year digit
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1990, 1, 1)), 2); // defaulted to 1 January
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1990, 8, 19)), 4);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1975, 8, 19)), 5);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(1991, 0, 0)), 5);
        assert_eq!(date_level(&rec(1990, 5, 4), &rec(0, 0, 0)), NULL);
    }

    #[test]
    fn id_levels() {
        assert_eq!(id_level(1_090_012_345, 1_090_012_345), 0);
        assert_eq!(id_level(1_090_012_345, 1_090_012_346), 1);
        assert_eq!(id_level(1_090_012_345, 1_090_012_354), 1);
        assert_eq!(id_level(1_090_012_345, 1_090_099_999), 2);
        assert_eq!(id_level(0, 1_090_099_999), NULL);
    }
}
