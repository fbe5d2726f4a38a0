//! The compact record every comparison works on. Matching millions of rows in a couple of
//! gigabytes means no strings per record: name tokens are interned (a `u32` symbol each),
//! dates, IDs, phones and unit codes are packed integers, free text is a hash.

use crate::fastmap::FastMap;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::config::{BareUnitList, MatchConfig, MAX_CATEGORIES};
use crate::normalise::{self, IdValue, Ymd};

/// An interned folded string; 0 is "none".
pub type Sym = u32;

/// At most this many name words are kept (longer names keep the first words and the last).
pub const MAX_NAME_TOKENS: usize = 6;

/// Field kinds in a fixed order, so a row's values fit an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FullName,
    FamilyName,
    MiddleName,
    GivenName,
    BirthDate,
    PersonalId,
    Cmnd,
    Unit,
    Province,
    Commune,
    AddressDetail,
    Postcode,
    Phone,
    RecordId,
}

pub const KINDS: [Kind; 14] = [
    Kind::FullName,
    Kind::FamilyName,
    Kind::MiddleName,
    Kind::GivenName,
    Kind::BirthDate,
    Kind::PersonalId,
    Kind::Cmnd,
    Kind::Unit,
    Kind::Province,
    Kind::Commune,
    Kind::AddressDetail,
    Kind::Postcode,
    Kind::Phone,
    Kind::RecordId,
];

impl Kind {
    /// The config key (`[columns]` table) of this kind; same order as `config::FIELD_KINDS`.
    pub fn key(self) -> &'static str {
        crate::config::FIELD_KINDS[self as usize]
    }

    /// Text fields that go through legacy-encoding repair together.
    fn is_text(self) -> bool {
        matches!(
            self,
            Kind::FullName
                | Kind::FamilyName
                | Kind::MiddleName
                | Kind::GivenName
                | Kind::Province
                | Kind::Commune
                | Kind::AddressDetail
        )
    }
}

/// How the personal-ID field of a row looked (used by reconciliation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdCheck {
    Missing,
    Valid,
    /// Index into [`ID_RULES`].
    BadFormat(u8),
}

/// Rule codes a bad personal ID can break (from `dancu_domain::personal_id` and
/// `normalise::parse_personal_id`).
pub const ID_RULES: [&str; 6] =
    ["id.non_digit", "id.length", "id.province", "id.century_sex", "id.separators", "id.other"];

fn id_rule_index(rule: &str) -> u8 {
    ID_RULES.iter().position(|r| *r == rule).unwrap_or(ID_RULES.len() - 1) as u8
}

/// One row, ready for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Folded name words in written order (family, middle…, given); unused slots are 0.
    pub names: [Sym; MAX_NAME_TOKENS],
    pub n_names: u8,
    pub date: Ymd,
    /// The 12 personal-ID digits as a number (valid or not), 0 when absent.
    pub pid: u64,
    /// The birth year a valid personal ID encodes (its 4th digit gives the century, the
    /// 5th and 6th the year), else 0.
    pub id_year: u16,
    /// The sex a readable personal ID encodes (1 male, 2 female), else 0.
    pub id_sex: u8,
    pub cmnd: u32,
    /// 2025 commune code (from the unit, or from commune and province names the official
    /// lists know), 0 when unknown.
    pub commune: u32,
    /// The legacy commune code when that commune was split over several 2025 communes
    /// (candidates: [`normalise::split_candidates`]), else 0.
    pub split: u32,
    /// 2025 province code (from the unit, or from the names), 0 when unknown.
    pub province: u8,
    pub province_text: Sym,
    pub commune_text: Sym,
    pub detail: u64,
    pub detail_digits: u64,
    /// The address words as a bit set ([`normalise::detail_token_bits`]).
    pub detail_tokens: u64,
    pub postcode: u32,
    pub phone: u64,
    pub cats: [Sym; MAX_CATEGORIES],
    /// Sorted sound keys of the name words, hashed ([`crate::blocking::sound_key`]; set
    /// when the dataset is built), 0 without names.
    pub sound_names: u64,
    /// Which file a record came from (link and reconcile modes): 0 left, 1 right.
    pub source: u8,
    pub id_check: Option<IdCheck>,
    /// Line of the CSV file the row started on (the header is line 1).
    pub line: u32,
}

impl Record {
    pub fn name_tokens(&self) -> &[Sym] {
        &self.names[..self.n_names as usize]
    }

    pub fn family(&self) -> Sym {
        self.names[0]
    }

    pub fn given(&self) -> Sym {
        if self.n_names > 1 {
            self.names[self.n_names as usize - 1]
        } else {
            0
        }
    }
}

/// A map shared by the reading threads, sharded by hash so threads rarely wait on each
/// other. Values are computed outside the lock (two threads may compute the same value
/// once each; the result is the same).
#[derive(Debug)]
pub struct Sharded<V> {
    shards: Vec<Mutex<FastMap<Box<str>, V>>>,
}

const SHARDS: usize = 64;

impl<V: Clone> Default for Sharded<V> {
    fn default() -> Self {
        Sharded { shards: (0..SHARDS).map(|_| Mutex::new(FastMap::default())).collect() }
    }
}

impl<V: Clone> Sharded<V> {
    fn shard(&self, s: &str) -> &Mutex<FastMap<Box<str>, V>> {
        &self.shards[(normalise::hash_bytes(0, s.as_bytes()) % SHARDS as u64) as usize]
    }

    pub fn get_or_insert_with(&self, s: &str, make: impl FnOnce() -> V) -> V {
        if let Some(v) = self.shard(s).lock().unwrap().get(s) {
            return v.clone();
        }
        let v = make();
        self.shard(s).lock().unwrap().entry(s.into()).or_insert(v).clone()
    }
}

/// Name words of one field: up to [`MAX_NAME_TOKENS`] symbols.
pub type Tokens = ([Sym; MAX_NAME_TOKENS], u8);

/// Interned folded strings, and caches of everything derived from a field's text alone:
/// lists repeat the same family names, given names, dates and communes millions of times,
/// so each distinct value is folded or parsed once.
#[derive(Debug)]
pub struct Interner {
    syms: Sharded<Sym>,
    next: AtomicU32,
    names: Sharded<Tokens>,
    dates: Sharded<Result<Ymd, &'static str>>,
    units: [Sharded<Result<Option<normalise::Unit2025>, &'static str>>; 3],
    places: Sharded<Sym>,
    /// Communes and provinces named as text, placed in the 2025 list.
    named_units: Sharded<Option<normalise::Unit2025>>,
    named_provinces: Sharded<u8>,
    categories: Sharded<Sym>,
    /// Legacy-encoding repairs by the row's suspect fields (short names like `Lê`, `Hà`
    /// recur, and the repair scores every syllable).
    repairs: Sharded<Option<Vec<String>>>,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            syms: Sharded::default(),
            next: AtomicU32::new(1),
            names: Sharded::default(),
            dates: Sharded::default(),
            units: Default::default(),
            places: Sharded::default(),
            named_units: Sharded::default(),
            named_provinces: Sharded::default(),
            categories: Sharded::default(),
            repairs: Sharded::default(),
        }
    }
}

impl Interner {
    pub fn intern(&self, s: &str) -> Sym {
        if s.is_empty() {
            return 0;
        }
        self.syms.get_or_insert_with(s, || self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// The strings by symbol (index 0 is the empty string).
    pub fn strings(&self) -> Vec<Box<str>> {
        let mut v: Vec<Box<str>> = vec!["".into(); self.next.load(Ordering::Relaxed) as usize];
        for shard in &self.syms.shards {
            for (s, &id) in shard.lock().unwrap().iter() {
                v[id as usize] = s.clone();
            }
        }
        v
    }

    /// The folded name words of a (repaired) name field.
    pub fn name_tokens(&self, s: &str) -> Tokens {
        if s.is_empty() {
            return ([0; MAX_NAME_TOKENS], 0);
        }
        self.names.get_or_insert_with(s, || {
            let mut t = [0; MAX_NAME_TOKENS];
            let mut n = 0;
            for w in normalise::name_tokens(s).take(MAX_NAME_TOKENS) {
                t[n] = self.intern(&w);
                n += 1;
            }
            (t, n as u8)
        })
    }

    pub fn date(&self, s: &str) -> Result<Ymd, &'static str> {
        self.date_with(s, &[])
    }

    /// A date read with declared formats (the built-in list when there are none).
    pub fn date_with(&self, s: &str, formats: &[normalise::DateFormat]) -> Result<Ymd, &'static str> {
        if s.trim().is_empty() {
            return Ok(Ymd::NONE);
        }
        if formats.is_empty() {
            return self.dates.get_or_insert_with(s, || normalise::parse_date(s));
        }
        // Another cache key space: the same text may read differently with declared formats.
        let mut k = String::with_capacity(s.len() + 24);
        for f in formats {
            k.push_str(&f.text);
            k.push('\u{1f}');
        }
        k.push_str(s);
        self.dates.get_or_insert_with(&k, || normalise::parse_date_with(s, formats))
    }

    pub fn unit(&self, s: &str, bare: BareUnitList) -> Result<Option<normalise::Unit2025>, &'static str> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        self.units[bare as usize].get_or_insert_with(s, || normalise::parse_unit(s, bare))
    }

    /// A province or commune typed as text, folded without its unit-kind word.
    pub fn place(&self, s: &str) -> Sym {
        if s.trim().is_empty() {
            return 0;
        }
        self.places.get_or_insert_with(s, || self.intern(&normalise::fold_place(s)))
    }

    /// The repaired texts of a row's suspect fields, `None` when left as they are.
    pub fn repair(&self, texts: &[&str]) -> Option<Vec<String>> {
        self.repairs.get_or_insert_with(&texts.join("\u{1f}"), || normalise::repair_row_text(texts))
    }

    /// The 2025 commune that a province and a commune written as names stand for
    /// ([`normalise::resolve_place`]), else the 2025 province alone (commune 0), else `None`.
    pub fn named_unit(&self, province: &str, commune: &str) -> Option<normalise::Unit2025> {
        if province.trim().is_empty() {
            return None;
        }
        let place = self.named_units.get_or_insert_with(&format!("{province}\u{1f}{commune}"), || {
            normalise::resolve_place(&normalise::fold_place(province), &normalise::fold_place(commune))
        });
        place.or_else(|| {
            let p = self.named_provinces.get_or_insert_with(province, || {
                normalise::resolve_province(&normalise::fold_place(province))
            });
            (p != 0).then_some(normalise::Unit2025 { commune: 0, split_from: 0, province: p })
        })
    }

    pub fn category(&self, s: &str) -> Sym {
        if s.trim().is_empty() {
            return 0;
        }
        // Sex is written `Nam`/`Nữ` in sector lists and `M`/`F` in registry exports: the
        // spellings `Sex::parse` accepts count as one value.
        self.categories.get_or_insert_with(s, || match dancu_domain::Sex::parse(s) {
            Ok(sex) => self.intern(&sex.code().to_ascii_lowercase()),
            Err(_) => self.intern(&dancu_domain::fold_key(s)),
        })
    }
}

/// A problem with one field or row. `dropped` rows are not matched; otherwise the field was
/// treated as empty and the row kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub line: u32,
    pub column: String,
    pub rule: &'static str,
    pub dropped: bool,
}

/// A row's raw values by kind, plus the category values.
#[derive(Debug, Default)]
pub struct RowFields<'a> {
    pub by_kind: [Cow<'a, str>; KINDS.len()],
    pub cats: [Cow<'a, str>; MAX_CATEGORIES],
}

impl<'a> RowFields<'a> {
    pub fn get(&self, k: Kind) -> &str {
        &self.by_kind[k as usize]
    }

    pub fn set(&mut self, k: Kind, v: impl Into<Cow<'a, str>>) {
        self.by_kind[k as usize] = v.into();
    }
}

/// Builds a record from raw values: repairs and folds text, parses the rest. Field problems
/// are pushed to `issues` (the field is then empty); a row without any name is dropped.
pub fn build(
    mut f: RowFields<'_>,
    cfg: &MatchConfig,
    interner: &Interner,
    line: u32,
    issues: &mut Vec<Issue>,
) -> Option<(Record, String)> {
    let col = |k: Kind| cfg.column(k.key()).unwrap_or(k.key()).to_string();
    // Repair the text fields of the row that could be mojibake, together.
    let suspects: Vec<Kind> =
        KINDS.iter().copied().filter(|k| k.is_text() && normalise::could_be_mojibake(f.get(*k))).collect();
    if !suspects.is_empty() {
        let texts: Vec<&str> = suspects.iter().map(|k| f.get(*k)).collect();
        if let Some(fixed) = interner.repair(&texts) {
            for (k, t) in suspects.iter().zip(fixed) {
                f.set(*k, t);
            }
        }
    }
    let mut r = Record { line, ..Default::default() };
    // Names: the full name, or family + middle + given, as folded words.
    let mut n = 0usize;
    for k in [Kind::FullName, Kind::FamilyName, Kind::MiddleName, Kind::GivenName] {
        let (t, len) = interner.name_tokens(f.get(k));
        for &sym in &t[..len as usize] {
            if n < MAX_NAME_TOKENS {
                r.names[n] = sym;
                n += 1;
            } else {
                // Longer names keep their first words and the last (the given name).
                r.names[MAX_NAME_TOKENS - 1] = sym;
            }
        }
    }
    if n == 0 {
        // Kept, so that it appears in the output (a record alone): a row without a name is
        // never blocked with another.
        let column = col(if cfg.column("full_name").is_some() { Kind::FullName } else { Kind::GivenName });
        issues.push(Issue { line, column, rule: "name.missing", dropped: false });
    }
    r.n_names = n as u8;

    match interner.date_with(f.get(Kind::BirthDate), &cfg.settings.parsed_date_formats) {
        Ok(d) => r.date = d,
        Err(rule) => issues.push(Issue { line, column: col(Kind::BirthDate), rule, dropped: false }),
    }
    if cfg.column("personal_id").is_some() {
        r.id_check = Some(IdCheck::Missing);
        match normalise::parse_personal_id(f.get(Kind::PersonalId)) {
            IdValue::Missing => {}
            IdValue::Valid(n) => {
                r.pid = n;
                r.id_year = normalise::id_birth_year(n);
                r.id_check = Some(IdCheck::Valid);
            }
            IdValue::BadFormat(n, rule) => {
                r.pid = n;
                r.id_year = normalise::id_birth_year_if_readable(n, rule);
                r.id_check = Some(IdCheck::BadFormat(id_rule_index(rule)));
            }
            IdValue::Garbage(rule) => r.id_check = Some(IdCheck::BadFormat(id_rule_index(rule))),
            IdValue::Cmnd(n) => {
                r.cmnd = n;
                r.id_check = Some(IdCheck::BadFormat(id_rule_index("id.length")));
            }
        }
    }
    if let Some(n) = normalise::parse_cmnd(f.get(Kind::Cmnd)) {
        r.cmnd = n;
    }
    match interner.unit(f.get(Kind::Unit), cfg.settings.unit_list) {
        Ok(Some(u)) => {
            r.commune = u.commune;
            r.province = u.province;
            r.split = u.split_from;
        }
        Ok(None) => {}
        Err(rule) => issues.push(Issue { line, column: col(Kind::Unit), rule, dropped: false }),
    }
    r.province_text = interner.place(f.get(Kind::Province));
    r.commune_text = interner.place(f.get(Kind::Commune));
    if r.commune == 0 {
        // No usable code: the names, when the official lists know them, place the record
        // as a code would (compared and blocked with records that give the code).
        if let Some(u) = interner.named_unit(f.get(Kind::Province), f.get(Kind::Commune)) {
            r.commune = u.commune;
            r.province = u.province;
            r.split = u.split_from;
        }
    }
    let (detail, digits) = normalise::detail_hashes(f.get(Kind::AddressDetail));
    r.detail = detail;
    r.detail_digits = digits;
    r.detail_tokens = normalise::detail_token_bits(f.get(Kind::AddressDetail));
    let pc = f.get(Kind::Postcode).trim();
    if !pc.is_empty() {
        match pc.parse::<u32>() {
            Ok(n) if pc.len() <= 6 => r.postcode = n,
            _ => issues.push(Issue {
                line,
                column: col(Kind::Postcode),
                rule: "postcode.format",
                dropped: false,
            }),
        }
    }
    let phone = f.get(Kind::Phone);
    if !phone.trim().is_empty() {
        match normalise::parse_phone(phone) {
            Some(p) => r.phone = p,
            None => {
                issues.push(Issue { line, column: col(Kind::Phone), rule: "phone.format", dropped: false })
            }
        }
    }
    for (i, c) in f.cats.iter().enumerate() {
        r.cats[i] = interner.category(c);
    }
    // A personal ID says the sex as it says the birth year (its 4th digit: even for men,
    // odd for women); whether this list's IDs can be trusted for both is decided over the
    // whole list (`id_fields::check`).
    if r.id_year != 0 {
        r.id_sex = if (r.pid / 100_000_000).is_multiple_of(2) { 1 } else { 2 };
    }
    let id = f.get(Kind::RecordId).trim().to_string();
    Some((r, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_line_up_with_config_keys() {
        assert_eq!(KINDS.len(), crate::config::FIELD_KINDS.len());
        for (i, k) in KINDS.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
        assert_eq!(Kind::AddressDetail.key(), "address_detail");
        assert_eq!(Kind::RecordId.key(), "record_id");
    }

    #[test]
    fn interner_caches_agree_with_direct_parsing() {
        let i = Interner::default();
        let (t, n) = i.name_tokens("Nguyễn Thị");
        assert_eq!(n, 2);
        assert_eq!(i.name_tokens("Nguyen Thi"), (t, n));
        assert_eq!(i.strings()[t[0] as usize].as_ref(), "nguyen");
        assert_eq!(i.date("04/05/1990"), normalise::parse_date("04/05/1990"));
        assert_eq!(i.date("04/05/1990"), normalise::parse_date("04/05/1990"));
        assert_eq!(i.repair(&["Nguyeãn"]), Some(vec!["Nguyễn".to_string()]));
        assert_eq!(i.repair(&["Hà"]), None);
    }

    #[test]
    fn a_readable_id_gives_a_sex() {
        let cfg = MatchConfig::from_toml(
            "[columns]\nfull_name = \"ten\"\npersonal_id = \"so\"\n[categories]\nsex = \"gt\"\n",
        )
        .unwrap();
        let interner = Interner::default();
        let sex_of = |id: &'static str| {
            let mut f = RowFields::default();
            f.set(Kind::FullName, "Lê Thị Hoa");
            f.set(Kind::PersonalId, id);
            let (r, _) = build(f, &cfg, &interner, 2, &mut Vec::new()).unwrap();
            r.id_sex
        };
        assert_eq!(sex_of("001190000001"), 2); // 4th digit 1: a woman born in the 1900s
        assert_eq!(sex_of("001290000001"), 1); // 2: a man born in the 2000s
        assert_eq!(sex_of("01190000001"), 2); // a leading zero lost: still readable
        assert_eq!(sex_of(""), 0);
        assert_eq!(sex_of("12345"), 0);
    }
}
