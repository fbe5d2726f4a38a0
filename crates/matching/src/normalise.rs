//! Turning raw field text into comparable values. The folding itself (`fold_key`: NFD, no
//! marks, đ→d, lower case) and the legacy-encoding repair live in `dancu-domain` and
//! `dancu-identity`; this module adds what matching needs on top: undoing typing-method
//! artefacts (Telex `dd` for `đ`, doubled vowels, tone keys left in the word, VNI digits),
//! i/y spelling variants, and compact numeric forms of dates, IDs, phones and unit codes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use dancu_domain::personal_id::PersonalId;
use dancu_domain::text::fold_key;
use dancu_domain::units::{admin_units, Conversion, UnitList, UnitRef};
use dancu_domain::PartialDate;

use crate::config::BareUnitList;

/// A field's bytes as text: UTF-8 when valid, otherwise read as Windows-1252 so that the
/// legacy-encoding repair (which works from the Windows-1252 reading) can undo it.
pub fn decode_field(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(dancu_identity::legacy::decode_cp1252(bytes)),
    }
}

/// Whether a field could be mojibake at all: the repair only considers text whose every
/// character has a Windows-1252 byte (it leaves "real Unicode" alone), so a field holding
/// `ễ` or `ư` — most Vietnamese text — is skipped without calling it.
pub fn could_be_mojibake(s: &str) -> bool {
    !s.is_ascii() && s.chars().all(|c| (c as u32) < 0x100 || CP1252_EXTRA.contains(&c))
}

/// The characters Windows-1252 puts at 0x80–0x9F.
const CP1252_EXTRA: [char; 27] = [
    '€', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 'Ž', '‘', '’', '“', '”', '•', '–', '—', '˜',
    '™', 'š', '›', 'œ', 'ž', 'Ÿ',
];

/// Repairs the fields of one row that [`could_be_mojibake`] together (one encoding chosen
/// for all of them, which is far more reliable than a choice per field). `None` when the
/// text was left as it is.
pub fn repair_row_text(fields: &[&str]) -> Option<Vec<String>> {
    let (fixed, encoding) = dancu_identity::legacy::repair_fields(fields);
    encoding.map(|_| fixed)
}

/// The folded name tokens of a text: `fold_key`, [`fold_token`] on each word, then the
/// identity crate's `name_match_key` (i/y spelling: `Lý` = `Lí`) over the result.
pub fn name_tokens(s: &str) -> impl Iterator<Item = String> {
    let folded = if s.is_ascii() { s.to_ascii_lowercase() } else { fold_key(s) };
    let words: Vec<String> =
        folded.split([' ', '-', '.', ',']).map(fold_token).filter(|t| !t.is_empty()).collect();
    let key = dancu_identity::eid::name_match_key(&words.join(" "));
    key.split(' ').filter(|t| !t.is_empty()).map(str::to_string).collect::<Vec<_>>().into_iter()
}

/// Undoes typing-method artefacts in one folded (ASCII, lower-case) word, so that `ddinh`,
/// `dinh`, `nguyeenx`, `nguye64n` and `nguyen` give the same token. Applied to both sides
/// of every comparison, so it only has to be consistent, not a perfect Telex decoder:
/// - VNI tone/shape digits are dropped (`nguye64n`);
/// - a leading `dd` is `đ` (no Vietnamese word starts with two d's);
/// - `w` after a, o, u is a Telex shape key (`truwowng`), elsewhere it stands for `ư`;
/// - doubled a, e, o are Telex circumflex keys (`caan` = `cân`);
/// - a final s, f, r, x, j or z is a Telex tone key (no Vietnamese syllable ends in them).
pub fn fold_token(word: &str) -> String {
    let b = word.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        return word.to_string();
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_digit() {
            continue;
        }
        if c == b'w' {
            match out.last() {
                Some(b'a' | b'o' | b'u') => continue,
                _ => {
                    out.push(b'u');
                    continue;
                }
            }
        }
        if matches!(c, b'a' | b'e' | b'o') && out.last() == Some(&c) {
            continue;
        }
        out.push(c);
    }
    if out.starts_with(b"dd") {
        out.remove(0);
    }
    if out.len() > 2 && matches!(out.last(), Some(b's' | b'f' | b'r' | b'x' | b'j' | b'z')) {
        out.pop();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A date packed for comparison: year, month (0 = unknown), day (0 = unknown). Year 0 means
/// no date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Ymd {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Ymd {
    pub const NONE: Ymd = Ymd { year: 0, month: 0, day: 0 };

    pub fn is_some(&self) -> bool {
        self.year != 0
    }

    pub fn is_full(&self) -> bool {
        self.day != 0
    }
}

/// Parses a birth date in any of the forms `PartialDate` accepts, plus `DD-MM-YYYY`,
/// `DD.MM.YYYY` and the chip card's `DDMMYYYY`. Day-first is read first; when the day is
/// above 12 that is unambiguous, and when the date only parses with day and month the other
/// way round (`1990-25-03`) it is read that way: the swapped-date comparator level then does
/// the rest.
pub fn parse_date(s: &str) -> Result<Ymd, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Ymd::NONE);
    }
    let owned;
    let mut text = s;
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        owned = format!("{}/{}/{}", &s[0..2], &s[2..4], &s[4..8]);
        text = &owned;
    } else if s.len() == 10 && (s.as_bytes()[2] == b'-' || s.as_bytes()[2] == b'.') {
        owned = s.replace(['-', '.'], "/");
        text = &owned;
    }
    match text.parse::<PartialDate>() {
        Ok(d) => Ok(from_partial(d)),
        Err(v) if v.rule == "date.invalid_month" || v.rule == "date.invalid_day" => {
            // Try day and month the other way round.
            let swapped = swap_day_month(text).ok_or(v.rule)?;
            swapped.parse::<PartialDate>().map(from_partial).map_err(|_| v.rule)
        }
        Err(v) => Err(v.rule),
    }
}

/// A declared date format (`%Y%m%d`, `%d/%m/%Y`, `%Y-%m-%d`, `%Y`): `%d`, `%m`, `%Y` and
/// literal separators, matched exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    parts: Vec<DatePart>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatePart {
    Day,
    Month,
    Year,
    Lit(u8),
}

impl DateFormat {
    /// Checks a format: `%Y` required, `%d` only with `%m`, each at most once, nothing but
    /// ASCII separators besides.
    pub fn parse(f: &str) -> Result<DateFormat, String> {
        let b = f.as_bytes();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let p = match b.get(i + 1) {
                    Some(b'd') => DatePart::Day,
                    Some(b'm') => DatePart::Month,
                    Some(b'Y') => DatePart::Year,
                    other => {
                        return Err(format!(
                            "date format {f:?}: unknown directive %{} (use %d, %m, %Y)",
                            other.map(|c| *c as char).unwrap_or(' ')
                        ))
                    }
                };
                if parts.contains(&p) {
                    return Err(format!("date format {f:?}: a directive appears twice"));
                }
                parts.push(p);
                i += 2;
            } else if b[i].is_ascii() && !b[i].is_ascii_alphanumeric() {
                parts.push(DatePart::Lit(b[i]));
                i += 1;
            } else {
                return Err(format!("date format {f:?}: only %d, %m, %Y and separators are allowed"));
            }
        }
        if !parts.contains(&DatePart::Year) {
            return Err(format!("date format {f:?}: %Y (the year) is required"));
        }
        if parts.contains(&DatePart::Day) && !parts.contains(&DatePart::Month) {
            return Err(format!("date format {f:?}: %d needs %m"));
        }
        Ok(DateFormat { parts, text: f.to_string() })
    }

    /// The date, `None` when `s` does not have this shape; `Some(Err(rule))` when it has the
    /// shape but is not a valid date.
    pub fn read(&self, s: &str) -> Option<Result<Ymd, &'static str>> {
        let b = s.as_bytes();
        let (mut y, mut m, mut d) = (None, None, None);
        let mut i = 0;
        for (k, p) in self.parts.iter().enumerate() {
            // Without a separator after it, a field has its full width; else up to the separator.
            let next_lit = match self.parts.get(k + 1) {
                Some(DatePart::Lit(c)) => Some(*c),
                _ => None,
            };
            let digits = |i: usize, width: usize| -> Option<(u32, usize)> {
                let end = match next_lit {
                    Some(c) => b[i..].iter().position(|&x| x == c).map(|e| i + e)?,
                    None if k + 1 == self.parts.len() => b.len(),
                    None => i + width,
                };
                if end <= i || end > b.len() || end - i > width || !b[i..end].iter().all(u8::is_ascii_digit) {
                    return None;
                }
                Some((std::str::from_utf8(&b[i..end]).ok()?.parse().ok()?, end))
            };
            match p {
                DatePart::Lit(c) => {
                    if b.get(i) != Some(c) {
                        return None;
                    }
                    i += 1;
                }
                DatePart::Year => {
                    let (v, e) = digits(i, 4)?;
                    if e - i != 4 {
                        return None;
                    }
                    y = Some(v);
                    i = e;
                }
                DatePart::Month => {
                    let (v, e) = digits(i, 2)?;
                    m = Some(v);
                    i = e;
                }
                DatePart::Day => {
                    let (v, e) = digits(i, 2)?;
                    d = Some(v);
                    i = e;
                }
            }
        }
        if i != b.len() {
            return None;
        }
        let text = match (y?, m, d) {
            (y, None, _) => format!("{y:04}"),
            (y, Some(m), None) => format!("{y:04}-{m:02}"),
            (y, Some(m), Some(d)) => format!("{y:04}-{m:02}-{d:02}"),
        };
        Some(text.parse::<PartialDate>().map(from_partial).map_err(|v| v.rule))
    }
}

/// A date read with the declared formats (the first whose shape fits), or with the
/// built-in list when none are declared.
pub fn parse_date_with(s: &str, formats: &[DateFormat]) -> Result<Ymd, &'static str> {
    let t = s.trim();
    if formats.is_empty() || t.is_empty() {
        return parse_date(t);
    }
    for f in formats {
        if let Some(r) = f.read(t) {
            return r;
        }
    }
    Err("date.format")
}

fn swap_day_month(s: &str) -> Option<String> {
    if s.contains('/') {
        let p: Vec<&str> = s.split('/').collect();
        if let [d, m, y] = p.as_slice() {
            return Some(format!("{m}/{d}/{y}"));
        }
    } else {
        let p: Vec<&str> = s.split('-').collect();
        if let [y, m, d] = p.as_slice() {
            return Some(format!("{y}-{d}-{m}"));
        }
    }
    None
}

fn from_partial(d: PartialDate) -> Ymd {
    let (y, m, dd) = match d {
        PartialDate::Year(y) => (y, 0, 0),
        PartialDate::YearMonth(y, m) => (y, m, 0),
        // Display is `YYYY-MM-DD`: read the day from it rather than pull chrono in here.
        PartialDate::Full(_) => {
            let s = d.to_string();
            (d.year(), d.month().unwrap_or(0), s[8..10].parse().unwrap_or(0))
        }
    };
    Ymd { year: y as u16, month: m as u8, day: dd as u8 }
}

/// What an identifier column held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdValue {
    Missing,
    /// 12 digits that pass the personal-ID rules.
    Valid(u64),
    /// Digits that look like a personal ID but break a rule (wrong length after repair of a
    /// lost leading zero, unknown province, future century): kept for comparison, reported
    /// as `id_bad_format` in reconciliation. The rule is the domain's rule code.
    BadFormat(u64, &'static str),
    /// Something that is no number at all.
    Garbage(&'static str),
    /// 9 digits: an old CMND number written where the personal ID was asked for.
    Cmnd(u32),
}

/// Reads a personal-ID field. Spaces, dots and dashes between digit groups are ignored; an
/// 11-digit number is read with the leading zero a spreadsheet dropped, but stays
/// `BadFormat` so the sector agency is told to fix it.
pub fn parse_personal_id(s: &str) -> IdValue {
    let s = s.trim();
    if s.is_empty() {
        return IdValue::Missing;
    }
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return IdValue::Garbage("id.non_digit");
    }
    match digits.len() {
        9 => IdValue::Cmnd(digits.parse().unwrap_or(0)),
        11 => IdValue::BadFormat(digits.parse().unwrap_or(0), "id.length"),
        12 => {
            let n = digits.parse().unwrap_or(0);
            match PersonalId::parse_until(&digits, 2200) {
                Ok(_) if digits == s => IdValue::Valid(n),
                Ok(_) => IdValue::BadFormat(n, "id.separators"),
                Err(v) => IdValue::BadFormat(n, v.rule),
            }
        }
        _ => IdValue::Garbage("id.length"),
    }
}

/// The birth year a valid 12-digit personal ID encodes: its 4th digit gives the century (and
/// the sex: 0–1 for 1900–1999, 2–3 for 2000–2099…), its 5th and 6th the year. The rule of
/// `PersonalId::birth_year`, read off the number that `parse_personal_id` already made, so
/// that building a million records does not parse every ID twice; a test holds the two equal.
pub fn id_birth_year(pid: u64) -> u16 {
    let century = (pid / 100_000_000 % 10) as u16 / 2;
    1900 + 100 * century + (pid / 1_000_000 % 100) as u16
}

/// The birth year of an ID reported only for its writing: a leading zero lost (11 digits,
/// as spreadsheets do) or separators, whose 12 digits are otherwise a valid ID; else 0.
pub fn id_birth_year_if_readable(pid: u64, rule: &str) -> u16 {
    if !matches!(rule, "id.length" | "id.separators") || pid >= 1_000_000_000_000 {
        return 0;
    }
    PersonalId::parse_until(&format!("{pid:012}"), 2200).map_or(0, |id| id.birth_year() as u16)
}

/// Reads a CMND field: 9 digits, else missing.
pub fn parse_cmnd(s: &str) -> Option<u32> {
    let s = s.trim();
    (s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().unwrap_or(0))
}

/// A phone number as a number: mobiles through the identity crate's `normalize_phone`
/// (`0912 345 678`, `+84912345678` and `84912345678` are the same), other numbers
/// (landlines) by their digits, compared as written. `None` when there are too few digits.
pub fn parse_phone(s: &str) -> Option<u64> {
    if let Ok(mobile) = dancu_identity::eid::normalize_phone(s) {
        return mobile.parse().ok();
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    (9..=15).contains(&digits.len()).then(|| digits.parse().ok()).flatten()
}

/// A commune placed in the 2025 list: its code, the candidates when a legacy commune was
/// split over several new ones, and the 2025 province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit2025 {
    pub commune: u32,
    /// The legacy code when the legacy commune was split (see [`split_candidates`]), else 0.
    pub split_from: u32,
    pub province: u8,
}

/// The 2025 communes a split legacy commune now lies in, by legacy code (441 entries).
pub fn split_candidates(legacy: u32) -> &'static [u32] {
    static TABLE: LazyLock<HashMap<u32, Vec<u32>>> = LazyLock::new(|| {
        let units = admin_units();
        let mut t = HashMap::new();
        // The mapping is keyed by legacy commune code: walk all 5-digit codes once.
        for code in 0..100_000u32 {
            let s = format!("{code:05}");
            if let Conversion::Split(c) = units.convert_legacy(&s) {
                t.insert(code, c.iter().map(|u| u.code().parse().unwrap_or(0)).collect());
            }
        }
        t
    });
    TABLE.get(&legacy).map(Vec::as_slice).unwrap_or(&[])
}

/// Reads a unit code (`2025:00004`, `legacy:00004`, or a bare code read in `bare` list) and
/// maps legacy communes through the old→new table.
pub fn parse_unit(s: &str, bare: BareUnitList) -> Result<Option<Unit2025>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let unit: UnitRef = if s.contains(':') {
        s.parse().map_err(|v: dancu_domain::Violation| v.rule)?
    } else {
        let list = match bare {
            BareUnitList::V2025 => UnitList::V2025,
            BareUnitList::Legacy => UnitList::Legacy,
            BareUnitList::Refuse => return Err("unit.list_missing"),
        };
        UnitRef::new(list, s).map_err(|v| v.rule)?
    };
    unit_2025(&unit).map(Some)
}

/// A known unit placed in the 2025 list: legacy communes through the old→new table (a split
/// commune: its first candidate, with the legacy code kept in `split_from`).
fn unit_2025(unit: &UnitRef) -> Result<Unit2025, &'static str> {
    let code = |u: &UnitRef| u.code().parse::<u32>().unwrap_or(0);
    let province = |u: &UnitRef| u.describe().province_code.parse::<u8>().unwrap_or(0);
    match unit.list {
        UnitList::V2025 => Ok(Unit2025 { commune: code(unit), split_from: 0, province: province(unit) }),
        UnitList::Legacy => match admin_units().convert_legacy(unit.code()) {
            Conversion::One(u) => Ok(Unit2025 { commune: code(&u), split_from: 0, province: province(&u) }),
            Conversion::Split(c) => {
                Ok(Unit2025 { commune: code(&c[0]), split_from: code(unit), province: province(&c[0]) })
            }
            Conversion::Unmapped => Err("unit.unmapped"),
        },
    }
}

/// A commune written by its names (`tinh`, `xa` columns as text, folded by [`fold_place`])
/// placed in the 2025 list, as its code would place it. Lists give a commune as a code in
/// some rows and by name in others, and by its pre-2025 name when compiled before the
/// reform; the official lists know all three, so a record that names its commune is
/// compared with one that gives the code as the same place. Keys are (province, commune)
/// names: 2025 names; legacy names under the legacy province; legacy names under the 2025
/// province the commune went into (unless a 2025 commune of that province has the name).
/// A pair of names that fits two different units (the same commune name in two districts
/// of one legacy province) resolves to nothing.
pub fn resolve_place(province: &str, commune: &str) -> Option<Unit2025> {
    static INDEX: LazyLock<HashMap<String, Option<Unit2025>>> = LazyLock::new(place_index);
    if province.is_empty() || commune.is_empty() {
        return None;
    }
    INDEX.get(&format!("{province}\u{1f}{commune}")).cloned().flatten()
}

/// The 2025 province a province name (folded, 2025 or legacy) stands for, else 0: a legacy
/// province whose communes went into more than one 2025 province stands for none.
pub fn resolve_province(province: &str) -> u8 {
    static INDEX: LazyLock<HashMap<String, u8>> = LazyLock::new(|| {
        let units = admin_units();
        let mut index: HashMap<String, u8> = HashMap::new();
        for p in units.provinces_2025() {
            index.insert(fold_place(&p.name), p.code.parse().unwrap_or(0));
        }
        for p in &units.provinces_legacy {
            if let [one] = units.provinces_2025_of_legacy(&p.code).as_slice() {
                index.entry(fold_place(&p.name)).or_insert(one.parse().unwrap_or(0));
            }
        }
        index
    });
    INDEX.get(province).copied().unwrap_or(0)
}

fn place_index() -> HashMap<String, Option<Unit2025>> {
    let units = admin_units();
    let key =
        |province: &str, commune: &str| format!("{}\u{1f}{}", fold_place(province), fold_place(commune));
    // Two different units under one key make it ambiguous (None), whatever the order.
    fn add(index: &mut HashMap<String, Option<Unit2025>>, k: String, u: Unit2025) {
        index
            .entry(k)
            .and_modify(|v| {
                if v.as_ref() != Some(&u) {
                    *v = None
                }
            })
            .or_insert(Some(u));
    }
    let placed = |list: UnitList, code: &str| UnitRef::new(list, code).ok().and_then(|u| unit_2025(&u).ok());
    let mut index = HashMap::new();
    for c in units.all_communes_2025() {
        if let Some(u) = placed(UnitList::V2025, &c.code) {
            add(&mut index, key(&c.province_name, &c.name), u);
        }
    }
    let mut legacy = HashMap::new();
    for c in units.all_communes_legacy() {
        let Some(u) = placed(UnitList::Legacy, &c.code) else { continue };
        // The 2025 provinces the commune went into (several candidates for a split one).
        let mut into: Vec<u8> = split_candidates(u.split_from)
            .iter()
            .filter_map(|&n| placed(UnitList::V2025, &format!("{n:05}")).map(|x| x.province))
            .collect();
        into.push(u.province);
        into.sort_unstable();
        into.dedup();
        add(&mut legacy, key(&c.province_name, &c.name), u.clone());
        for p in into {
            if let Some(p) = units.province_2025(&format!("{p:02}")) {
                add(&mut legacy, key(&p.name, &c.name), u.clone());
            }
        }
    }
    for (k, u) in legacy {
        index.entry(k).or_insert(u);
    }
    index
}

/// Folds a place name typed as text (`Tỉnh Tuyên Quang`, `TP. Hồ Chí Minh`, `xã Yên Sơn`)
/// to its bare folded name, dropping the unit-kind word in front.
pub fn fold_place(s: &str) -> String {
    let f = fold_key(s).replace('.', " ");
    let f = nfc_spaces(&f);
    for prefix in ["thanh pho ", "tinh ", "tp ", "xa ", "phuong ", "thi tran ", "dac khu ", "quan ", "huyen "]
    {
        if let Some(rest) = f.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    f
}

fn nfc_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 64-bit FNV-1a, for hashing folded free text and building block keys (stable across runs
/// and platforms, so outputs are reproducible).
pub fn hash_bytes(h: u64, bytes: &[u8]) -> u64 {
    let mut h = if h == 0 { 0xcbf2_9ce4_8422_2325 } else { h };
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Mixes integers into a block key; never returns 0 (0 means "no key").
pub fn key(parts: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for &p in parts {
        h = (h ^ p).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
    }
    h.max(1)
}

/// The folded address detail, and a hash of its digits alone (the house number and hamlet
/// number survive most retyping).
/// Words of an address that say what kind of thing follows, not which one: dropped before
/// comparing addresses by their words (`Số 12 đường Lê Lợi` = `12 Lê Lợi`).
const ADDRESS_STOPWORDS: &[&str] = &[
    "so",
    "nha",
    "duong",
    "pho",
    "ngo",
    "ngach",
    "hem",
    "kiet",
    "to",
    "dan",
    "thon",
    "xom",
    "ap",
    "ban",
    "khu",
    "pho",
    "xa",
    "phuong",
    "thi",
    "tran",
    "huyen",
    "quan",
    "tinh",
    "thanh",
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "place",
    "pl",
    "crescent",
    "cres",
    "circuit",
    "court",
    "ct",
    "drive",
    "dr",
    "lane",
    "ln",
    "close",
    "parade",
    "way",
    "the",
    "unit",
    "flat",
    "apartment",
    "level",
];

/// The words of an address (folded, kind words dropped) as a 64-bit set: one bit per word
/// hash. Two addresses written in different formats share most bits.
pub fn detail_token_bits(s: &str) -> u64 {
    if s.trim().is_empty() {
        return 0;
    }
    let f = fold_key(s);
    let mut bits = 0u64;
    for w in f.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if ADDRESS_STOPWORDS.contains(&w) {
            continue;
        }
        bits |= 1u64 << (hash_bytes(7, w.as_bytes()) % 64);
    }
    bits
}

pub fn detail_hashes(s: &str) -> (u64, u64) {
    if s.trim().is_empty() {
        return (0, 0);
    }
    let f = fold_key(s);
    let (mut text, mut digits) = (0u64, 0u64);
    for w in f.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        text = hash_bytes(hash_bytes(text, w.as_bytes()), b" ");
        if w.bytes().any(|b| b.is_ascii_digit()) {
            digits = hash_bytes(hash_bytes(digits, w.as_bytes()), b" ");
        }
    }
    (text, digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    fn toks(s: &str) -> Vec<String> {
        name_tokens(s).collect()
    }

    #[test]
    fn typing_artefacts_fold_to_the_same_token() {
        assert_eq!(toks("Đinh"), toks("Ddinh"));
        assert_eq!(toks("Đinh"), toks("Dinh"));
        assert_eq!(toks("Nguyễn"), toks("Nguyeenx"));
        assert_eq!(toks("Nguyễn"), toks("Nguye64n"));
        assert_eq!(toks("Trương"), toks("Truwowng"));
        assert_eq!(toks("Lý"), toks("Lí"));
        assert_eq!(toks("Lý"), toks("Lys"));
        assert_eq!(toks("Thủy"), toks("Thuỷ"));
        assert_eq!(toks("Hoà"), toks("Hòa"));
        let nfd: String = "Nguyễn Văn Đức".nfd().collect();
        assert_eq!(toks(&nfd), vec!["nguyen", "van", "duc"]);
        assert_ne!(toks("Huy"), toks("Hui"));
        assert_ne!(toks("An"), toks("Anh"));
    }

    #[test]
    fn communes_written_by_name_are_placed_as_their_code_would_be() {
        let place = |p: &str, c: &str| resolve_place(&fold_place(p), &fold_place(c));
        let duong_huu = Some(Unit2025 { commune: 7672, split_from: 0, province: 24 });
        // The 2025 names, with or without the unit-kind words and tone marks.
        assert_eq!(place("Thành phố Bắc Ninh", "Xã Dương Hưu"), duong_huu);
        assert_eq!(place("BAC NINH", "duong huu"), duong_huu);
        // The pre-2025 commune (07666) under its pre-2025 province went wholly into it.
        assert_eq!(place("Tỉnh Bắc Giang", "Xã Dương Hưu"), duong_huu);
        // The same pre-2025 name in two districts of one province places nothing.
        assert_eq!(place("Tỉnh Quảng Trị", "Phường 1"), None);
        // Names the lists do not know, or a commune in another province, place nothing.
        assert_eq!(place("Thành phố Bắc Ninh", "Xã Không Có"), None);
        assert_eq!(place("Thành phố Hà Nội", "Xã Dương Hưu"), None);
        assert_eq!(place("", "Xã Dương Hưu"), None);
        // A province alone: by its 2025 name, or a pre-2025 name that went into one province.
        assert_eq!(resolve_province(&fold_place("Tỉnh Bắc Giang")), 24);
        assert_eq!(resolve_province(&fold_place("Thành phố Bắc Ninh")), 24);
        assert_eq!(resolve_province(&fold_place("New South Wales")), 0);
    }

    #[test]
    fn dates_in_many_forms() {
        let full = Ymd { year: 1990, month: 5, day: 4 };
        assert_eq!(parse_date("1990-05-04"), Ok(full));
        assert_eq!(parse_date("04/05/1990"), Ok(full));
        assert_eq!(parse_date("04-05-1990"), Ok(full));
        assert_eq!(parse_date("04051990"), Ok(full));
        assert_eq!(parse_date("1990"), Ok(Ymd { year: 1990, month: 0, day: 0 }));
        assert_eq!(parse_date("1990-25-03"), Ok(Ymd { year: 1990, month: 3, day: 25 }));
        assert_eq!(parse_date(""), Ok(Ymd::NONE));
        assert_eq!(parse_date("31/31/1990"), Err("date.invalid_month"));
        assert_eq!(parse_date("abc"), Err("date.format"));
    }

    #[test]
    fn identifiers() {
        assert_eq!(parse_personal_id("001090012345"), IdValue::Valid(1_090_012_345));
        // The number's birth year is the domain's, for every century digit.
        for s in ["001090012345", "079185088039", "082323132420", "038400000001", "001599123456"] {
            let (IdValue::Valid(n), Ok(id)) = (parse_personal_id(s), PersonalId::parse_until(s, 2200)) else {
                panic!("{s} should be valid")
            };
            assert_eq!(id_birth_year(n) as i32, id.birth_year(), "{s}");
        }
        assert_eq!(parse_personal_id("01090012345"), IdValue::BadFormat(1_090_012_345, "id.length"));
        assert_eq!(parse_personal_id("003090012345"), IdValue::BadFormat(3_090_012_345, "id.province"));
        assert_eq!(parse_personal_id("001 090 012345"), IdValue::BadFormat(1_090_012_345, "id.separators"));
        assert_eq!(parse_personal_id("123456789"), IdValue::Cmnd(123_456_789));
        assert_eq!(parse_personal_id("12a"), IdValue::Garbage("id.non_digit"));
        assert_eq!(parse_personal_id(" "), IdValue::Missing);
        assert_eq!(parse_phone("0912 345 678"), Some(912_345_678));
        assert_eq!(parse_phone("+84 912345678"), Some(912_345_678));
        assert_eq!(parse_phone("84912345678"), Some(912_345_678));
        assert_eq!(parse_phone("024 3825 1234"), Some(2_438_251_234));
        assert_eq!(parse_phone("12"), None);
    }

    #[test]
    fn legacy_units_map_to_2025() {
        let new = parse_unit("2025:00004", BareUnitList::Refuse).unwrap().unwrap();
        let old = parse_unit("legacy:00004", BareUnitList::Refuse).unwrap().unwrap();
        assert_eq!(new, old);
        assert_eq!(parse_unit("00004", BareUnitList::V2025).unwrap().unwrap(), new);
        assert_eq!(parse_unit("00004", BareUnitList::Refuse), Err("unit.list_missing"));
        assert_eq!(parse_unit("2025:99999", BareUnitList::V2025), Err("unit.unknown"));
        assert_eq!(new.province, 1);
    }

    #[test]
    fn places_and_details() {
        assert_eq!(fold_place("Tỉnh Tuyên Quang"), "tuyen quang");
        assert_eq!(fold_place("TP. Hồ Chí Minh"), "ho chi minh");
        assert_eq!(detail_hashes("Số 12, Thôn 3"), detail_hashes("so 12 thon 3"));
        assert_eq!(detail_hashes("Số 12, Thôn 3").1, detail_hashes("12 thon 3 Yen Son").1);
    }
}
