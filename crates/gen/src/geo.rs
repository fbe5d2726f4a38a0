//! Where people live and were born: the 2025 communes, the legacy communes that merged
//! into each of them, and street-level address details.
//!
//! Everything comes from `dancu_domain::units::admin_units()` (the statistics-office lists
//! embedded in the domain crate); this module only indexes it for fast random choice.

use std::sync::OnceLock;

use dancu_domain::units::{admin_units, Conversion};
use rand::Rng;

use crate::names::Region;
use crate::numfmt::push_u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// xã (rural commune)
    Rural,
    /// phường (urban ward)
    Urban,
    /// đặc khu (special zone: islands)
    Special,
}

/// A commune of the 2025 list.
#[derive(Debug, Clone)]
pub(crate) struct Commune {
    pub code: [u8; 5],
    /// 2025 province code (2 digits as a number).
    pub province: u8,
    pub kind: Kind,
    /// The legacy province whose communes make up most of this one: the personal-ID prefix
    /// of a birth registered here after 1 July 2025.
    pub legacy_province: u8,
    /// Indexes into [`World::legacy`] of the legacy communes that went (wholly or partly)
    /// into this one.
    legacy_from: u32,
    legacy_to: u32,
}

/// A commune of the legacy (pre-July-2025) list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegacyCommune {
    pub code: [u8; 5],
    /// Legacy province code: the personal-ID prefix of births registered here.
    pub province: u8,
}

/// The indexed unit lists (built once per process).
#[derive(Debug)]
pub(crate) struct World {
    pub communes: Vec<Commune>,
    pub legacy: Vec<LegacyCommune>,
    /// For each 2025 province: its code and the range of its communes in `communes`.
    pub provinces: Vec<(u8, u32, u32)>,
    /// Legacy commune indexes, grouped by 2025 commune (see `Commune::legacy_from`).
    pool: Vec<u32>,
}

fn two_digits(s: &str) -> u8 {
    s.parse().expect("province codes are 2 digits")
}

fn code5(s: &str) -> [u8; 5] {
    s.as_bytes().try_into().expect("commune codes are 5 digits")
}

impl World {
    pub(crate) fn get() -> &'static World {
        static WORLD: OnceLock<World> = OnceLock::new();
        WORLD.get_or_init(World::build)
    }

    fn build() -> World {
        let units = admin_units();
        let mut communes = Vec::new();
        let mut index_of_new = std::collections::HashMap::new();
        let mut provinces = Vec::new();
        for p in &units.provinces_2025 {
            let first = communes.len() as u32;
            for code in units.communes_of_province_2025(&p.code) {
                let c = units.commune_2025(code).expect("listed commune exists");
                let kind = match c.kind.as_str() {
                    "phường" => Kind::Urban,
                    "đặc khu" => Kind::Special,
                    _ => Kind::Rural,
                };
                index_of_new.insert(code.clone(), communes.len());
                communes.push(Commune {
                    code: code5(code),
                    province: two_digits(&p.code),
                    kind,
                    legacy_province: two_digits(&p.code),
                    legacy_from: 0,
                    legacy_to: 0,
                });
            }
            provinces.push((two_digits(&p.code), first, communes.len() as u32));
        }
        // The legacy communes, and for each new commune the old ones that went into it. The
        // domain crate exposes the legacy list by code only, so walk the code space.
        let mut legacy = Vec::new();
        let mut into: Vec<Vec<u32>> = vec![Vec::new(); communes.len()];
        let mut code = String::with_capacity(5);
        for n in 0..100_000u32 {
            code.clear();
            push_u32_padded(&mut code, n);
            let Some(old) = units.commune_legacy(&code) else { continue };
            let li = legacy.len() as u32;
            legacy.push(LegacyCommune { code: code5(&code), province: two_digits(&old.province_code) });
            let targets = match units.convert_legacy(&code) {
                Conversion::One(u) => vec![u],
                Conversion::Split(v) => v,
                Conversion::Unmapped => Vec::new(),
            };
            for t in targets {
                if let Some(&ci) = index_of_new.get(t.code()) {
                    into[ci].push(li);
                }
            }
        }
        // A new commune that no old commune maps to (a handful) borrows the old communes of
        // its whole province.
        let mut by_province: std::collections::HashMap<u8, Vec<u32>> = std::collections::HashMap::new();
        for (ci, olds) in into.iter().enumerate() {
            by_province.entry(communes[ci].province).or_default().extend(olds);
        }
        let mut pool = Vec::new();
        for (ci, olds) in into.iter().enumerate() {
            let c = &mut communes[ci];
            let olds = if olds.is_empty() { &by_province[&c.province] } else { olds };
            c.legacy_from = pool.len() as u32;
            pool.extend_from_slice(olds);
            c.legacy_to = pool.len() as u32;
            // The majority legacy province among the old communes (first one on a tie).
            let mut counts = [0u32; 100];
            for &li in olds {
                counts[legacy[li as usize].province as usize] += 1;
            }
            let best = olds
                .iter()
                .map(|&li| legacy[li as usize].province)
                .max_by_key(|&p| (counts[p as usize], std::cmp::Reverse(p)));
            if let Some(p) = best {
                c.legacy_province = p;
            }
        }
        World { communes, legacy, provinces, pool }
    }

    /// A legacy commune that went into the 2025 commune `ci`.
    pub(crate) fn legacy_in<R: Rng>(&self, rng: &mut R, ci: u32) -> u32 {
        let c = &self.communes[ci as usize];
        self.pool[rng.gen_range(c.legacy_from..c.legacy_to) as usize]
    }

    /// A legacy commune anywhere in the country.
    pub(crate) fn legacy_anywhere<R: Rng>(&self, rng: &mut R) -> u32 {
        let ci = rng.gen_range(0..self.communes.len() as u32);
        self.legacy_in(rng, ci)
    }

    /// The range of commune indexes of a 2025 province.
    pub(crate) fn province_range(&self, code: u8) -> Option<(u32, u32)> {
        self.provinces.iter().find(|p| p.0 == code).map(|p| (p.1, p.2))
    }

    /// A commune of the same 2025 province as `ci`.
    pub(crate) fn neighbour<R: Rng>(&self, rng: &mut R, ci: u32) -> u32 {
        let (from, to) = self.province_range(self.communes[ci as usize].province).unwrap();
        rng.gen_range(from..to)
    }

    pub(crate) fn region(&self, ci: u32) -> Region {
        Region::of_province(self.communes[ci as usize].province)
    }
}

fn push_u32_padded(s: &mut String, n: u32) {
    let mut b = [b'0'; 5];
    let mut n = n;
    for d in b.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    s.push_str(std::str::from_utf8(&b).unwrap());
}

const STREETS: &[&str] = &[
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Quang Trung",
    "Hùng Vương",
    "Phan Chu Trinh",
    "Lê Duẩn",
    "Điện Biên Phủ",
    "Nguyễn Huệ",
    "Võ Thị Sáu",
    "Hoàng Văn Thụ",
    "Trần Phú",
    "Nguyễn Du",
    "Lê Lai",
    "Bà Triệu",
    "Lê Thánh Tông",
    "Ngô Quyền",
    "Phan Đình Phùng",
    "Nguyễn Văn Cừ",
    "Trường Chinh",
    "Lạc Long Quân",
    "Âu Cơ",
    "Nguyễn Thị Minh Khai",
    "Cách Mạng Tháng Tám",
    "Lê Hồng Phong",
    "Phạm Ngũ Lão",
    "Tôn Đức Thắng",
    "Chu Văn An",
    "Nguyễn Chí Thanh",
    "Lý Tự Trọng",
    "Yên Bái",
    "Hàm Nghi",
    "Đinh Tiên Hoàng",
    "Bạch Đằng",
    "Thống Nhất",
    "Độc Lập",
    "Hòa Bình",
    "30 Tháng 4",
];

/// The street-level part of an address (`permanent_detail`), written without allocation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Detail {
    /// "Số 45 đường Lê Lợi" / "Số 12 phố Bà Triệu"
    Street { house: u16, street: u8, pho: bool },
    /// "Số 7 ngõ 23 đường Trần Phú"
    Alley { house: u16, alley: u16, street: u8, pho: bool },
    /// "Số 12, Thôn 3" (Xóm in the north, Ấp in the south, Tổ dân phố in towns)
    Hamlet { house: u16, hamlet: u8, word: &'static str },
}

impl Detail {
    pub(crate) fn random<R: Rng>(rng: &mut R, c: &Commune) -> Detail {
        let region = Region::of_province(c.province);
        let street = rng.gen_range(0..STREETS.len() as u8);
        let pho = region == Region::North && rng.gen_bool(0.5);
        match c.kind {
            Kind::Urban => match rng.gen_range(0..10) {
                0..=4 => Detail::Street { house: rng.gen_range(1..400), street, pho },
                5..=7 => {
                    Detail::Alley { house: rng.gen_range(1..80), alley: rng.gen_range(1..300), street, pho }
                }
                _ => Detail::Hamlet {
                    house: rng.gen_range(1..200),
                    hamlet: rng.gen_range(1..40),
                    word: "Tổ dân phố",
                },
            },
            Kind::Rural | Kind::Special => {
                let word = match (region, rng.gen_range(0..10)) {
                    (_, 0) => "Tổ",
                    (Region::South, _) => "Ấp",
                    (Region::North, 1..=4) => "Xóm",
                    _ => "Thôn",
                };
                Detail::Hamlet { house: rng.gen_range(1..300), hamlet: rng.gen_range(1..25), word }
            }
        }
    }

    /// A rented room, for temporary residence.
    pub(crate) fn rented<R: Rng>(rng: &mut R, c: &Commune) -> (u16, Detail) {
        let room = rng.gen_range(1..6) * 100 + rng.gen_range(1..20);
        (room, Detail::random(rng, c))
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let road = |pho: bool| if pho { " phố " } else { " đường " };
        match *self {
            Detail::Street { house, street, pho } => {
                out.extend_from_slice("Số ".as_bytes());
                push_u32(out, house as u32);
                out.extend_from_slice(road(pho).as_bytes());
                out.extend_from_slice(STREETS[street as usize].as_bytes());
            }
            Detail::Alley { house, alley, street, pho } => {
                out.extend_from_slice("Số ".as_bytes());
                push_u32(out, house as u32);
                out.extend_from_slice(" ngõ ".as_bytes());
                push_u32(out, alley as u32);
                out.extend_from_slice(road(pho).as_bytes());
                out.extend_from_slice(STREETS[street as usize].as_bytes());
            }
            Detail::Hamlet { house, hamlet, word } => {
                out.extend_from_slice("Số ".as_bytes());
                push_u32(out, house as u32);
                out.extend_from_slice(b", ");
                out.extend_from_slice(word.as_bytes());
                out.push(b' ');
                push_u32(out, hamlet as u32);
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn all_literals() -> Vec<&'static str> {
    let mut v = STREETS.to_vec();
    v.extend(["Số ", " phố ", " đường ", " ngõ ", "Tổ dân phố", "Tổ", "Ấp", "Xóm", "Thôn", "Phòng "]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_new_commune_has_old_communes() {
        let w = World::get();
        assert_eq!(w.communes.len(), 3321);
        assert_eq!(w.legacy.len(), 10051);
        let units = admin_units();
        for c in &w.communes {
            assert!(c.legacy_to > c.legacy_from);
            assert!(units.is_legacy_province(&format!("{:02}", c.legacy_province)));
        }
        // 00004 (2025) Phường Ba Đình is made of old Hà Nội communes.
        let ba_dinh = w.communes.iter().find(|c| &c.code == b"00004").unwrap();
        assert_eq!(ba_dinh.legacy_province, 1);
    }
}
