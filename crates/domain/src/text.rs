//! Vietnamese text: NFC at every boundary, a folded key for search and matching, name parts.

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::error::Violation;

/// Normalises to NFC, trims, and collapses runs of whitespace to one space.
pub fn nfc(s: &str) -> String {
    // Most input (every row of a generated or exported file) is already in this form; the
    // quick check and one scan then replace a decomposition and recomposition per character.
    if is_spaced(s) && is_nfc_quick(s.chars()) == IsNormalized::Yes {
        return s.to_string();
    }
    nfc_by_word(s)
}

fn nfc_by_word(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.nfc());
    }
    out
}

/// No leading, trailing, repeated or non-space whitespace: what [`nfc`] leaves.
fn is_spaced(s: &str) -> bool {
    let mut prev_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if prev_space || c != ' ' {
                return false;
            }
            prev_space = true;
        } else {
            prev_space = false;
        }
    }
    !prev_space || s.is_empty()
}

/// The folded search key: no marks, `đ`→`d`, lower case, single spaces. Tone-placement
/// variants (`Hoà`/`Hòa`, `Thuỷ`/`Thủy`) and NFC/NFD spellings give the same key.
pub fn fold_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' => out.push('d'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A name split in the Vietnamese order: family name, middle name (possibly several words
/// or empty), given name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NameParts {
    pub family: String,
    pub middle: String,
    pub given: String,
}

/// A character that changes how text is shown without being text: C0 and C1 controls (tab
/// and line breaks included), bidirectional embeddings, overrides, isolates and marks,
/// zero-width characters, the byte-order mark and the soft hyphen.
pub fn hidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        c.is_control()
            || matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    })
}

/// Refuses text holding a [`hidden_char`] (it is refused, not rewritten): rule
/// `text.control_char` on `field`.
pub fn check_no_hidden_chars(field: &str, raw: &str) -> Result<(), Violation> {
    match hidden_char(raw) {
        None => Ok(()),
        Some(c) => Err(Violation::new(
            field,
            "text.control_char",
            format!("Có ký tự điều khiển hoặc ký tự ẩn (U+{:04X})", c as u32),
            format!("holds a control or invisible character (U+{:04X})", c as u32),
        )),
    }
}

/// The combining marks of Vietnamese writing: the five tones (grave, acute, tilde, hook above,
/// dot below) and the vowel marks (circumflex, breve, horn).
const VIETNAMESE_MARKS: [char; 8] =
    ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}', '\u{0302}', '\u{0306}', '\u{031B}'];

/// At most a vowel mark and a tone on one letter (ệ, ở, ẵ).
pub const MAX_MARKS_PER_LETTER: usize = 2;

impl NameParts {
    /// Builds name parts from separate fields, each normalised to NFC. Each part must be
    /// Latin letters (with Vietnamese marks, at most [`MAX_MARKS_PER_LETTER`] on a letter),
    /// spaces, `-` or `'`; control, bidirectional and invisible characters are refused, not
    /// rewritten. Every violation names its field (`family_name`, `middle_name`,
    /// `given_name`).
    pub fn new(family: &str, middle: &str, given: &str) -> Result<Self, Violation> {
        for (field, raw) in [("family_name", family), ("middle_name", middle), ("given_name", given)] {
            check_no_hidden_chars(field, raw)?;
        }
        let parts = NameParts { family: nfc(family), middle: nfc(middle), given: nfc(given) };
        for (field, value) in [("family_name", &parts.family), ("given_name", &parts.given)] {
            if value.is_empty() {
                return Err(Violation::new(
                    field,
                    "name.required",
                    "Không được để trống",
                    "must not be empty",
                ));
            }
        }
        for (field, value) in
            [("family_name", &parts.family), ("middle_name", &parts.middle), ("given_name", &parts.given)]
        {
            check_name_chars(field, value)?;
        }
        Ok(parts)
    }

    /// Splits a full name: first word family, last word given, the rest middle.
    pub fn parse_full(full: &str) -> Result<Self, Violation> {
        check_no_hidden_chars("full_name", full)?;
        let full = nfc(full);
        let words: Vec<&str> = full.split(' ').filter(|w| !w.is_empty()).collect();
        if words.len() < 2 {
            return Err(Violation::new(
                "full_name",
                "name.too_short",
                "Họ và tên phải có ít nhất hai từ",
                "a full name needs at least two words",
            ));
        }
        let middle = words[1..words.len() - 1].join(" ");
        NameParts::new(words[0], &middle, words[words.len() - 1])
    }

    pub fn full(&self) -> String {
        let mut s = self.family.clone();
        for p in [&self.middle, &self.given] {
            if !p.is_empty() {
                s.push(' ');
                s.push_str(p);
            }
        }
        s
    }

    pub fn key(&self) -> String {
        fold_key(&self.full())
    }
}

fn check_name_chars(field: &str, value: &str) -> Result<(), Violation> {
    if value.chars().count() > 100 {
        return Err(Violation::new(
            field,
            "name.too_long",
            "Dài quá 100 ký tự",
            "longer than 100 characters",
        ));
    }
    let invalid = |c: char| {
        Violation::new(
            field,
            "name.invalid_char",
            format!("Ký tự không hợp lệ trong tên: {c:?}"),
            format!("invalid character in a name: {c:?}"),
        )
    };
    let mut marks = 0;
    let mut after_letter = false;
    for c in value.nfd() {
        if is_combining_mark(c) {
            if !after_letter || !VIETNAMESE_MARKS.contains(&c) {
                return Err(invalid(c));
            }
            marks += 1;
            if marks > MAX_MARKS_PER_LETTER {
                return Err(Violation::new(
                    field,
                    "name.too_many_marks",
                    format!("Một chữ cái có nhiều hơn {MAX_MARKS_PER_LETTER} dấu"),
                    format!("a letter carries more than {MAX_MARKS_PER_LETTER} marks"),
                ));
            }
        } else if c.is_ascii_alphabetic() || c == 'đ' || c == 'Đ' {
            marks = 0;
            after_letter = true;
        } else if c == ' ' || c == '-' || c == '\'' {
            marks = 0;
            after_letter = false;
        } else if c.is_alphabetic() {
            // Cyrillic, Greek and other scripts (look-alikes such as Cyrillic а or о
            // included), and Latin letters Vietnamese does not write.
            return Err(Violation::new(
                field,
                "name.script",
                format!("Tên chỉ dùng chữ cái Latinh có dấu tiếng Việt, không dùng {c:?}"),
                format!("a name uses Latin letters with Vietnamese marks only, not {c:?}"),
            ));
        } else {
            return Err(invalid(c));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_marks_and_d() {
        assert_eq!(fold_key("  Nguyễn   Thị  Đào "), "nguyen thi dao");
        assert_eq!(fold_key("Hoà"), fold_key("Hòa"));
        assert_eq!(fold_key("Thuỷ"), fold_key("Thủy"));
        assert_eq!(fold_key("ĐẶNG"), "dang");
    }

    #[test]
    fn nfc_and_nfd_are_equal_after_nfc() {
        let nfd: String = "Nguyễn Văn Ấn".nfd().collect();
        assert_ne!(nfd, "Nguyễn Văn Ấn");
        assert_eq!(nfc(&nfd), "Nguyễn Văn Ấn");
    }

    #[test]
    fn splits_full_names() {
        let n = NameParts::parse_full("Nguyễn Thị Ngọc  Ánh").unwrap();
        assert_eq!((n.family.as_str(), n.middle.as_str(), n.given.as_str()), ("Nguyễn", "Thị Ngọc", "Ánh"));
        assert_eq!(n.full(), "Nguyễn Thị Ngọc Ánh");
        let n = NameParts::parse_full("Lý Hùng").unwrap();
        assert_eq!(n.middle, "");
        assert_eq!(NameParts::parse_full("Hùng").unwrap_err().rule, "name.too_short");
        assert_eq!(NameParts::new("Lê", "", "An1").unwrap_err().rule, "name.invalid_char");
    }

    #[test]
    fn names_refuse_hidden_characters_other_scripts_and_stacked_marks() {
        let rule =
            |f: &str, m: &str, g: &str| NameParts::new(f, m, g).map(|_| ()).map_err(|v| (v.field, v.rule));
        assert_eq!(rule("Nguyễn", "Thị Ngọc", "Ánh"), Ok(()));
        assert_eq!(rule("Nguyễn", "", "Hoà"), Ok(()));
        assert_eq!(rule("H'Hen", "", "Niê"), Ok(()));
        let nfd: String = "Nguyễn Ệ".nfd().collect();
        assert_eq!(rule(&nfd, "", "Ánh"), Ok(()), "NFD input is fine");
        // Control characters are refused, not rewritten to spaces.
        assert_eq!(rule("Lê", "Văn\tA", "An"), Err(("middle_name".into(), "text.control_char")));
        assert_eq!(rule("Lê", "", "An\n"), Err(("given_name".into(), "text.control_char")));
        assert_eq!(rule("Lê\u{202E}", "", "An"), Err(("family_name".into(), "text.control_char")));
        assert_eq!(rule("Lê", "", "A\u{200B}n"), Err(("given_name".into(), "text.control_char")));
        // Cyrillic а (U+0430) and Greek ο look like Latin letters.
        assert_eq!(rule("Lê", "", "\u{0430}n"), Err(("given_name".into(), "name.script")));
        assert_eq!(rule("Hοàng", "", "An"), Err(("family_name".into(), "name.script")));
        assert_eq!(rule("Lê", "", "Ø"), Err(("given_name".into(), "name.script")));
        // Stacked and foreign marks.
        let stacked = format!("A{}", "\u{0301}".repeat(50));
        assert_eq!(rule("Lê", "", &stacked), Err(("given_name".into(), "name.too_many_marks")));
        assert_eq!(rule("Lê", "", "A\u{0308}n"), Err(("given_name".into(), "name.invalid_char")));
        assert_eq!(rule("Lê", "", "\u{0301}An"), Err(("given_name".into(), "name.invalid_char")));
        assert_eq!(NameParts::parse_full("Lê\tVăn An").unwrap_err().rule, "text.control_char");
    }

    proptest! {
        #[test]
        fn fold_key_is_idempotent_and_ascii_for_vietnamese(s in "[a-zA-ZàáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĐ ]{0,40}") {
            let k = fold_key(&s);
            prop_assert_eq!(fold_key(&k), k.clone());
            prop_assert!(k.is_ascii());
            prop_assert!(!k.contains("  "));
            let nfd: String = s.nfd().collect();
            prop_assert_eq!(fold_key(&nfd), k);
        }

        #[test]
        fn nfc_quick_path_agrees_with_the_full_one(s in "[ \t\u{a0}a-zA-Zàáảãạăằđèéẻẽẹêềếểễệ\u{300}\u{301}\u{303}\u{309}\u{323}]{0,30}") {
            prop_assert_eq!(nfc(&s), nfc_by_word(&s));
            let nfd: String = s.nfd().collect();
            prop_assert_eq!(nfc(&nfd), nfc_by_word(&nfd));
        }

        #[test]
        fn nfc_is_idempotent(s in "\\PC{0,40}") {
            let once = nfc(&s);
            prop_assert_eq!(nfc(&once), once);
        }
    }
}
