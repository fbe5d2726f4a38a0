//! The generator loop: one household at a time, identity details for each member (ID
//! numbers, places, ethnicity, religion, old CMND, life status, temporary residence), and
//! the CSV rows. Nothing but the current household is kept in memory.

use std::io::Write;

use chrono::{Datelike, Days, NaiveDate};
use dancu_domain::catalog;
use dancu_domain::personal_id::serial_for;
use dancu_domain::{LifeStatus, PartialDate, PersonalId, Relation, Sex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dups::Duplicator;
use crate::geo::{Detail, World};
use crate::households::{truncate, Builder, Member, Parent, Shapes};
use crate::names::Names;
use crate::numfmt::{push_field, push_padded, push_u32};
use crate::weighted::Weighted;
use crate::{ErrorKind, GenConfig, GenError, GenStats};

/// Provinces whose cities draw people on temporary residence (tạm trú): Hà Nội, Hồ Chí
/// Minh City, Đồng Nai, Bắc Ninh, Hải Phòng, Đà Nẵng.
const HUBS: [u8; 6] = [1, 79, 75, 24, 31, 48];

/// Rows are collected into chunks of about this many bytes before they are written.
const CHUNK: usize = 256 * 1024;

/// The day the 2025 unit list came into force.
fn reform_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Place {
    Legacy(u32),
    New(u32),
}

/// What [`Generator::identify`] adds to a member.
#[derive(Debug, Clone, Copy)]
struct Identity {
    id: [u8; 12],
    birth: PartialDate,
    birth_place: Place,
    hometown: u32,
    ethnicity: u8,
    religion: u8,
    temporary: Option<(u32, u16, Detail)>,
    cmnd: Option<u32>,
    status: LifeStatus,
    death: Option<PartialDate>,
    nickname: &'static str,
}

pub(crate) struct Generator<'a> {
    world: &'static World,
    builder: Builder<'a>,
    rng: ChaCha8Rng,
    seed: u64,
    today: NaiveDate,
    /// Communes households may live in (the configured provinces).
    allowed: Vec<u32>,
    /// The allowed communes of the hub provinces.
    hubs: Vec<u32>,
    ethnicity: Weighted<u8>,
    religion: Weighted<u8>,
    ethnicity_codes: Vec<&'static str>,
    religion_codes: Vec<&'static str>,
    /// Numbers given so far per (prefix province, century/sex digit, 2-digit year).
    id_counters: Vec<u32>,
    cmnd_counter: u64,
    cmnd_offset: u64,
    members: Vec<Member>,
    identities: Vec<Identity>,
    line: Vec<u8>,
    /// With `--duplicates`: record ids, phones and extra records.
    pub(crate) dups: Option<Duplicator>,
}

/// SplitMix64: a well-mixed hash of a seed and a key.
fn mix(seed: u64, key: u64) -> u64 {
    let mut z = seed ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 3^18: coprime with 10^9, so `n ↦ n·A + b mod 10^9` never repeats a CMND number.
const CMND_MULTIPLIER: u64 = 387_420_489;

impl<'a> Generator<'a> {
    pub(crate) fn new(cfg: &GenConfig, names: &'a Names, shapes: &'a Shapes) -> Result<Self, GenError> {
        let world = World::get();
        let mut allowed = Vec::new();
        if cfg.provinces.is_empty() {
            allowed.extend(0..world.communes.len() as u32);
        } else {
            for p in &cfg.provinces {
                let p = p.trim();
                // "1" is read as "01"; longer codes are not province codes.
                let range = (1..=2)
                    .contains(&p.len())
                    .then(|| p.parse::<u8>().ok())
                    .flatten()
                    .and_then(|code| world.province_range(code))
                    .ok_or_else(|| GenError::UnknownProvince(p.to_string()))?;
                allowed.extend(range.0..range.1);
            }
            allowed.sort_unstable();
            allowed.dedup();
        }
        let hubs = allowed
            .iter()
            .copied()
            .filter(|&ci| HUBS.contains(&world.communes[ci as usize].province))
            .collect();
        let ethnicities = catalog::ethnicities();
        let religions = catalog::religions();
        Ok(Generator {
            world,
            builder: Builder { shapes, names, today: cfg.today },
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            seed: cfg.seed,
            today: cfg.today,
            allowed,
            hubs,
            ethnicity: Weighted::new(ethnicities.iter().enumerate().map(|(i, e)| (i as u8, e.share))),
            religion: Weighted::new(religions.iter().enumerate().map(|(i, e)| (i as u8, e.share))),
            ethnicity_codes: ethnicities.iter().map(|e| e.code.as_str()).collect(),
            religion_codes: religions.iter().map(|e| e.code.as_str()).collect(),
            id_counters: vec![0; 100 * 10 * 100],
            cmnd_counter: 0,
            cmnd_offset: mix(cfg.seed, u64::MAX) % 1_000_000_000,
            members: Vec::with_capacity(16),
            identities: Vec::with_capacity(16),
            line: Vec::with_capacity(CHUNK + 16 * 1024),
            dups: None,
        })
    }

    /// Writes the rows to `out`, and with duplicates the truth rows to `truth`.
    pub(crate) fn run<W: Write>(
        &mut self,
        people: u64,
        out: &mut W,
        truth: &mut dyn Write,
    ) -> Result<GenStats, GenError> {
        out.write_all(dancu_domain::citizen::CSV_COLUMNS.join(",").as_bytes())?;
        if self.dups.is_some() {
            out.write_all(Duplicator::header())?;
            truth.write_all(Duplicator::truth_header())?;
        }
        out.write_all(b"\n")?;
        let mut stats = GenStats { people: 0, households: 0, records: 0, errors: [0; ErrorKind::COUNT] };
        while stats.people < people {
            let ci = self.allowed[self.rng.gen_range(0..self.allowed.len())];
            let region = self.world.region(ci);
            let mut members = std::mem::take(&mut self.members);
            self.builder.household(&mut self.rng, region, &mut members);
            truncate(&mut members, usize::try_from(people - stats.people).unwrap_or(usize::MAX));
            let detail = Detail::random(&mut self.rng, &self.world.communes[ci as usize]);
            self.identities.clear();
            for i in 0..members.len() {
                let id = self.identify(&members, i, ci)?;
                self.identities.push(id);
            }
            stats.households += 1;
            for i in 0..members.len() {
                let start = self.line.len();
                self.write_row(&members, i, ci, &detail, stats.households);
                if let Some(d) = self.dups.as_mut() {
                    d.after_row(&mut self.line, start, ci, &members[i]);
                }
            }
            if self.line.len() >= CHUNK {
                self.flush(out, truth)?;
            }
            stats.people += members.len() as u64;
            self.members = members;
        }
        if let Some(d) = self.dups.as_mut() {
            d.finish(&mut self.line);
        }
        self.flush(out, truth)?;
        out.flush()?;
        truth.flush()?;
        stats.records = stats.people;
        if let Some(d) = &self.dups {
            stats.records += d.duplicates;
            stats.errors = d.errors;
        }
        Ok(stats)
    }

    fn flush<W: Write>(&mut self, out: &mut W, truth: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(&self.line)?;
        self.line.clear();
        if let Some(d) = self.dups.as_mut() {
            truth.write_all(&d.truth)?;
            d.truth.clear();
        }
        Ok(())
    }

    fn next_id(&mut self, province: u8, sex: Sex, year: i32) -> Result<[u8; 12], GenError> {
        let digit = ((year - 1900) / 100) * 2 + if sex == Sex::Female { 1 } else { 0 };
        let key = province as usize * 1000 + digit as usize * 100 + (year % 100) as usize;
        let n = self.id_counters[key];
        let prov = [b'0' + province / 10, b'0' + province % 10];
        let prov = std::str::from_utf8(&prov).unwrap();
        if n >= 1_000_000 {
            return Err(GenError::IdSpaceExhausted { province: format!("0{prov}"), year });
        }
        self.id_counters[key] = n + 1;
        // Each (prefix, year, sex) starts at a seed-dependent place in the permutation, so
        // two seeds do not hand out the same numbers in the same order.
        let start = mix(self.seed, key as u64) % 1_000_000;
        let id = PersonalId::compose(prov, sex, year, serial_for(start + n as u64))
            .map_err(|v| GenError::Internal(v.to_string()))?;
        Ok(id.as_str().as_bytes().try_into().unwrap())
    }

    fn hometown_of_lineage(&mut self, ci: u32) -> u32 {
        let r = self.rng.gen::<f64>();
        if r < 0.5 {
            self.world.legacy_in(&mut self.rng, ci)
        } else if r < 0.75 {
            let n = self.world.neighbour(&mut self.rng, ci);
            self.world.legacy_in(&mut self.rng, n)
        } else {
            self.world.legacy_anywhere(&mut self.rng)
        }
    }

    fn identify(&mut self, members: &[Member], i: usize, ci: u32) -> Result<Identity, GenError> {
        let m = &members[i];
        let ids = &self.identities;
        let member_parent = |p: Parent| match p {
            Parent::Member(j) => Some(&ids[j as usize]),
            _ => None,
        };
        // Children come after their parents in the household (only the head's parents come
        // after the head, and the head inherits nothing from them here).
        let inherited = match m.relation {
            Relation::Child | Relation::Grandchild => {
                member_parent(m.father).or_else(|| member_parent(m.mother))
            }
            _ => None,
        };
        let head = ids.first();

        // Ethnicity, religion and hometown (quê quán) follow the father's line.
        let (ethnicity, religion, hometown) = match (m.relation, inherited, head) {
            (Relation::Child | Relation::Grandchild, Some(p), _) => (p.ethnicity, p.religion, p.hometown),
            (Relation::Sibling, _, Some(h)) => (h.ethnicity, h.religion, h.hometown),
            (Relation::Parent, _, Some(h)) if m.sex == Sex::Male => (h.ethnicity, h.religion, h.hometown),
            (Relation::Head, _, _) | (_, _, None) => {
                let e = self.ethnicity.pick(&mut self.rng);
                let r = self.religion.pick(&mut self.rng);
                (e, r, self.hometown_of_lineage(ci))
            }
            (_, _, Some(h)) => {
                let (he, hr) = (h.ethnicity, h.religion);
                let e = if self.rng.gen_bool(0.9) { he } else { self.ethnicity.pick(&mut self.rng) };
                let r = if self.rng.gen_bool(0.93) { hr } else { self.religion.pick(&mut self.rng) };
                (e, r, self.hometown_of_lineage(ci))
            }
        };

        // Place of birth and the ID prefix it implies.
        let young = matches!(m.relation, Relation::Child | Relation::Grandchild);
        let (birth_place, prefix) = if m.born >= reform_day() {
            let c = if self.rng.gen_bool(0.92) { ci } else { self.world.neighbour(&mut self.rng, ci) };
            (Place::New(c), self.world.communes[c as usize].legacy_province)
        } else {
            let r = self.rng.gen::<f64>();
            let li = if young {
                if r < 0.85 {
                    self.world.legacy_in(&mut self.rng, ci)
                } else if r < 0.9 {
                    hometown
                } else {
                    self.world.legacy_anywhere(&mut self.rng)
                }
            } else if r < 0.4 {
                hometown
            } else if r < 0.75 {
                self.world.legacy_in(&mut self.rng, ci)
            } else {
                self.world.legacy_anywhere(&mut self.rng)
            };
            (Place::Legacy(li), self.world.legacy[li as usize].province)
        };

        let year = m.born.year();
        let id = self.next_id(prefix, m.sex, year)?;

        // Elderly people's dates of birth are often known by year only.
        let r = self.rng.gen::<f64>();
        let birth = if year < 1960 && r < 0.3 {
            PartialDate::Year(year)
        } else if year < 1975 && r > 0.97 {
            PartialDate::YearMonth(year, m.born.month())
        } else {
            PartialDate::Full(m.born)
        };

        // Old 9-digit identity card.
        let cmnd = if year < 1995 && self.rng.gen_bool(0.4) {
            let n = (self.cmnd_counter * CMND_MULTIPLIER + self.cmnd_offset) % 1_000_000_000;
            self.cmnd_counter += 1;
            Some(n as u32)
        } else {
            None
        };

        // Life status: the head is alive; deaths mostly among the elderly.
        let (status, death) = if m.relation == Relation::Head {
            (LifeStatus::Alive, None)
        } else {
            let p_dead = match m.age {
                0..=49 => 0.0025,
                50..=64 => 0.02,
                65..=79 => 0.1,
                _ => 0.3,
            };
            let r = self.rng.gen::<f64>();
            if r < p_dead {
                (LifeStatus::Deceased, Some(self.death_date(members, i)))
            } else if r < p_dead + 0.0005 && m.age >= 15 {
                (LifeStatus::Missing, None)
            } else {
                (LifeStatus::Alive, None)
            }
        };

        // Temporary residence (tạm trú) elsewhere: mostly young adults in the cities.
        let p_temp = match m.age {
            0..=17 => 0.015,
            18..=24 => 0.16,
            25..=39 => 0.10,
            40..=59 => 0.03,
            _ => 0.005,
        };
        let temporary = if status == LifeStatus::Alive && self.allowed.len() > 1 && self.rng.gen_bool(p_temp)
        {
            let pool =
                if !self.hubs.is_empty() && self.rng.gen_bool(0.5) { &self.hubs } else { &self.allowed };
            let mut t = pool[self.rng.gen_range(0..pool.len())];
            while t == ci {
                t = self.allowed[self.rng.gen_range(0..self.allowed.len())];
            }
            let (room, detail) = Detail::rented(&mut self.rng, &self.world.communes[t as usize]);
            Some((t, room, detail))
        } else {
            None
        };

        let nickname = if self.rng.gen_bool(0.01) { self.builder.names.nickname(&mut self.rng) } else { "" };

        Ok(Identity {
            id,
            birth,
            birth_place,
            hometown,
            ethnicity,
            religion,
            temporary,
            cmnd,
            status,
            death,
            nickname,
        })
    }

    /// A date of death after the person's birth and their children's births, within the
    /// last ten years, before today.
    fn death_date(&mut self, members: &[Member], i: usize) -> PartialDate {
        let mut lower = members[i].born;
        for m in members {
            if m.father == Parent::Member(i as u8) || m.mother == Parent::Member(i as u8) {
                lower = lower.max(m.born);
            }
        }
        let yesterday = self.today - Days::new(1);
        let ten_years_ago = self.today - Days::new(3652);
        let from = lower.max(ten_years_ago).min(yesterday);
        let span = (yesterday - from).num_days().max(0) as u64;
        let day = from + Days::new(self.rng.gen_range(0..=span));
        if day.year() > lower.year() && self.rng.gen_bool(0.1) {
            PartialDate::Year(day.year())
        } else {
            PartialDate::Full(day)
        }
    }

    fn push_place(&mut self, p: Place) {
        let (prefix, code): (&[u8], &[u8; 5]) = match p {
            Place::Legacy(li) => (b"legacy:", &self.world.legacy[li as usize].code),
            Place::New(ci) => (b"2025:", &self.world.communes[ci as usize].code),
        };
        self.line.extend_from_slice(prefix);
        self.line.extend_from_slice(code);
    }

    fn push_date(&mut self, d: PartialDate) {
        let out = &mut self.line;
        match d {
            PartialDate::Year(y) => push_padded(out, y as u64, 4),
            PartialDate::YearMonth(y, m) => {
                push_padded(out, y as u64, 4);
                out.push(b'-');
                push_padded(out, m as u64, 2);
            }
            PartialDate::Full(d) => {
                push_padded(out, d.year() as u64, 4);
                out.push(b'-');
                push_padded(out, d.month() as u64, 2);
                out.push(b'-');
                push_padded(out, d.day() as u64, 2);
            }
        }
    }

    fn push_parent(&mut self, members: &[Member], p: Parent) {
        // <id>,<name>
        match p {
            Parent::Member(j) => {
                self.line.extend_from_slice(&self.identities[j as usize].id);
                self.line.push(b',');
                members[j as usize].name.write_full(&mut self.line);
            }
            Parent::Named(n) => {
                self.line.push(b',');
                n.write_full(&mut self.line);
            }
            Parent::Unknown => self.line.push(b','),
        }
    }

    fn write_row(&mut self, members: &[Member], i: usize, ci: u32, detail: &Detail, household: u64) {
        let m = &members[i];
        let idn = self.identities[i];
        let line = &mut self.line;
        line.extend_from_slice(&idn.id);
        line.push(b',');
        line.extend_from_slice(m.name.family.as_bytes());
        line.push(b',');
        m.name.write_middle(line);
        line.push(b',');
        line.extend_from_slice(m.name.given.as_bytes());
        line.push(b',');
        line.extend_from_slice(idn.nickname.as_bytes());
        line.push(b',');
        self.push_date(idn.birth);
        self.line.extend_from_slice(if m.sex == Sex::Male { b",M," } else { b",F," });
        self.push_place(idn.birth_place);
        self.line.push(b',');
        self.push_place(Place::Legacy(idn.hometown));
        let line = &mut self.line;
        line.push(b',');
        line.extend_from_slice(self.ethnicity_codes[idn.ethnicity as usize].as_bytes());
        line.push(b',');
        line.extend_from_slice(self.religion_codes[idn.religion as usize].as_bytes());
        line.extend_from_slice(b",VN,");
        self.push_place(Place::New(ci));
        self.line.push(b',');
        let start = self.line.len();
        detail.write(&mut self.line);
        self.quote_from(start);
        self.line.push(b',');
        if let Some((t, room, d)) = idn.temporary {
            self.push_place(Place::New(t));
            self.line.push(b',');
            let start = self.line.len();
            self.line.extend_from_slice("Phòng ".as_bytes());
            push_u32(&mut self.line, room as u32);
            self.line.extend_from_slice(b", ");
            d.write(&mut self.line);
            self.quote_from(start);
        } else {
            self.line.push(b',');
        }
        // current_unit, current_detail: the same as the registered residence, left empty.
        self.line.extend_from_slice(b",,,");
        self.push_parent(members, m.father);
        self.line.push(b',');
        self.push_parent(members, m.mother);
        self.line.push(b',');
        if let Some(s) = m.spouse {
            let id = self.identities[s as usize].id;
            self.line.extend_from_slice(&id);
        }
        self.line.push(b',');
        if let Some(c) = idn.cmnd {
            push_padded(&mut self.line, c as u64, 9);
        }
        self.line.push(b',');
        self.line.extend_from_slice(idn.status.code().as_bytes());
        self.line.push(b',');
        if let Some(d) = idn.death {
            self.push_date(d);
        }
        self.line.extend_from_slice(b",HK");
        push_padded(&mut self.line, household, 10);
        self.line.push(b',');
        self.line.extend_from_slice(m.relation.code().as_bytes());
        self.line.push(b'\n');
    }

    /// CSV-quotes the field written since `start`, if it needs it.
    fn quote_from(&mut self, start: usize) {
        let field = &self.line[start..];
        if field.contains(&b'"') {
            let field = self.line.split_off(start);
            push_field(&mut self.line, &field);
        } else if field.iter().any(|&b| matches!(b, b',' | b'\n' | b'\r')) {
            self.line.insert(start, b'"');
            self.line.push(b'"');
        }
    }
}
