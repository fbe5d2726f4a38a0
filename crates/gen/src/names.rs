//! Vietnamese names: family names with their national shares (DOMAIN.md §8), middle and
//! given names by sex and generation. Every literal here is NFC (checked by a test).

use dancu_domain::Sex;
use rand::Rng;

use crate::weighted::Weighted;

/// Where a household lives, for the north/south spelling of the same family name
/// (Hoàng/Huỳnh, Vũ/Võ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Region {
    North,
    Central,
    South,
}

impl Region {
    /// From a 2-digit province code (2025 or legacy; both use the statistics-office order,
    /// north to south).
    pub(crate) fn of_province(code: u8) -> Self {
        match code {
            0..=39 => Region::North,
            40..=47 => Region::Central,
            _ => Region::South,
        }
    }
}

/// A full name. `middle2` is the second middle word of a four-word name, or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    pub family: &'static str,
    pub middle1: &'static str,
    pub middle2: &'static str,
    pub given: &'static str,
}

impl Name {
    /// Appends the middle name (one or two words) to `out`.
    pub(crate) fn write_middle(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.middle1.as_bytes());
        if !self.middle2.is_empty() {
            if !self.middle1.is_empty() {
                out.push(b' ');
            }
            out.extend_from_slice(self.middle2.as_bytes());
        }
    }

    /// Appends "Family Middle Given" to `out`.
    pub(crate) fn write_full(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.family.as_bytes());
        for w in [self.middle1, self.middle2, self.given] {
            if !w.is_empty() {
                out.push(b' ');
                out.extend_from_slice(w.as_bytes());
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Family {
    Same(&'static str),
    /// The same name spelt differently in the north and the south.
    NorthSouth(&'static str, &'static str),
}

/// Shares in percent, summing to about 100 (DOMAIN.md §8 for the leading names; the tail,
/// including some names of ethnic minorities, is an estimate).
const FAMILY: &[(Family, f64)] = &[
    (Family::Same("Nguyễn"), 38.0),
    (Family::Same("Trần"), 11.0),
    (Family::Same("Lê"), 9.5),
    (Family::Same("Phạm"), 7.0),
    (Family::NorthSouth("Hoàng", "Huỳnh"), 5.0),
    (Family::Same("Phan"), 4.5),
    (Family::NorthSouth("Vũ", "Võ"), 4.0),
    (Family::Same("Đặng"), 2.1),
    (Family::Same("Bùi"), 2.0),
    (Family::Same("Đỗ"), 1.4),
    (Family::Same("Hồ"), 1.3),
    (Family::Same("Ngô"), 1.3),
    (Family::Same("Dương"), 1.0),
    (Family::Same("Lý"), 0.5),
    (Family::Same("Đinh"), 0.8),
    (Family::Same("Đào"), 0.7),
    (Family::Same("Trịnh"), 0.6),
    (Family::Same("Trương"), 0.7),
    (Family::Same("Lâm"), 0.5),
    (Family::Same("Mai"), 0.5),
    (Family::Same("Hà"), 0.6),
    (Family::Same("Đoàn"), 0.5),
    (Family::Same("Lương"), 0.5),
    (Family::Same("Cao"), 0.4),
    (Family::Same("Lưu"), 0.3),
    (Family::Same("Tạ"), 0.3),
    (Family::Same("Nông"), 0.3),
    (Family::Same("Phùng"), 0.25),
    (Family::Same("Chu"), 0.2),
    (Family::Same("Tô"), 0.2),
    (Family::Same("Triệu"), 0.2),
    (Family::Same("Thái"), 0.2),
    (Family::Same("Vương"), 0.2),
    (Family::Same("Châu"), 0.2),
    (Family::Same("Kiều"), 0.15),
    (Family::Same("Quách"), 0.15),
    (Family::Same("Tăng"), 0.1),
    (Family::Same("La"), 0.1),
    (Family::Same("Mạc"), 0.1),
    (Family::Same("Từ"), 0.1),
    (Family::Same("Khúc"), 0.05),
    (Family::Same("Lục"), 0.05),
    (Family::Same("Khổng"), 0.05),
    (Family::Same("Giáp"), 0.05),
    (Family::Same("Lại"), 0.15),
    (Family::Same("Hứa"), 0.1),
    (Family::Same("Đàm"), 0.1),
    (Family::Same("Doãn"), 0.1),
    (Family::Same("Kim"), 0.1),
    (Family::Same("Lã"), 0.1),
    (Family::Same("Mã"), 0.1),
    (Family::Same("Ninh"), 0.1),
    (Family::Same("Quan"), 0.1),
    (Family::Same("Thân"), 0.1),
    (Family::Same("Tôn"), 0.1),
    (Family::Same("Vi"), 0.15),
    (Family::Same("Nghiêm"), 0.1),
    (Family::Same("Phí"), 0.05),
    (Family::Same("Thạch"), 0.15),
    (Family::Same("Danh"), 0.1),
    (Family::Same("Lò"), 0.15),
    (Family::Same("Lường"), 0.05),
    (Family::Same("Cầm"), 0.1),
    (Family::Same("Giàng"), 0.1),
    (Family::Same("Vàng"), 0.1),
    (Family::Same("Hầu"), 0.05),
    (Family::Same("Sùng"), 0.05),
];

const MALE_MIDDLE: &[&str] =
    &["Hữu", "Đức", "Minh", "Quang", "Quốc", "Công", "Xuân", "Thanh", "Gia", "Tuấn", "Bảo", "Đình", "Ngọc"];
const FEMALE_MIDDLE: &[&str] =
    &["Ngọc", "Thu", "Thanh", "Phương", "Kim", "Mai", "Bảo", "Khánh", "Minh", "Hồng", "Thùy", "Mỹ", "Diệu"];

const MALE_OLD: &[&str] = &[
    "Hùng", "Dũng", "Cường", "Thắng", "Hải", "Sơn", "Bình", "Tuấn", "Hòa", "Thành", "Long", "Toàn", "Trung",
    "Hưng", "Phúc", "Lợi", "Tâm", "Chiến", "Quyết", "Thịnh", "Tiến", "Định", "Lực", "Thuận", "Tài", "Hiệp",
    "Vinh", "Nam", "Hồng", "Quý", "Tú", "Thanh", "Đông", "Lâm", "Mạnh", "Phong", "Khải", "Bảo", "Tư", "Sáu",
];
const MALE_NEW: &[&str] = &[
    "Minh", "Huy", "Khang", "Bảo", "Phúc", "Anh", "Khoa", "Nam", "Duy", "Đạt", "Kiên", "Hiếu", "Quân",
    "Long", "Hoàng", "Trí", "Tùng", "Việt", "Vũ", "Lộc", "Nhân", "Phát", "Thịnh", "Khôi", "Nguyên", "Đức",
    "An", "Hưng", "Dương", "Tuấn", "Trung", "Tín", "Thiện", "Lâm", "Sơn", "Khánh", "Hải", "Quang", "Tiến",
    "Thắng",
];
const FEMALE_OLD: &[&str] = &[
    "Lan",
    "Hoa",
    "Hồng",
    "Hương",
    "Hạnh",
    "Huệ",
    "Liên",
    "Nga",
    "Thủy",
    "Loan",
    "Dung",
    "Hằng",
    "Tuyết",
    "Xuân",
    "Cúc",
    "Đào",
    "Mai",
    "Nhung",
    "Thoa",
    "Vân",
    "Yến",
    "Bích",
    "Thu",
    "Hiền",
    "Lụa",
    "Nhàn",
    "Tươi",
    "Oanh",
    "Phượng",
    "Sen",
    "Tám",
    "Lý",
    "Bình",
    "Hòa",
    "Thanh",
    "Hà",
    "Minh",
    "Lệ",
    "Quyên",
    "Ngọc",
];
const FEMALE_NEW: &[&str] = &[
    "Anh", "Linh", "Trang", "Ngọc", "Huyền", "Thảo", "Phương", "Hà", "Nhi", "Vy", "My", "Chi", "Giang",
    "Hân", "An", "Trâm", "Uyên", "Quỳnh", "Ngân", "Hương", "Mai", "Thư", "Diệp", "Ánh", "Tâm", "Duyên",
    "Yến", "Hằng", "Nhung", "Thủy", "Châu", "Như", "Khuê", "Vân", "Hiền", "Dung", "Lan", "Nga", "Nhiên",
    "Hạnh",
];

/// Tên gọi khác (other names) a few people are registered with.
const NICKNAMES: &[&str] = &["Tý", "Tèo", "Cu", "Bé", "Út", "Hai", "Ba", "Tư", "Cả", "Bống", "Cò", "Hĩm"];

/// The name tables, built once per run.
#[derive(Debug)]
pub(crate) struct Names {
    family: Weighted<Family>,
}

impl Names {
    pub(crate) fn new() -> Self {
        Names { family: Weighted::new(FAMILY.iter().copied()) }
    }

    pub(crate) fn family<R: Rng>(&self, rng: &mut R, region: Region) -> &'static str {
        match self.family.pick(rng) {
            Family::Same(f) => f,
            Family::NorthSouth(north, south) => {
                let south_share = match region {
                    Region::North => 0.05,
                    Region::Central => 0.4,
                    Region::South => 0.8,
                };
                if rng.gen_bool(south_share) {
                    south
                } else {
                    north
                }
            }
        }
    }

    /// Middle and given name for someone born in `year`: Văn / Thị are more common in
    /// older generations, and so are the traditional given names.
    pub(crate) fn person<R: Rng>(&self, rng: &mut R, family: &'static str, sex: Sex, year: i32) -> Name {
        // Share of the generation's names that follow the modern fashion.
        let modern = ((year - 1965) as f64 / 40.0).clamp(0.0, 1.0) * 0.8 + 0.1;
        let (classic, others, old, new, classic_share) = match sex {
            Sex::Male => ("Văn", MALE_MIDDLE, MALE_OLD, MALE_NEW, 0.65 - 0.5 * modern),
            Sex::Female => ("Thị", FEMALE_MIDDLE, FEMALE_OLD, FEMALE_NEW, 0.8 - 0.6 * modern),
        };
        let pick = |rng: &mut R, l: &'static [&'static str]| l[rng.gen_range(0..l.len())];
        let (middle1, middle2) = if sex == Sex::Female && rng.gen_bool(0.08 + 0.15 * modern) {
            // Four-word names: "Thị Ngọc", "Ngọc Bảo" …
            let first = if rng.gen_bool(classic_share) { classic } else { pick(rng, others) };
            let mut second = pick(rng, others);
            while second == first {
                second = pick(rng, others);
            }
            (first, second)
        } else if sex == Sex::Male && rng.gen_bool(0.02) {
            ("", "")
        } else if rng.gen_bool(classic_share) {
            (classic, "")
        } else {
            (pick(rng, others), "")
        };
        let mut given = if rng.gen_bool(modern) { pick(rng, new) } else { pick(rng, old) };
        while given == middle1 || given == middle2 {
            given = if rng.gen_bool(modern) { pick(rng, new) } else { pick(rng, old) };
        }
        Name { family, middle1, middle2, given }
    }

    pub(crate) fn nickname<R: Rng>(&self, rng: &mut R) -> &'static str {
        NICKNAMES[rng.gen_range(0..NICKNAMES.len())]
    }
}

/// Every literal of this module, for the NFC and character tests.
#[cfg(test)]
pub(crate) fn all_literals() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for (f, _) in FAMILY {
        match f {
            Family::Same(a) => v.push(a),
            Family::NorthSouth(a, b) => v.extend([*a, *b]),
        }
    }
    for l in [MALE_MIDDLE, FEMALE_MIDDLE, MALE_OLD, MALE_NEW, FEMALE_OLD, FEMALE_NEW, NICKNAMES] {
        v.extend_from_slice(l);
    }
    v.extend(["Văn", "Thị"]);
    v
}
