//! Likely mojibake in names and addresses ("lỗi phông chữ"), refused with a suggested
//! repair: Vietnamese text that went through a legacy 8-bit encoding (TCVN3/ABC, VNI,
//! VISCII) or UTF-8 and was read back as Windows-1252 or Latin-1 (`NguyÔn`, `Nguyeãn`,
//! `Nguyá»…n`), and text whose bytes were replaced by U+FFFD on the way (`Nguye�n`), which
//! cannot be repaired, only retyped.
//!
//! Detection and repair are [`crate::legacy::repair_fields`]: a field is flagged only when it
//! reads badly as it is and a decoding of it reads as clean Vietnamese, so ordinary names,
//! rare marks included, pass. Fields that travelled together (the parts of one name) are
//! judged together, which is far more reliable than one short field alone.

use crate::error::Violation;
use crate::legacy::{repair_fields, Encoding};
use crate::text::nfc;

/// The violation for `field`, with the repair when there is one.
fn violation(field: &str, repaired: Option<(&str, Encoding)>) -> Violation {
    match repaired {
        Some((text, enc)) => Violation::new(
            field,
            "text.mojibake",
            format!("Có vẻ lỗi phông chữ ({}); có phải là \u{201C}{text}\u{201D}? Hãy gõ lại", enc.label()),
            format!(
                "looks garbled by a wrong encoding ({}); did you mean \u{201C}{text}\u{201D}? Retype it",
                enc.label()
            ),
        ),
        None => Violation::new(
            field,
            "text.mojibake",
            "Có ký tự bị hỏng do lỗi phông chữ (U+FFFD); hãy gõ lại",
            "holds a character lost to a wrong encoding (U+FFFD); retype it",
        ),
    }
}

/// The suggested repair of one text, if it looks garbled: the repaired text and the
/// encoding undone.
pub fn suggest(text: &str) -> Option<(String, Encoding)> {
    let (mut fixed, from) = repair_fields(&[text]);
    Some((fixed.pop()?, from?))
}

/// Checks fields that travelled together, `(field, text)`; one violation per garbled field.
pub fn check_fields(fields: &[(&str, &str)]) -> Vec<Violation> {
    let texts: Vec<&str> = fields.iter().map(|(_, t)| *t).collect();
    let (fixed, from) = repair_fields(&texts);
    fields
        .iter()
        .zip(&fixed)
        .filter_map(|((field, raw), repaired)| {
            if raw.contains('\u{FFFD}') {
                return Some(violation(field, None));
            }
            let enc = from.filter(|_| nfc(raw) != *repaired)?;
            Some(violation(field, Some((repaired, enc))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(s: &str) -> Option<(String, Encoding)> {
        let v = check_fields(&[("given_name", s)]);
        assert!(v.len() <= 1);
        v.first().map(|v| {
            assert_eq!((v.field.as_str(), v.rule), ("given_name", "text.mojibake"));
            (v.message_en.clone(), suggest(s).map_or(Encoding::Utf8, |(_, e)| e))
        })
    }

    /// Samples written by hand from the code tables (tables.rs: TCVN3 VN1 bytes, the VNI
    /// letter + diacritic bytes, UTF-8), each read as Windows-1252, not made by our encoders.
    const GARBLED: [(&str, &str, Encoding); 12] = [
        // TCVN3: ễ = 0xD4 'Ô', ă = 0xA8 '¨', ạ = 0xB9 '¹', ị = 0xDE 'Þ', ầ = 0xC7 'Ç', ả = 0xB6 '¶',
        // Đ = 0xA7 '§', ặ = 0xC6 'Æ', ự = 0xF9 'ù'.
        ("NguyÔn V¨n An", "Nguyễn Văn An", Encoding::Tcvn3),
        ("Ph¹m ThÞ Hoa", "Phạm Thị Hoa", Encoding::Tcvn3),
        ("TrÇn Quang Kh¶i", "Trần Quang Khải", Encoding::Tcvn3),
        ("§Æng V¨n Lùc", "Đặng Văn Lực", Encoding::Tcvn3),
        // VNI: base letter, then a diacritic byte: â+grave 0xE0 'à', ê 0xE2 'â', nặng 0xEF 'ï',
        // ă+nặng 0xEB 'ë', Đ 0xD1 'Ñ', ư 'ö', ơ 'ô'.
        ("Nguyeãn Vaên An", "Nguyễn Văn An", Encoding::Vni),
        ("Traàn Thò Leâ", "Trần Thị Lê", Encoding::Vni),
        ("Ñaëng Ngoïc Höông", "Đặng Ngọc Hương", Encoding::Vni),
        ("Phöôøng Baïch Ñaèng", "Phường Bạch Đằng", Encoding::Vni),
        // UTF-8 read as Windows-1252: ễ = E1 BB 85, ă = C4 83, ạ = E1 BA A1, ị = E1 BB 8B,
        // ê = C3 AA, ầ = E1 BA A7, ố = E1 BB 91, ệ = E1 BB 87, õ = C3 B5, à = C3 A0 (a no-break space).
        ("Nguyá»…n VÄƒn An", "Nguyễn Văn An", Encoding::Utf8),
        ("Pháº¡m Thá»‹ LÃª", "Phạm Thị Lê", Encoding::Utf8),
        ("Tráº§n Quá»‘c Viá»‡t", "Trần Quốc Việt", Encoding::Utf8),
        ("Sá»‘ 12 ngÃµ 34 phá»‘ HÃ\u{A0}ng BÃ´ng", "Số 12 ngõ 34 phố Hàng Bông", Encoding::Utf8),
    ];

    #[test]
    fn garbled_names_and_addresses_are_flagged_with_their_repair() {
        for (garbled, good, enc) in GARBLED {
            let (msg, found) = flagged(garbled).unwrap_or_else(|| panic!("not flagged: {garbled}"));
            assert_eq!(found, enc, "{garbled}");
            assert!(msg.contains(good), "{garbled}: {msg}");
            assert_eq!(suggest(garbled).unwrap().0, good);
        }
    }

    #[test]
    fn lost_characters_are_flagged_without_a_repair() {
        let v = check_fields(&[("given_name", "Nguye\u{FFFD}n")]);
        assert_eq!(v.len(), 1);
        assert!(v[0].message_en.contains("U+FFFD"));
    }

    #[test]
    fn name_parts_are_judged_together_and_each_field_named() {
        let v = check_fields(&[("family_name", "NguyÔn"), ("middle_name", "V¨n"), ("given_name", "An")]);
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["family_name", "middle_name"]);
        assert!(v[0].message_vi.contains("Nguyễn"), "{}", v[0].message_vi);
    }

    #[test]
    fn ordinary_vietnamese_names_are_not_flagged() {
        let names = [
            "Nguyễn Văn Ấn",
            "Đặng Thị Ngọc Hân",
            "Huỳnh Thúc Kháng",
            "Lê Thị Thuỷ",
            "Lê Thị Thủy",
            "Hoàng Hoà Hòa",
            "Ngô Bảo Châu",
            "Ưng Hoàng Phúc",
            "Khổng Tú Quỳnh",
            "Giàng A Páo",
            "Y Moan Ênuôl",
            "H'Hen Niê",
            "Ksor Nay",
            "Rơ Châm Phiang",
            "Mùa A Sểnh",
            "Thạch Sô Phanh",
            "Lò Văn Giàng",
            "Sần Thị Ngoan",
            "Ma Seo Chứ",
            "Lý Thị Ngọc Ẩn",
            "Trịnh Thị Ỷ",
            "Hứa Vĩ Văn",
            "Quách Tuấn Du",
            "Đoàn Quốc Việt",
            "Bế Văn Đàn",
            "Tôn Nữ Thị Ánh Tuyết",
            "Phường Trúc Bạch, Ba Đình, Hà Nội",
            "Số 5 ngõ 12 phố Hàng Bài",
            "Ấp Mỹ Hoà, xã Ngũ Hiệp, Cai Lậy",
            "Thôn Nà Phặc, Ngân Sơn",
            "Buôn Ma Thuột",
            "Anh",
            "John Smith",
        ];
        for n in names {
            assert_eq!(check_fields(&[("full_name", n)]), vec![], "{n}");
            let words: Vec<&str> = n.split(' ').collect();
            if words.len() >= 3 {
                let mid = words[1..words.len() - 1].join(" ");
                let parts = [
                    ("family_name", words[0]),
                    ("middle_name", mid.as_str()),
                    ("given_name", words[words.len() - 1]),
                ];
                assert_eq!(check_fields(&parts), vec![], "{n} as parts");
            }
        }
    }
}
