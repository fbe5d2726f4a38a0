//! Is a word a well-formed Vietnamese syllable? Used to tell repaired text from mojibake.
//!
//! A syllable is an optional initial consonant, a vowel nucleus (one to three vowels, a fixed
//! list), an optional final consonant, and at most one tone mark placed on a vowel the
//! spelling allows (old and new placements, `hòa`/`hoà`, are both accepted). Syllables that
//! end in p, t, c or ch carry sắc or nặng. Spelling conventions such as k/c/q before a given
//! vowel are not checked: the test only has to separate Vietnamese from noise.

use unicode_normalization::char::decompose_canonical;

/// Very common syllables of names and addresses (lower case, NFC; both tone placements where
/// they differ). A repair that produces them is more likely than one that produces rare
/// syllables: VISCII bytes read back as TCVN3 can also give valid but unlikely syllables.
#[rustfmt::skip]
const COMMON: &[&str] = &[
    // family names (DOMAIN.md §8 and the next most frequent)
    "nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng", "bùi", "đỗ", "hồ",
    "ngô", "dương", "lý", "lí", "đinh", "đào", "trịnh", "trương", "lâm", "mai", "hà", "tô", "cao", "lưu",
    "đoàn", "vương", "tạ", "châu", "quách", "lương", "thái", "phùng", "kiều", "từ", "la",
    // middle names
    "văn", "hữu", "đức", "minh", "quang", "quốc", "công", "xuân", "thanh", "thị", "ngọc", "thu",
    "phương", "kim", "bá", "đình", "gia", "hoài", "hồng", "bảo", "tuấn", "anh", "thế", "trọng", "khánh",
    "diệu",
    // given names
    "an", "ánh", "bình", "cường", "chi", "dũng", "duy", "giang", "hải", "hạnh", "hiếu", "hiền", "hoa",
    "hòa", "hoà", "hùng", "hương", "hưng", "huy", "huyền", "khoa", "lan", "linh", "long", "my", "mỹ",
    "nam", "nga", "ngân", "nhung", "oanh", "phong", "phúc", "quân", "quyên", "sơn", "tâm", "thảo",
    "thành", "thắng", "thủy", "thuỷ", "trang", "trung", "tú", "tùng", "uyên", "việt", "vy", "yến",
    "nghĩa", "thúy", "thuý", "tiến", "toàn", "vân", "hằng", "loan", "nhi", "phượng", "quỳnh", "sang",
    // address words
    "số", "thôn", "xóm", "ấp", "tổ", "dân", "phố", "phường", "xã", "trấn", "quận", "huyện", "tỉnh",
    "đường", "ngõ", "ngách", "hẻm", "khu", "khóm", "bản", "làng", "buôn", "nội", "chí", "đà", "nẵng",
    "phòng", "cần", "thơ", "bắc", "đông", "tây", "tân", "phú", "mới", "chợ", "cầu", "sông", "núi", "yên",
    "lạc", "thuận", "lợi", "thịnh", "phước", "lộc", "bến", "cát", "quảng", "ninh", "nghệ", "định",
    "nguyên", "xuyên", "lĩnh", "hậu", "tiền",
];

/// True for a syllable in the list of very common ones (any case).
pub(crate) fn is_common(word: &str) -> bool {
    let lower: String = word.chars().flat_map(char::to_lowercase).collect();
    COMMON.contains(&lower.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Acute,
    Grave,
    Hook,
    Tilde,
    Dot,
}

const INITIALS: [&str; 28] = [
    "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr", "b", "c", "d", "đ", "g", "h", "k",
    "l", "m", "n", "p", "r", "s", "t", "v", "x", "",
];

const FINALS: [&str; 9] = ["ng", "nh", "ch", "c", "m", "n", "p", "t", ""];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FinalRule {
    /// Never followed by a final consonant (the nucleus ends in a glide).
    Never,
    Optional,
    Required,
}

/// (nucleus, final consonant rule, tone positions without a final, tone positions with one).
type Nucleus = (&'static str, FinalRule, &'static [usize], &'static [usize]);

const NUCLEI: [Nucleus; 48] = [
    ("a", FinalRule::Optional, &[0], &[0]),
    ("ă", FinalRule::Required, &[0], &[0]),
    ("â", FinalRule::Required, &[0], &[0]),
    ("e", FinalRule::Optional, &[0], &[0]),
    ("ê", FinalRule::Optional, &[0], &[0]),
    ("i", FinalRule::Optional, &[0], &[0]),
    ("o", FinalRule::Optional, &[0], &[0]),
    ("ô", FinalRule::Optional, &[0], &[0]),
    ("ơ", FinalRule::Optional, &[0], &[0]),
    ("u", FinalRule::Optional, &[0], &[0]),
    ("ư", FinalRule::Optional, &[0], &[0]),
    ("y", FinalRule::Optional, &[0], &[0]),
    ("ai", FinalRule::Never, &[0], &[]),
    ("ao", FinalRule::Never, &[0], &[]),
    ("au", FinalRule::Never, &[0], &[]),
    ("ay", FinalRule::Never, &[0], &[]),
    ("âu", FinalRule::Never, &[0], &[]),
    ("ây", FinalRule::Never, &[0], &[]),
    ("eo", FinalRule::Never, &[0], &[]),
    ("êu", FinalRule::Never, &[0], &[]),
    ("ia", FinalRule::Never, &[0], &[]),
    ("iu", FinalRule::Never, &[0], &[]),
    ("iê", FinalRule::Required, &[], &[1]),
    ("yê", FinalRule::Required, &[], &[1]),
    ("oa", FinalRule::Optional, &[0, 1], &[1]),
    ("oă", FinalRule::Required, &[], &[1]),
    ("oe", FinalRule::Optional, &[0, 1], &[1]),
    ("oi", FinalRule::Never, &[0], &[]),
    ("ôi", FinalRule::Never, &[0], &[]),
    ("ơi", FinalRule::Never, &[0], &[]),
    ("oo", FinalRule::Required, &[], &[0, 1]),
    ("ua", FinalRule::Never, &[0], &[]),
    ("uâ", FinalRule::Required, &[], &[1]),
    ("uê", FinalRule::Optional, &[1], &[1]),
    ("ui", FinalRule::Never, &[0], &[]),
    ("uô", FinalRule::Required, &[], &[1]),
    ("uơ", FinalRule::Never, &[1], &[]),
    ("ưa", FinalRule::Never, &[0], &[]),
    ("ưi", FinalRule::Never, &[0], &[]),
    ("ươ", FinalRule::Required, &[], &[1]),
    ("ưu", FinalRule::Never, &[0], &[]),
    ("uy", FinalRule::Optional, &[0, 1], &[1]),
    ("iêu", FinalRule::Never, &[1], &[]),
    ("yêu", FinalRule::Never, &[1], &[]),
    ("oai", FinalRule::Never, &[1], &[]),
    ("oay", FinalRule::Never, &[1], &[]),
    ("uôi", FinalRule::Never, &[1], &[]),
    ("ươi", FinalRule::Never, &[1], &[]),
];

/// Rarer three-vowel nuclei, kept apart so the main table stays readable.
const RARE_NUCLEI: [Nucleus; 6] = [
    ("oao", FinalRule::Never, &[1], &[]),
    ("oeo", FinalRule::Never, &[1], &[]),
    ("uây", FinalRule::Never, &[1], &[]),
    ("ươu", FinalRule::Never, &[1], &[]),
    ("uya", FinalRule::Never, &[1], &[]),
    ("uyu", FinalRule::Never, &[1], &[]),
];

const UYE: Nucleus = ("uyê", FinalRule::Required, &[], &[2]);

/// Splits a lower-case letter into its base (with the vowel diacritics ă â ê ô ơ ư) and its
/// tone. `None` for anything that is not a Vietnamese letter.
fn split_letter(c: char) -> Option<(char, Option<Tone>)> {
    if c == 'đ' {
        return Some(('đ', None));
    }
    let mut parts: Vec<char> = Vec::with_capacity(3);
    decompose_canonical(c, |p| parts.push(p));
    let (&first, marks) = parts.split_first()?;
    if !first.is_ascii_lowercase() || matches!(first, 'f' | 'j' | 'w' | 'z') {
        return None;
    }
    let mut base = first;
    let mut tone = None;
    for &m in marks {
        match (m, base) {
            ('\u{0306}', 'a') => base = 'ă',
            ('\u{0302}', 'a') => base = 'â',
            ('\u{0302}', 'e') => base = 'ê',
            ('\u{0302}', 'o') => base = 'ô',
            ('\u{031B}', 'o') => base = 'ơ',
            ('\u{031B}', 'u') => base = 'ư',
            ('\u{0301}' | '\u{0300}' | '\u{0309}' | '\u{0303}' | '\u{0323}', _) if tone.is_none() => {
                tone = Some(match m {
                    '\u{0301}' => Tone::Acute,
                    '\u{0300}' => Tone::Grave,
                    '\u{0309}' => Tone::Hook,
                    '\u{0303}' => Tone::Tilde,
                    _ => Tone::Dot,
                })
            }
            _ => return None,
        }
    }
    if tone.is_some() && !is_vowel(base) {
        return None;
    }
    Some((base, tone))
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'ă' | 'â' | 'e' | 'ê' | 'i' | 'o' | 'ô' | 'ơ' | 'u' | 'ư' | 'y')
}

fn lookup(nucleus: &[char]) -> Option<&'static Nucleus> {
    let s: String = nucleus.iter().collect();
    NUCLEI.iter().chain(RARE_NUCLEI.iter()).chain(std::iter::once(&UYE)).find(|n| n.0 == s)
}

/// True for a well-formed Vietnamese syllable, in any case (`Nguyễn`, `NGUYỄN`, `nguyễn`).
pub(crate) fn is_syllable(word: &str) -> bool {
    let mut letters: Vec<char> = Vec::with_capacity(word.len());
    let mut tone: Option<(usize, Tone)> = None;
    for c in word.chars().flat_map(char::to_lowercase) {
        let Some((base, t)) = split_letter(c) else { return false };
        if let Some(t) = t {
            if tone.is_some() {
                return false;
            }
            tone = Some((letters.len(), t));
        }
        letters.push(base);
    }
    if letters.is_empty() || letters.len() > 7 {
        return false;
    }
    let starts_with = |hay: &[char], needle: &str| {
        let n: Vec<char> = needle.chars().collect();
        hay.len() >= n.len() && hay[..n.len()] == n[..]
    };
    let ends_with = |hay: &[char], needle: &str| {
        let n: Vec<char> = needle.chars().collect();
        hay.len() >= n.len() && hay[hay.len() - n.len()..] == n[..]
    };
    for initial in INITIALS {
        if !starts_with(&letters, initial) {
            continue;
        }
        let i_len = initial.chars().count();
        let rest = &letters[i_len..];
        for fin in FINALS {
            if !ends_with(rest, fin) {
                continue;
            }
            let f_len = fin.chars().count();
            if rest.len() <= f_len {
                continue;
            }
            let nucleus = &rest[..rest.len() - f_len];
            if !nucleus.iter().all(|&c| is_vowel(c)) {
                continue;
            }
            let Some(&(name, rule, open_tones, closed_tones)) = lookup(nucleus) else { continue };
            let has_final = !fin.is_empty();
            match (rule, has_final) {
                (FinalRule::Never, true) | (FinalRule::Required, false) => continue,
                _ => {}
            }
            if matches!(fin, "ch" | "nh") && !matches!(name, "a" | "ê" | "i" | "y" | "oa" | "uê" | "uy") {
                continue;
            }
            if let Some((pos, t)) = tone {
                if pos < i_len || pos >= i_len + nucleus.len() {
                    continue;
                }
                let allowed = if has_final { closed_tones } else { open_tones };
                if !allowed.contains(&(pos - i_len)) {
                    continue;
                }
                if matches!(fin, "p" | "t" | "c" | "ch") && !matches!(t, Tone::Acute | Tone::Dot) {
                    continue;
                }
            } else if matches!(fin, "p" | "t" | "c" | "ch") {
                continue;
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_syllables() {
        for w in [
            "Nguyễn",
            "NGUYỄN",
            "văn",
            "Thị",
            "Hoàng",
            "Hòa",
            "Hoà",
            "Thuỷ",
            "Thủy",
            "quyên",
            "Giang",
            "gìn",
            "giữa",
            "giường",
            "Khuê",
            "Ngọc",
            "Hương",
            "Yến",
            "Uyên",
            "Oanh",
            "ánh",
            "Duy",
            "Tuấn",
            "Khoa",
            "Dũng",
            "Lý",
            "Lí",
            "Hữu",
            "Đức",
            "Xuân",
            "Quốc",
            "Kiều",
            "Khuyến",
            "Nghĩa",
            "Phường",
            "Xã",
            "Huyện",
            "Tỉnh",
            "Thành",
            "phố",
            "Hà",
            "Nội",
            "Trúc",
            "Bạch",
            "Quận",
            "Đình",
            "ngõ",
            "ngách",
            "ấp",
            "thôn",
            "xóm",
            "tổ",
            "đường",
            "khuya",
            "khuỷu",
            "ngoáo",
            "thuở",
            "người",
            "được",
            "a",
            "xoong",
            "oách",
            "huỳnh",
            "quý",
            "Trịnh",
            "Đặng",
            "Bùi",
            "Đỗ",
            "Võ",
            "Vũ",
            "Dương",
            "Lâm",
        ] {
            assert!(is_syllable(w), "{w} should be a syllable");
        }
    }

    #[test]
    fn common_syllables_are_syllables() {
        for w in COMMON {
            assert!(is_syllable(w), "{w}");
            assert!(is_common(&w.to_uppercase()));
        }
        assert!(!is_common("lờ"));
    }

    #[test]
    fn rejects_mojibake_and_noise() {
        for w in [
            "Nguyeãn", // VNI bytes seen as Windows-1252
            "Vaên", "Aùnh", "Traàn", "Baùi", "NguyÔn", // TCVN3 bytes seen as Windows-1252
            "Vån", "Thàs", "hóng̣", "bat", // stop final without sắc/nặng
            "bàt", "ban̉", "tiê", "ăn̉", "aínhh", "ain", "Müller", "xyz", "", "đđ", "kh", "óa̰", "hoàa",
            "Höông",
        ] {
            assert!(!is_syllable(w), "{w} should not be a syllable");
        }
    }
}
