//! The independent error model (docs/ERROR_MODEL.md): the generated population written as
//! a sector list (`stt,ho_ten,ngay_sinh,gioi_tinh,so_dinh_danh,dien_thoai,dia_chi,xa,tinh,
//! ma_xa`), every record with its own errors, duplicates made independently from the
//! person's true details, and hard negatives (twins, same-name siblings, namesakes).
//!
//! It reads the citizen rows of [`crate::generate`] through [`SectorWriter`], so the people
//! are the same as dancu's own generator makes; only the way they are written differs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::Write;

use dancu_domain::citizen::CSV_COLUMNS;
use dancu_domain::units::{admin_units, Conversion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::geo::{Detail, World};
use crate::typos::{drop_marks, nfd, typo};

/// The header of the sector list.
pub const SECTOR_COLUMNS: [&str; 10] = [
    "stt",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "so_dinh_danh",
    "dien_thoai",
    "dia_chi",
    "xa",
    "tinh",
    "ma_xa",
];

/// A duplicate is written between 1 and this many rows after the record that caused it.
const MAX_DELAY: u64 = 5000;

/// The rates of one profile (docs/ERROR_MODEL.md). Shares are per record unless noted.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    /// Share of duplicate records whose person moved (another commune, half another province).
    pub moved: f64,
    /// Share of a mover's records without ID.
    pub mover_no_id: f64,
    pub address_missing: f64,
    /// Share of records with the commune and province appended to the street part.
    pub address_long: f64,
    pub legacy_code: f64,
    pub code_missing: f64,
    pub place_missing: f64,
    pub id_missing: f64,
    pub id_cmnd: f64,
    pub id_transposed: f64,
    pub id_digit: f64,
    pub id_lost_zero: f64,
    /// Share of people who give a phone.
    pub phone_present: f64,
    /// Share of duplicate records whose phone differs.
    pub phone_changed: f64,
    pub date_missing: f64,
    pub date_year_off: f64,
    pub date_digit: f64,
    pub date_jan1: f64,
    pub date_year_only: f64,
    pub date_swapped: f64,
    pub sex_missing: f64,
    pub sex_wrong: f64,
    pub upper: f64,
    pub lower: f64,
    pub marks_some: f64,
    pub telex: f64,
    pub typo: f64,
    pub middle_missing: f64,
    pub spelling: f64,
    pub nfd: f64,
    /// Hard negatives, per person.
    pub twins: f64,
    pub same_name_sibling: f64,
    pub namesake: f64,
}

impl Profile {
    /// The development profile: tune and test on it.
    pub fn dev() -> Profile {
        Profile {
            name: "independent-dev",
            moved: 0.15,
            mover_no_id: 0.5,
            address_missing: 0.10,
            address_long: 0.25,
            legacy_code: 0.20,
            code_missing: 0.15,
            place_missing: 0.08,
            id_missing: 0.45,
            id_cmnd: 0.05,
            id_transposed: 0.02,
            id_digit: 0.02,
            id_lost_zero: 0.02,
            phone_present: 0.5,
            phone_changed: 0.4,
            date_missing: 0.04,
            date_year_off: 0.03,
            date_digit: 0.03,
            date_jan1: 0.04,
            date_year_only: 0.03,
            date_swapped: 0.015,
            sex_missing: 0.15,
            sex_wrong: 0.005,
            upper: 0.15,
            lower: 0.02,
            marks_some: 0.12,
            telex: 0.03,
            typo: 0.06,
            middle_missing: 0.05,
            spelling: 0.02,
            nfd: 0.03,
            twins: 0.015,
            same_name_sibling: 0.003,
            namesake: 0.01,
        }
    }

    /// The held-out profile: other rates; measure on it, never tune on it.
    pub fn heldout() -> Profile {
        Profile {
            name: "independent-heldout",
            moved: 0.22,
            mover_no_id: 0.6,
            address_missing: 0.14,
            address_long: 0.35,
            legacy_code: 0.28,
            code_missing: 0.10,
            place_missing: 0.12,
            id_missing: 0.55,
            id_cmnd: 0.04,
            id_transposed: 0.03,
            id_digit: 0.015,
            id_lost_zero: 0.03,
            phone_present: 0.4,
            phone_changed: 0.5,
            date_missing: 0.06,
            date_year_off: 0.04,
            date_digit: 0.02,
            date_jan1: 0.05,
            date_year_only: 0.04,
            date_swapped: 0.01,
            sex_missing: 0.25,
            sex_wrong: 0.003,
            upper: 0.25,
            lower: 0.01,
            marks_some: 0.18,
            telex: 0.02,
            typo: 0.04,
            middle_missing: 0.07,
            spelling: 0.03,
            nfd: 0.05,
            twins: 0.02,
            same_name_sibling: 0.005,
            namesake: 0.015,
        }
    }

    /// `independent-dev` or `independent-heldout`.
    pub fn by_name(name: &str) -> Option<Profile> {
        match name {
            "independent-dev" => Some(Profile::dev()),
            "independent-heldout" => Some(Profile::heldout()),
            _ => None,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectorStats {
    /// People of the population (hard negatives not counted).
    pub people: u64,
    pub hard_negatives: u64,
    pub records: u64,
    /// How often each error was drawn.
    pub errors: BTreeMap<&'static str, u64>,
}

impl SectorStats {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} records of {} people and {} hard negatives; errors drawn:",
            self.records, self.people, self.hard_negatives
        );
        for (k, n) in &self.errors {
            s.push_str(&format!(" {k} {n}"));
        }
        s
    }
}

/// A person's true details.
#[derive(Debug, Clone)]
struct Person {
    pid: u64,
    family: String,
    middle: String,
    given: String,
    year: i32,
    /// Month and day, when known.
    md: Option<(u32, u32)>,
    female: bool,
    id: String,
    cmnd: String,
    commune: u32,
    detail: String,
    phone: Option<String>,
}

/// Given names for twins (independent of the generator's name lists).
const TWIN_NAMES: &[&str] = &[
    "An", "Anh", "Bình", "Châu", "Chi", "Dũng", "Duy", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng",
    "Huy", "Hương", "Khánh", "Khoa", "Lan", "Linh", "Long", "Mai", "Minh", "My", "Nam", "Ngân", "Ngọc",
    "Nhung", "Phong", "Phúc", "Phương", "Quân", "Quang", "Sơn", "Tâm", "Thảo", "Thắng", "Thành", "Trang",
    "Trung", "Tú", "Tuấn", "Vy", "Yến",
];

const PHONE_PREFIXES: &[&str] = &[
    "032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098", "081", "082", "083",
    "084", "085", "088", "091", "094", "070", "076", "077", "078", "079", "089", "090", "093", "056", "058",
];

/// A record waiting for its turn: due row, sequence, person, row body without `stt`.
type Pending = (u64, u64, u64, Vec<u8>);

/// Receives the citizen CSV of [`crate::generate`] and writes the sector list.
pub(crate) struct SectorWriter<W: Write, T: Write> {
    out: W,
    truth: T,
    profile: Profile,
    rate: f64,
    rng: ChaCha8Rng,
    world: &'static World,
    /// Index of a 2025 commune code in `world.communes`.
    commune_index: std::collections::HashMap<[u8; 5], u32>,
    partial: Vec<u8>,
    header_seen: bool,
    /// Rows written (list order), for the delays.
    row: u64,
    seq: u64,
    next_pid: u64,
    /// (due row, sequence, person, row body without `stt`).
    pending: BinaryHeap<Reverse<Pending>>,
    buf: Vec<u8>,
    truth_buf: Vec<u8>,
    pub(crate) stats: SectorStats,
    /// Whether the record being rendered is written in NFD.
    nfd_pending: bool,
    cols: [usize; 8],
}

impl<W: Write, T: Write> SectorWriter<W, T> {
    pub(crate) fn new(
        seed: u64,
        profile: Profile,
        rate: f64,
        mut out: W,
        mut truth: T,
    ) -> std::io::Result<Self> {
        let world = World::get();
        let commune_index = world.communes.iter().enumerate().map(|(i, c)| (c.code, i as u32)).collect();
        out.write_all(SECTOR_COLUMNS.join(",").as_bytes())?;
        out.write_all(b"\n")?;
        truth.write_all(b"record_id,person_id\n")?;
        let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).expect("known column");
        Ok(SectorWriter {
            out,
            truth,
            profile,
            rate,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5ec7_0a11_15e7_u64),
            world,
            commune_index,
            partial: Vec::new(),
            header_seen: false,
            row: 0,
            seq: 0,
            next_pid: 0,
            pending: BinaryHeap::new(),
            buf: Vec::with_capacity(1 << 18),
            truth_buf: Vec::with_capacity(1 << 16),
            stats: SectorStats::default(),
            nfd_pending: false,
            cols: [
                col("personal_id"),
                col("family_name"),
                col("middle_name"),
                col("given_name"),
                col("birth_date"),
                col("sex"),
                col("permanent_unit"),
                col("permanent_detail"),
            ],
        })
    }

    fn count(&mut self, what: &'static str) {
        *self.stats.errors.entry(what).or_default() += 1;
    }

    fn hit(&mut self, p: f64, what: &'static str) -> bool {
        let yes = self.rng.gen_bool(p.clamp(0.0, 1.0));
        if yes {
            self.count(what);
        }
        yes
    }

    /// One citizen row of the generator.
    fn take_row(&mut self, line: &[u8]) -> std::io::Result<()> {
        let f = crate::dups::split_row(line);
        let [id, fam, mid, giv, birth, sex, unit, detail] = self.cols;
        let (year, md) = parse_date(&f[birth]);
        let Some(year) = year else { return Ok(()) };
        let commune = self.commune_of(&f[unit]);
        let Some(commune) = commune else { return Ok(()) };
        let cmnd = f.get(CSV_COLUMNS.iter().position(|c| *c == "cmnd").unwrap()).cloned().unwrap_or_default();
        let phone =
            if self.rng.gen_bool(self.profile.phone_present) { Some(self.random_phone()) } else { None };
        let p = Person {
            pid: self.next_pid,
            family: f[fam].clone(),
            middle: f[mid].clone(),
            given: f[giv].clone(),
            year,
            md,
            female: f[sex] == "F",
            id: f[id].clone(),
            cmnd,
            commune,
            detail: f[detail].clone(),
            phone,
        };
        self.next_pid += 1;
        self.stats.people += 1;
        self.person(&p)?;
        self.hard_negatives(&p)?;
        Ok(())
    }

    fn commune_of(&self, unit: &str) -> Option<u32> {
        let (list, code) = unit.split_once(':')?;
        let code = match list {
            "2025" => code.to_string(),
            _ => match admin_units().convert_legacy(code) {
                Conversion::One(u) => u.code().to_string(),
                Conversion::Split(v) => v.first()?.code().to_string(),
                Conversion::Unmapped => return None,
            },
        };
        let key: [u8; 5] = code.as_bytes().try_into().ok()?;
        self.commune_index.get(&key).copied()
    }

    /// The person's first record now, and duplicates later.
    fn person(&mut self, p: &Person) -> std::io::Result<()> {
        let body = self.render(p, false);
        self.write_record(p.pid, &body)?;
        if self.rng.gen_bool(self.rate.min(1.0)) {
            let n = if self.rng.gen_bool(0.2) { 2 } else { 1 };
            for _ in 0..n {
                let moved = self.hit(self.profile.moved, "moved");
                let q = if moved { self.moved(p) } else { p.clone() };
                let body = self.render(&q, true);
                let due = self.row + self.rng.gen_range(1..=MAX_DELAY);
                self.seq += 1;
                self.pending.push(Reverse((due, self.seq, p.pid, body)));
            }
        }
        self.release()
    }

    fn hard_negatives(&mut self, p: &Person) -> std::io::Result<()> {
        let mut extra = Vec::new();
        if self.hit(self.profile.twins, "hard_twin") {
            let mut q = p.clone();
            let mut g = TWIN_NAMES[self.rng.gen_range(0..TWIN_NAMES.len())];
            while g == p.given {
                g = TWIN_NAMES[self.rng.gen_range(0..TWIN_NAMES.len())];
            }
            // Twins often share a word: "Minh Anh" / "Minh Châu" (the middle name here).
            q.given = g.to_string();
            q.female = self.rng.gen_bool(0.5);
            q.id = self.other_id(&p.id, p.year);
            q.cmnd.clear();
            extra.push(q);
        }
        if self.hit(self.profile.same_name_sibling, "hard_same_name_sibling") {
            let mut q = p.clone();
            // Born a few years before or after (never after the generation date).
            let gap = self.rng.gen_range(1..=8);
            q.year = if p.year + gap <= 2025 { p.year + gap } else { p.year - gap };
            q.md = Some(self.random_md());
            q.id = self.other_id(&p.id, q.year);
            q.cmnd.clear();
            q.phone = None;
            extra.push(q);
        }
        if self.hit(self.profile.namesake, "hard_namesake") {
            let mut q = p.clone();
            let mut md = self.random_md();
            while Some(md) == p.md {
                md = self.random_md();
            }
            q.md = Some(md);
            q.id = self.other_id(&p.id, p.year);
            q.cmnd.clear();
            q.detail = self.new_detail(p.commune);
            q.phone =
                if self.rng.gen_bool(self.profile.phone_present) { Some(self.random_phone()) } else { None };
            extra.push(q);
        }
        for mut q in extra {
            q.pid = self.next_pid;
            self.next_pid += 1;
            self.stats.hard_negatives += 1;
            self.person(&q)?;
        }
        Ok(())
    }

    fn random_md(&mut self) -> (u32, u32) {
        let m = self.rng.gen_range(1..=12);
        (m, self.rng.gen_range(1..=28))
    }

    /// Another valid-looking ID of the same prefix and century digit, for birth year `year`.
    fn other_id(&mut self, id: &str, year: i32) -> String {
        if id.len() != 12 {
            return String::new();
        }
        let mut s = id[..4].to_string();
        s.push_str(&format!("{:02}", year.rem_euclid(100)));
        s.push_str(&format!("{:06}", self.rng.gen_range(0..1_000_000)));
        s
    }

    fn random_phone(&mut self) -> String {
        let p = PHONE_PREFIXES[self.rng.gen_range(0..PHONE_PREFIXES.len())];
        format!("{p}{:07}", self.rng.gen_range(0..10_000_000))
    }

    fn new_detail(&mut self, ci: u32) -> String {
        let c = &self.world.communes[ci as usize];
        let d = Detail::random(&mut self.rng, c);
        let mut v = Vec::new();
        d.write(&mut v);
        String::from_utf8(v).expect("UTF-8 detail")
    }

    /// The person after a move: another commune (half the time another province), another
    /// house; the ID is often not given.
    fn moved(&mut self, p: &Person) -> Person {
        let mut q = p.clone();
        let ci = if self.rng.gen_bool(0.5) {
            self.rng.gen_range(0..self.world.communes.len() as u32)
        } else {
            self.world.neighbour(&mut self.rng, p.commune)
        };
        q.commune = ci;
        q.detail = self.new_detail(ci);
        if self.hit(self.profile.mover_no_id, "mover_no_id") {
            q.id.clear();
            q.cmnd.clear();
        }
        if self.rng.gen_bool(0.5) {
            q.phone = None;
        }
        q
    }

    /// One record of `p` with its own errors: the row without `stt`.
    fn render(&mut self, p: &Person, duplicate: bool) -> Vec<u8> {
        let pr = self.profile.clone();
        // Names.
        let mut family = p.family.clone();
        let mut middle: Vec<String> =
            p.middle.split(' ').filter(|w| !w.is_empty()).map(String::from).collect();
        let mut given = p.given.clone();
        if !middle.is_empty() && self.hit(pr.middle_missing, "middle_missing") {
            let i = self.rng.gen_range(0..middle.len());
            middle.remove(i);
        }
        let mut words: Vec<String> = std::iter::once(std::mem::take(&mut family))
            .chain(middle)
            .chain(std::iter::once(std::mem::take(&mut given)))
            .filter(|w| !w.is_empty())
            .collect();
        if self.hit(pr.spelling, "name_spelling") {
            let i = self.rng.gen_range(0..words.len());
            words[i] = spelling_variant(&words[i]);
        }
        if self.hit(pr.typo, "name_typo") {
            let i = self.rng.gen_range(0..words.len());
            if let Some(w) = typo(&mut self.rng, &words[i]) {
                words[i] = w;
            }
        }
        if self.hit(pr.telex, "name_telex") {
            let cands: Vec<usize> = (0..words.len()).filter(|&i| !words[i].is_ascii()).collect();
            if !cands.is_empty() {
                let i = cands[self.rng.gen_range(0..cands.len())];
                let inside = self.rng.gen_bool(0.6);
                words[i] = telex_inside(&words[i], inside);
            }
        }
        // Tone marks dropped in only some fields: the name, the address, or some name words.
        let (mut marks_name_words, mut marks_address) = (false, false);
        if self.hit(pr.marks_some, "marks_dropped_some") {
            match self.rng.gen_range(0..3) {
                0 => {
                    for w in &mut words {
                        *w = drop_marks(w);
                    }
                }
                1 => marks_address = true,
                _ => marks_name_words = true,
            }
        }
        if marks_name_words {
            for w in &mut words {
                if self.rng.gen_bool(0.5) {
                    *w = drop_marks(w);
                }
            }
        }
        let mut name = words.join(" ");
        if self.hit(pr.upper, "name_upper") {
            name = name.to_uppercase();
        } else if self.hit(pr.lower, "name_lower") {
            name = name.to_lowercase();
        }

        // Birth date.
        let date = self.render_date(p);
        // Sex.
        let sex = if self.hit(pr.sex_missing, "sex_missing") {
            ""
        } else {
            let female = if self.hit(pr.sex_wrong, "sex_wrong") { !p.female } else { p.female };
            if female {
                "Nữ"
            } else {
                "Nam"
            }
        };
        // Identifier.
        let id = self.render_id(p);
        // Phone.
        let phone = match &p.phone {
            Some(ph) => {
                let ph = if duplicate && self.hit(pr.phone_changed, "phone_changed") {
                    self.random_phone()
                } else {
                    ph.clone()
                };
                phone_format(&mut self.rng, &ph)
            }
            None => String::new(),
        };
        // Address.
        let (detail, xa, tinh, code) = self.render_address(p, marks_address);

        let mut row = Vec::with_capacity(160);
        for (i, v) in [name, date, sex.to_string(), id, phone, detail, xa, tinh, code].iter().enumerate() {
            let v = if self.nfd_now(i) { nfd(v) } else { v.clone() };
            row.push(b',');
            crate::numfmt::push_field(&mut row, v.as_bytes());
        }
        self.nfd_pending = false;
        row
    }

    fn render_date(&mut self, p: &Person) -> String {
        let pr = self.profile.clone();
        let mut year = p.year;
        let mut md = p.md;
        let r = self.rng.gen::<f64>();
        let elderly = p.year < 1960;
        let mut acc = 0.0;
        let mut pick = |x: f64| {
            acc += x;
            r < acc
        };
        if pick(pr.date_missing) {
            self.count("date_missing");
            return String::new();
        } else if pick(pr.date_year_off) {
            self.count("date_year_off");
            year += if self.rng.gen_bool(0.5) { 1 } else { -1 };
        } else if pick(pr.date_digit) {
            self.count("date_digit_typo");
            if let Some((m, d)) = md {
                let b = format!("{d:02}{m:02}{year:04}").into_bytes();
                for _ in 0..10 {
                    let i = self.rng.gen_range(0..8);
                    if i == 4 {
                        continue; // the century digit is rarely mistyped
                    }
                    let mut c = b.clone();
                    c[i] = b'0' + (c[i] - b'0' + self.rng.gen_range(1..10u8)) % 10;
                    let s = std::str::from_utf8(&c).unwrap();
                    let (dd, mm, yy) = (
                        s[0..2].parse::<u32>().unwrap(),
                        s[2..4].parse::<u32>().unwrap(),
                        s[4..8].parse::<i32>().unwrap(),
                    );
                    if chrono::NaiveDate::from_ymd_opt(yy, mm, dd).is_some() && yy <= 2026 {
                        year = yy;
                        md = Some((mm, dd));
                        break;
                    }
                }
            } else {
                year += if self.rng.gen_bool(0.5) { 10 } else { -10 };
            }
        } else if pick(pr.date_jan1 * if elderly { 2.0 } else { 1.0 }) {
            self.count("date_jan1");
            md = Some((1, 1));
        } else if pick(pr.date_year_only * if elderly { 3.0 } else { 0.5 }) {
            self.count("date_year_only");
            md = None;
        } else if pick(pr.date_swapped) {
            if let Some((m, d)) = md {
                if d <= 12 && d != m {
                    self.count("date_swapped");
                    md = Some((d, m));
                }
            }
        }
        match md {
            Some((m, d)) => format!("{d:02}/{m:02}/{year:04}"),
            None => format!("{year:04}"),
        }
    }

    fn render_id(&mut self, p: &Person) -> String {
        let pr = self.profile.clone();
        let elderly_or_child = p.year < 1955 || p.year > 2012;
        if p.id.is_empty() || self.hit(pr.id_missing * if elderly_or_child { 1.3 } else { 1.0 }, "id_missing")
        {
            return String::new();
        }
        if !p.cmnd.is_empty() && self.hit(pr.id_cmnd, "id_cmnd") {
            return p.cmnd.clone();
        }
        let mut b = p.id.clone().into_bytes();
        if self.hit(pr.id_transposed, "id_transposed") {
            let i = self.rng.gen_range(0..b.len() - 1);
            b.swap(i, i + 1);
        } else if self.hit(pr.id_digit, "id_digit") {
            let i = self.rng.gen_range(0..b.len());
            b[i] = b'0' + (b[i] - b'0' + self.rng.gen_range(1..10u8)) % 10;
        } else if b[0] == b'0' && self.hit(pr.id_lost_zero, "id_lost_zero") {
            b.remove(0);
        }
        String::from_utf8(b).unwrap()
    }

    /// `dia_chi`, `xa`, `tinh`, `ma_xa`.
    fn render_address(&mut self, p: &Person, drop: bool) -> (String, String, String, String) {
        let pr = self.profile.clone();
        let units = admin_units();
        let c = &self.world.communes[p.commune as usize];
        let code = std::str::from_utf8(&c.code).unwrap().to_string();
        let info = units.commune_2025(&code);
        let (mut xa, mut tinh) = match info {
            Some(i) => (with_kind(&i.kind, &i.name), i.province_name.clone()),
            None => (String::new(), String::new()),
        };
        let mut ma_xa = format!("2025:{code}");
        if self.hit(pr.legacy_code, "legacy_code") {
            let li = self.world.legacy_in(&mut self.rng, p.commune);
            let lcode = std::str::from_utf8(&self.world.legacy[li as usize].code).unwrap().to_string();
            if matches!(units.convert_legacy(&lcode), Conversion::Split(_)) {
                self.count("legacy_code_split");
            }
            ma_xa = format!("legacy:{lcode}");
            if let Some(l) = units.commune_legacy(&lcode) {
                // An old list: the old names too.
                if self.rng.gen_bool(0.6) {
                    xa = with_kind(&l.kind, &l.name);
                    tinh = l.province_name.clone();
                }
            }
        } else if self.hit(pr.code_missing, "code_missing") {
            ma_xa.clear();
        }
        // The unit-kind word comes and goes.
        if self.rng.gen_bool(0.4) {
            xa = strip_kind(&xa);
            tinh = strip_kind(&tinh);
        }
        if self.hit(pr.place_missing, "place_missing") {
            xa.clear();
            if self.rng.gen_bool(0.5) {
                tinh.clear();
            }
        }
        let detail = if self.hit(pr.address_missing, "address_missing") {
            String::new()
        } else {
            let mut d = address_format(&mut self.rng, &p.detail);
            if self.hit(pr.address_long, "address_long") && !xa.is_empty() {
                d = format!("{d}, {xa}, {tinh}");
            }
            d
        };
        let (mut detail, mut xa, mut tinh) = (detail, xa, tinh);
        if drop {
            detail = drop_marks(&detail);
            xa = drop_marks(&xa);
            tinh = drop_marks(&tinh);
        }
        (detail, xa, tinh, ma_xa)
    }

    fn nfd_now(&mut self, i: usize) -> bool {
        if i == 0 {
            self.nfd_pending = self.rng.gen_bool(self.profile.nfd);
            if self.nfd_pending {
                self.count("nfd");
            }
        }
        self.nfd_pending
    }

    fn write_record(&mut self, pid: u64, body: &[u8]) -> std::io::Result<()> {
        self.row += 1;
        self.stats.records += 1;
        let rid = self.stats.records;
        self.buf.extend_from_slice(format!("S{rid:09}").as_bytes());
        self.buf.extend_from_slice(body);
        self.buf.push(b'\n');
        self.truth_buf.extend_from_slice(format!("S{rid:09},P{pid:09}\n").as_bytes());
        if self.buf.len() > (1 << 18) {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
            self.truth.write_all(&self.truth_buf)?;
            self.truth_buf.clear();
        }
        Ok(())
    }

    fn release(&mut self) -> std::io::Result<()> {
        while let Some(Reverse((due, ..))) = self.pending.peek() {
            if *due > self.row {
                break;
            }
            let Reverse((_, _, pid, body)) = self.pending.pop().unwrap();
            self.write_record(pid, &body)?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> std::io::Result<SectorStats> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.take_row(&line)?;
        }
        while let Some(Reverse((_, _, pid, body))) = self.pending.pop() {
            self.write_record(pid, &body)?;
        }
        self.out.write_all(&self.buf)?;
        self.truth.write_all(&self.truth_buf)?;
        self.out.flush()?;
        self.truth.flush()?;
        Ok(self.stats)
    }
}

impl<W: Write, T: Write> Write for SectorWriter<W, T> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut start = 0;
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                self.partial.extend_from_slice(&data[start..i]);
                let line = std::mem::take(&mut self.partial);
                if self.header_seen {
                    self.take_row(&line)?;
                } else {
                    self.header_seen = true;
                }
                start = i + 1;
            }
        }
        self.partial.extend_from_slice(&data[start..]);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn parse_date(s: &str) -> (Option<i32>, Option<(u32, u32)>) {
    let mut it = s.split('-');
    let y = it.next().and_then(|y| y.parse().ok());
    let m = it.next().and_then(|m| m.parse().ok());
    let d = it.next().and_then(|d| d.parse().ok());
    (y, m.zip(d))
}

/// The unit name with its kind word (`Xã Yên Sơn`), unless the name already has it.
fn with_kind(kind: &str, name: &str) -> String {
    let k = kind.trim();
    let mut c = k.chars();
    let word: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => return name.to_string(),
    };
    if name.to_lowercase().starts_with(&k.to_lowercase()) {
        name.to_string()
    } else {
        format!("{word} {name}")
    }
}

/// Without the leading unit-kind word (`Xã`, `Phường`, `Tỉnh`, `Thành phố`, `Đặc khu`).
fn strip_kind(s: &str) -> String {
    for k in ["Thành phố ", "Thị trấn ", "Đặc khu ", "Phường ", "Xã ", "Tỉnh ", "Thị xã ", "Huyện "]
    {
        if let Some(rest) = s.strip_prefix(k) {
            return rest.to_string();
        }
    }
    s.to_string()
}

/// The street part of an address as different clerks write it.
fn address_format<R: Rng>(rng: &mut R, d: &str) -> String {
    match rng.gen_range(0..6) {
        0 | 1 => d.to_string(),
        2 => d.replacen("Số ", "", 1).replace(" đường ", " ").replace(" phố ", " "),
        3 => d.replacen("Số ", "số nhà ", 1).replace(" đường ", ", ").replace(" phố ", ", "),
        4 => d.replace("Thôn ", "thôn ").replace("Xóm ", "xóm ").replace("Ấp ", "ấp ").replace(", ", " "),
        _ => d.replacen("Số ", "", 1).replace(" ngõ ", "/").replace("Tổ dân phố", "TDP"),
    }
}

fn phone_format<R: Rng>(rng: &mut R, p: &str) -> String {
    match rng.gen_range(0..5) {
        0 => format!("+84{}", &p[1..]),
        1 => format!("84{}", &p[1..]),
        2 => format!("{} {} {}", &p[..4], &p[4..7], &p[7..]),
        _ => p.to_string(),
    }
}

/// i/y and tone-placement variants: `Vy`→`Vi`, `Lý`→`Lí`, `Thủy`→`Thuỷ`, `Hòa`→`Hoà`.
fn spelling_variant(w: &str) -> String {
    let pairs = [("ủy", "uỷ"), ("òa", "oà"), ("óa", "oá"), ("ý", "í"), ("ỳ", "ì"), ("y", "i")];
    for (a, b) in pairs {
        if w.ends_with(a) && w.chars().count() > a.chars().count() {
            return format!("{}{}", &w[..w.len() - a.len()], b);
        }
    }
    w.to_string()
}

/// The word typed in Telex with the input method off, the keys typed right after their
/// vowel (`Traafn`, inside the word) or at its end (`Traanf`).
fn telex_inside(w: &str, inside: bool) -> String {
    let mut out = String::new();
    let mut tail = String::new();
    let mut last_base: Option<char> = None;
    for c in w.nfd() {
        if is_combining_mark(c) {
            let key = match c {
                '\u{0302}' => last_base.map(|b| b.to_ascii_lowercase()),
                '\u{0306}' | '\u{031B}' => Some('w'),
                '\u{0301}' => Some('s'),
                '\u{0300}' => Some('f'),
                '\u{0309}' => Some('r'),
                '\u{0303}' => Some('x'),
                '\u{0323}' => Some('j'),
                _ => None,
            };
            if let Some(k) = key {
                let vowel_mark = matches!(c, '\u{0302}' | '\u{0306}' | '\u{031B}');
                if inside || vowel_mark {
                    out.push(k);
                } else {
                    tail.push(k);
                }
            }
        } else {
            match c {
                'đ' => out.push_str("dd"),
                'Đ' => out.push_str("Dd"),
                c => out.push(c),
            }
            last_base = Some(c);
        }
    }
    out.push_str(&tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telex_keys_inside_words() {
        assert_eq!(telex_inside("Trần", true), "Traafn");
        assert_eq!(telex_inside("Trần", false), "Traanf");
        assert_eq!(telex_inside("Đinh", true), "Ddinh");
        assert_eq!(telex_inside("Nguyễn", false), "Nguyeenx");
    }

    #[test]
    fn spelling_variants() {
        assert_eq!(spelling_variant("Vy"), "Vi");
        assert_eq!(spelling_variant("Lý"), "Lí");
        assert_eq!(spelling_variant("Thủy"), "Thuỷ");
    }
}
