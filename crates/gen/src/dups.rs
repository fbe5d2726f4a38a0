//! Extra records of the same people with the errors real lists have (`--duplicates`): every
//! row gains a `record_id` and a `phone`; for a share of people one or two more records
//! follow a little later in the stream, each with one to four errors; the truth file maps
//! every record to the record of its person.
//!
//! The duplicates draw from their own random generator, so the original rows are the same
//! people as without `--duplicates`. Pending duplicates wait in a small heap until their
//! turn (at most [`MAX_DELAY`] original rows), so memory stays flat in the number of people.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::OnceLock;

use dancu_domain::citizen::CSV_COLUMNS;
use dancu_domain::units::{admin_units, Conversion};
use dancu_domain::Sex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::geo::World;
use crate::households::Member;
use crate::numfmt::{push_field, push_padded};
use crate::typos::{drop_marks, nfd, telex_word, typo, Mojibake};
use crate::weighted::Weighted;

/// A duplicate is written between 1 and this many original rows after its original.
pub(crate) const MAX_DELAY: u64 = 2000;

/// Digits of the number in a record id (`R000000001`).
const RID_DIGITS: usize = 9;

/// The kinds of error a duplicate record carries, in the order they are applied (text-wide
/// changes such as NFD or a legacy encoding come last, over the other changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// Family and given name swapped (given name written first).
    GivenFirst,
    /// The middle name, or one of two middle words, left out.
    MissingMiddle,
    /// A middle word added (`Văn`, `Thị`, …).
    ExtraMiddle,
    /// A name word typed in Telex with the input method off (`Ddinh`, `Nguyeenx`).
    Telex,
    /// A keyboard slip in a name word: neighbouring key, swapped, doubled or missing letter.
    Typo,
    /// Day and month of the birth date swapped (only where the result is a valid date).
    SwapDayMonth,
    /// Only the year of birth.
    YearOnly,
    /// One digit of the personal ID changed.
    IdWrongDigit,
    /// No personal ID.
    IdMissing,
    /// The old 9-digit CMND number in the personal ID column.
    IdCmnd,
    /// The permanent address as a legacy (pre-July-2025) commune that maps to the same 2025
    /// commune (`legacy:NNNNN`).
    LegacyAddress,
    /// Another phone number, or none.
    PhoneChanged,
    /// All text without tone and vowel marks, `đ` → `d`.
    DropMarks,
    /// All text in NFD.
    Nfd,
    /// All text written in TCVN3, VNI or VISCII and read back as Windows-1252 or Latin-1.
    LegacyEncoding,
}

impl ErrorKind {
    pub const COUNT: usize = 15;
    pub const ALL: [ErrorKind; Self::COUNT] = [
        ErrorKind::GivenFirst,
        ErrorKind::MissingMiddle,
        ErrorKind::ExtraMiddle,
        ErrorKind::Telex,
        ErrorKind::Typo,
        ErrorKind::SwapDayMonth,
        ErrorKind::YearOnly,
        ErrorKind::IdWrongDigit,
        ErrorKind::IdMissing,
        ErrorKind::IdCmnd,
        ErrorKind::LegacyAddress,
        ErrorKind::PhoneChanged,
        ErrorKind::DropMarks,
        ErrorKind::Nfd,
        ErrorKind::LegacyEncoding,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::GivenFirst => "given_first",
            ErrorKind::MissingMiddle => "missing_middle",
            ErrorKind::ExtraMiddle => "extra_middle",
            ErrorKind::Telex => "telex",
            ErrorKind::Typo => "typo",
            ErrorKind::SwapDayMonth => "swap_day_month",
            ErrorKind::YearOnly => "year_only",
            ErrorKind::IdWrongDigit => "id_wrong_digit",
            ErrorKind::IdMissing => "id_missing",
            ErrorKind::IdCmnd => "id_cmnd",
            ErrorKind::LegacyAddress => "legacy_address",
            ErrorKind::PhoneChanged => "phone_changed",
            ErrorKind::DropMarks => "drop_marks",
            ErrorKind::Nfd => "nfd",
            ErrorKind::LegacyEncoding => "legacy_encoding",
        }
    }

    /// How often the kind is chosen (relative).
    fn weight(self) -> f64 {
        match self {
            ErrorKind::GivenFirst => 4.0,
            ErrorKind::MissingMiddle => 8.0,
            ErrorKind::ExtraMiddle => 3.0,
            ErrorKind::Telex => 5.0,
            ErrorKind::Typo => 12.0,
            ErrorKind::SwapDayMonth => 6.0,
            ErrorKind::YearOnly => 4.0,
            ErrorKind::IdWrongDigit => 6.0,
            ErrorKind::IdMissing => 6.0,
            ErrorKind::IdCmnd => 3.0,
            ErrorKind::LegacyAddress => 8.0,
            ErrorKind::PhoneChanged => 8.0,
            ErrorKind::DropMarks => 12.0,
            ErrorKind::Nfd => 5.0,
            ErrorKind::LegacyEncoding => 5.0,
        }
    }

    /// Kinds of the same group exclude each other in one record.
    fn group(self) -> u8 {
        match self {
            ErrorKind::MissingMiddle | ErrorKind::ExtraMiddle => 1,
            ErrorKind::SwapDayMonth | ErrorKind::YearOnly => 2,
            ErrorKind::IdWrongDigit | ErrorKind::IdMissing | ErrorKind::IdCmnd => 3,
            ErrorKind::DropMarks | ErrorKind::Nfd | ErrorKind::LegacyEncoding => 4,
            k => 10 + k as u8,
        }
    }
}

/// Positions of the columns the errors touch.
struct Cols {
    id: usize,
    family: usize,
    middle: usize,
    given: usize,
    birth: usize,
    permanent: usize,
    cmnd: usize,
    /// Free-text columns: names and address details.
    text: Vec<usize>,
}

impl Cols {
    fn new() -> Self {
        let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).expect("known column");
        Cols {
            id: col("personal_id"),
            family: col("family_name"),
            middle: col("middle_name"),
            given: col("given_name"),
            birth: col("birth_date"),
            permanent: col("permanent_unit"),
            cmnd: col("cmnd"),
            text: [
                "family_name",
                "middle_name",
                "given_name",
                "other_names",
                "permanent_detail",
                "temporary_detail",
                "current_detail",
                "father_name",
                "mother_name",
            ]
            .iter()
            .map(|c| col(c))
            .collect(),
        }
    }
}

/// For each 2025 commune (index into `World::communes`), the legacy communes that went
/// wholly into it (`AdminUnits::legacy_communes_mapping_to`, indexed once).
struct SoleLegacy {
    ranges: Vec<(u32, u32)>,
    codes: Vec<[u8; 5]>,
}

impl SoleLegacy {
    fn get() -> &'static SoleLegacy {
        static S: OnceLock<SoleLegacy> = OnceLock::new();
        S.get_or_init(|| {
            let world = World::get();
            let units = admin_units();
            let index: HashMap<[u8; 5], usize> =
                world.communes.iter().enumerate().map(|(i, c)| (c.code, i)).collect();
            let mut into: Vec<Vec<[u8; 5]>> = vec![Vec::new(); world.communes.len()];
            for l in &world.legacy {
                let code = std::str::from_utf8(&l.code).unwrap();
                if let Conversion::One(u) = units.convert_legacy(code) {
                    if let Some(&ci) = index.get(u.code().as_bytes()) {
                        into[ci].push(l.code);
                    }
                }
            }
            let mut ranges = Vec::with_capacity(into.len());
            let mut codes = Vec::new();
            for v in into {
                let from = codes.len() as u32;
                codes.extend(v);
                ranges.push((from, codes.len() as u32));
            }
            SoleLegacy { ranges, codes }
        })
    }

    fn of(&self, ci: u32) -> &[[u8; 5]] {
        let (a, b) = self.ranges[ci as usize];
        &self.codes[a as usize..b as usize]
    }
}

/// Mobile prefixes after the 2018 renumbering, weighted roughly by network share
/// (Viettel, VinaPhone, MobiFone, Vietnamobile, Gmobile).
const PHONE_PREFIXES: &[(&str, f64)] = &[
    ("032", 4.0),
    ("033", 4.0),
    ("034", 4.0),
    ("035", 4.0),
    ("036", 4.0),
    ("037", 4.0),
    ("038", 4.0),
    ("039", 4.0),
    ("086", 4.0),
    ("096", 5.0),
    ("097", 5.0),
    ("098", 5.0),
    ("081", 2.5),
    ("082", 2.5),
    ("083", 2.5),
    ("084", 2.5),
    ("085", 2.5),
    ("088", 3.0),
    ("091", 5.0),
    ("094", 4.0),
    ("070", 3.0),
    ("076", 2.0),
    ("077", 2.5),
    ("078", 2.0),
    ("079", 2.5),
    ("089", 2.0),
    ("090", 5.0),
    ("093", 4.0),
    ("052", 0.8),
    ("056", 1.0),
    ("058", 1.0),
    ("092", 1.5),
    ("059", 0.5),
    ("099", 0.5),
];

type Phone = Option<[u8; 10]>;

/// A duplicate waiting for its turn.
struct Pending {
    due: u64,
    seq: u64,
    /// The 28 citizen columns, CSV-encoded, without a line end.
    body: Vec<u8>,
    phone: Phone,
    /// Record id number of the person's original record.
    person: u64,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(o.due, o.seq))
    }
}

/// What the errors of one record may need to know about the person.
struct Person {
    sex: Sex,
    ci: u32,
}

pub(crate) struct Duplicator {
    rng: ChaCha8Rng,
    /// Probability that a person has extra records.
    p_dup: f64,
    cols: Cols,
    sole: &'static SoleLegacy,
    kinds: Weighted<ErrorKind>,
    prefixes: Weighted<&'static str>,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    originals: u64,
    next_rid: u64,
    /// Truth rows not yet written.
    pub(crate) truth: Vec<u8>,
    pub(crate) duplicates: u64,
    pub(crate) errors: [u64; ErrorKind::COUNT],
}

/// Share of people with extra records who have two of them.
const P_TWO: f64 = 0.2;

impl Duplicator {
    /// `rate`: extra records per person (0–1).
    pub(crate) fn new(seed: u64, rate: f64) -> Self {
        Duplicator {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xD0B1_1CA7_E5D0_B1E5),
            p_dup: (rate / (1.0 + P_TWO)).clamp(0.0, 1.0),
            cols: Cols::new(),
            sole: SoleLegacy::get(),
            kinds: Weighted::new(ErrorKind::ALL.iter().map(|&k| (k, k.weight()))),
            prefixes: Weighted::new(PHONE_PREFIXES.iter().copied()),
            pending: BinaryHeap::new(),
            seq: 0,
            originals: 0,
            next_rid: 1,
            truth: Vec::with_capacity(64 * 1024),
            duplicates: 0,
            errors: [0; ErrorKind::COUNT],
        }
    }

    pub(crate) fn header() -> &'static [u8] {
        b",record_id,phone"
    }

    pub(crate) fn truth_header() -> &'static [u8] {
        b"record_id,person_id\n"
    }

    fn random_phone(&mut self) -> [u8; 10] {
        let mut p = [b'0'; 10];
        p[..3].copy_from_slice(self.prefixes.pick(&mut self.rng).as_bytes());
        for d in &mut p[3..] {
            *d = b'0' + self.rng.gen_range(0..10u8);
        }
        p
    }

    /// Ends the row `line[start..]` (written by the generator, with its line end) with its
    /// record id and phone, schedules the person's duplicates and writes those now due.
    pub(crate) fn after_row(&mut self, line: &mut Vec<u8>, start: usize, ci: u32, m: &Member) {
        debug_assert_eq!(line.last(), Some(&b'\n'));
        line.pop();
        let phone = (m.age >= 15 && self.rng.gen_bool(0.85)).then(|| self.random_phone());
        let person = self.next_rid;
        self.finish_record(line, phone, person);
        self.originals += 1;
        if self.rng.gen_bool(self.p_dup) {
            let n = if self.rng.gen_bool(P_TWO) { 2 } else { 1 };
            let body_end = line.len() - (1 + RID_DIGITS + 1 + 1 + phone.map_or(0, |_| 10) + 1);
            let fields = split_row(&line[start..body_end]);
            let who = Person { sex: m.sex, ci };
            for _ in 0..n {
                let mut f = fields.clone();
                let mut phone = phone;
                self.corrupt(&mut f, &mut phone, &who);
                let mut body = Vec::with_capacity(body_end - start + 16);
                for (i, v) in f.iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                    }
                    push_field(&mut body, v.as_bytes());
                }
                let due = self.originals + self.rng.gen_range(1..=MAX_DELAY);
                self.seq += 1;
                self.pending.push(Reverse(Pending { due, seq: self.seq, body, phone, person }));
            }
        }
        while self.pending.peek().is_some_and(|p| p.0.due <= self.originals) {
            let p = self.pending.pop().unwrap().0;
            self.emit(line, p);
        }
    }

    /// Writes every duplicate still waiting (at the end of the file).
    pub(crate) fn finish(&mut self, line: &mut Vec<u8>) {
        while let Some(Reverse(p)) = self.pending.pop() {
            self.emit(line, p);
        }
    }

    fn emit(&mut self, line: &mut Vec<u8>, p: Pending) {
        line.extend_from_slice(&p.body);
        self.finish_record(line, p.phone, p.person);
        self.duplicates += 1;
    }

    /// `,R…,phone\n` and the truth row.
    fn finish_record(&mut self, line: &mut Vec<u8>, phone: Phone, person: u64) {
        let rid = self.next_rid;
        self.next_rid += 1;
        line.extend_from_slice(b",R");
        push_padded(line, rid, RID_DIGITS);
        line.push(b',');
        if let Some(p) = phone {
            line.extend_from_slice(&p);
        }
        line.push(b'\n');
        self.truth.push(b'R');
        push_padded(&mut self.truth, rid, RID_DIGITS);
        self.truth.extend_from_slice(b",R");
        push_padded(&mut self.truth, person, RID_DIGITS);
        self.truth.push(b'\n');
    }

    /// Applies one to four errors, chosen by weight among those that can apply.
    fn corrupt(&mut self, f: &mut [String], phone: &mut Phone, who: &Person) -> Vec<ErrorKind> {
        let r = self.rng.gen::<f64>();
        let want = if r < 0.45 {
            1
        } else if r < 0.8 {
            2
        } else if r < 0.95 {
            3
        } else {
            4
        };
        let mut chosen: Vec<ErrorKind> = Vec::with_capacity(want);
        let mut tries = 0;
        while chosen.len() < want && tries < 30 {
            tries += 1;
            let k = self.kinds.pick(&mut self.rng);
            if chosen.iter().any(|c| c.group() == k.group()) || !self.applicable(k, f, who) {
                continue;
            }
            chosen.push(k);
        }
        chosen.sort_unstable();
        chosen.retain(|&k| self.apply(k, f, phone, who));
        if chosen.is_empty() {
            // Every person has a phone change to fall back on.
            self.apply(ErrorKind::PhoneChanged, f, phone, who);
            chosen.push(ErrorKind::PhoneChanged);
        }
        for &k in &chosen {
            self.errors[k as usize] += 1;
        }
        chosen
    }

    fn applicable(&self, k: ErrorKind, f: &[String], who: &Person) -> bool {
        let c = &self.cols;
        match k {
            ErrorKind::GivenFirst => f[c.family] != f[c.given],
            ErrorKind::MissingMiddle => !f[c.middle].is_empty(),
            ErrorKind::ExtraMiddle => f[c.middle].split(' ').count() < 2,
            ErrorKind::Telex => [c.family, c.middle, c.given].iter().any(|&i| !f[i].is_ascii()),
            ErrorKind::SwapDayMonth => swap_day_month(&f[c.birth]).is_some(),
            ErrorKind::YearOnly => f[c.birth].len() > 4,
            ErrorKind::IdWrongDigit | ErrorKind::IdMissing => !f[c.id].is_empty(),
            ErrorKind::IdCmnd => !f[c.cmnd].is_empty(),
            ErrorKind::LegacyAddress => {
                f[c.permanent].starts_with("2025:") && !self.sole.of(who.ci).is_empty()
            }
            ErrorKind::DropMarks | ErrorKind::Nfd | ErrorKind::LegacyEncoding => {
                c.text.iter().any(|&i| !f[i].is_ascii())
            }
            ErrorKind::Typo | ErrorKind::PhoneChanged => true,
        }
    }

    /// Whether the error changed the record.
    fn apply(&mut self, k: ErrorKind, f: &mut [String], phone: &mut Phone, who: &Person) -> bool {
        let c = &self.cols;
        let rng = &mut self.rng;
        match k {
            ErrorKind::GivenFirst => {
                f.swap(c.family, c.given);
                true
            }
            ErrorKind::MissingMiddle => {
                let words: Vec<&str> = f[c.middle].split(' ').collect();
                f[c.middle] = if words.len() > 1 {
                    let drop = rng.gen_range(0..words.len());
                    let kept: Vec<&str> =
                        words.iter().enumerate().filter(|&(i, _)| i != drop).map(|(_, w)| *w).collect();
                    kept.join(" ")
                } else {
                    String::new()
                };
                true
            }
            ErrorKind::ExtraMiddle => {
                let pool: &[&str] = match who.sex {
                    Sex::Male => &["Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Công"],
                    _ => &["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim"],
                };
                let w = pool[rng.gen_range(0..pool.len())];
                let m = &mut f[c.middle];
                if m.split(' ').any(|x| x == w) {
                    return false;
                }
                *m = if m.is_empty() { w.to_string() } else { format!("{w} {m}") };
                true
            }
            ErrorKind::Telex | ErrorKind::Typo => {
                // Given name most often, then family name, then a middle word.
                let mut cands: Vec<(usize, usize, f64)> = Vec::new();
                for (field, weight) in [(c.given, 3.0), (c.family, 2.0), (c.middle, 1.0)] {
                    for (wi, w) in f[field].split(' ').enumerate() {
                        if !w.is_empty() && (k == ErrorKind::Typo || !w.is_ascii()) {
                            cands.push((field, wi, weight));
                        }
                    }
                }
                if cands.is_empty() {
                    return false;
                }
                let (field, wi, _) = *Weighted::new(cands.iter().map(|x| (x, x.2))).pick(rng);
                let mut words: Vec<String> = f[field].split(' ').map(String::from).collect();
                let new = if k == ErrorKind::Telex {
                    let only_d = words[wi].contains(['đ', 'Đ']) && rng.gen_bool(0.5);
                    telex_word(&words[wi], only_d)
                } else {
                    typo(rng, &words[wi])
                };
                let Some(new) = new else { return false };
                words[wi] = new;
                f[field] = words.join(" ");
                true
            }
            ErrorKind::SwapDayMonth => match swap_day_month(&f[c.birth]) {
                Some(s) => {
                    f[c.birth] = s;
                    true
                }
                None => false,
            },
            ErrorKind::YearOnly => {
                f[c.birth].truncate(4);
                true
            }
            ErrorKind::IdWrongDigit => {
                let mut id = f[c.id].clone().into_bytes();
                let i = rng.gen_range(0..id.len());
                let old = id[i] - b'0';
                id[i] = b'0' + (old + rng.gen_range(1..10u8)) % 10;
                f[c.id] = String::from_utf8(id).unwrap();
                true
            }
            ErrorKind::IdMissing => {
                f[c.id].clear();
                true
            }
            ErrorKind::IdCmnd => {
                f[c.id] = if rng.gen_bool(0.5) { std::mem::take(&mut f[c.cmnd]) } else { f[c.cmnd].clone() };
                true
            }
            ErrorKind::LegacyAddress => {
                let olds = self.sole.of(who.ci);
                if olds.is_empty() {
                    return false;
                }
                let code = olds[rng.gen_range(0..olds.len())];
                f[c.permanent] = format!("legacy:{}", std::str::from_utf8(&code).unwrap());
                true
            }
            ErrorKind::PhoneChanged => {
                *phone = if phone.is_some() && rng.gen_bool(0.3) { None } else { Some(self.random_phone()) };
                true
            }
            ErrorKind::DropMarks => map_text(f, &c.text, |s| Some(drop_marks(s))),
            ErrorKind::Nfd => map_text(f, &c.text, |s| Some(nfd(s))),
            ErrorKind::LegacyEncoding => {
                let m = Mojibake::random(rng);
                map_text(f, &c.text, |s| m.apply(s))
            }
        }
    }
}

/// Replaces the non-ASCII text fields by `g` of them; whether one changed.
fn map_text(f: &mut [String], text: &[usize], g: impl Fn(&str) -> Option<String>) -> bool {
    let mut changed = false;
    for &i in text {
        if f[i].is_ascii() {
            continue;
        }
        if let Some(s) = g(&f[i]) {
            changed |= s != f[i];
            f[i] = s;
        }
    }
    changed
}

/// `YYYY-MM-DD` with day and month swapped, if the day is a valid month and differs from it.
fn swap_day_month(d: &str) -> Option<String> {
    let b = d.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let (m, day) = (&d[5..7], &d[8..10]);
    let dn: u32 = day.parse().ok()?;
    if !(1..=12).contains(&dn) || m == day {
        return None;
    }
    Some(format!("{}-{day}-{m}", &d[..4]))
}

/// Fields of one CSV row written by the generator (RFC 4180 quoting).
pub(crate) fn split_row(row: &[u8]) -> Vec<String> {
    let mut fields = Vec::with_capacity(CSV_COLUMNS.len());
    let mut cur = Vec::new();
    let mut i = 0;
    let mut quoted = false;
    while i < row.len() {
        let b = row[i];
        if quoted {
            if b == b'"' {
                if row.get(i + 1) == Some(&b'"') {
                    cur.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                cur.push(b);
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            fields.push(String::from_utf8(std::mem::take(&mut cur)).expect("generated rows are UTF-8"));
        } else {
            cur.push(b);
        }
        i += 1;
    }
    fields.push(String::from_utf8(cur).expect("generated rows are UTF-8"));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_rows() {
        assert_eq!(split_row(b"a,\"b, c\",,\"d \"\"e\"\"\""), ["a", "b, c", "", "d \"e\""]);
    }

    #[test]
    fn swaps_day_and_month_only_when_valid() {
        assert_eq!(swap_day_month("1990-05-04").as_deref(), Some("1990-04-05"));
        assert_eq!(swap_day_month("1990-05-13"), None);
        assert_eq!(swap_day_month("1990-05-05"), None);
        assert_eq!(swap_day_month("1990"), None);
    }

    #[test]
    fn sole_legacy_matches_the_domain_mapping() {
        let world = World::get();
        let sole = SoleLegacy::get();
        let units = admin_units();
        let mut nonempty = 0;
        for ci in (0..world.communes.len() as u32).step_by(97) {
            let code = std::str::from_utf8(&world.communes[ci as usize].code).unwrap();
            let mut ours: Vec<&str> = sole.of(ci).iter().map(|c| std::str::from_utf8(c).unwrap()).collect();
            ours.sort_unstable();
            assert_eq!(ours, units.legacy_communes_mapping_to(code), "{code}");
            nonempty += usize::from(!ours.is_empty());
        }
        assert!(nonempty > 20);
    }
}
