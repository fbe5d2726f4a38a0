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
pub struct NameParts {
    pub family: String,
    pub middle: String,
    pub given: String,
}

impl NameParts {
    /// Builds name parts from separate fields, each normalised to NFC.
    pub fn new(family: &str, middle: &str, given: &str) -> Result<Self, Violation> {
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
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_alphabetic() || is_combining_mark(*c) || *c == ' ' || *c == '-' || *c == '\''))
    {
        return Err(Violation::new(
            field,
            "name.invalid_char",
            format!("Ký tự không hợp lệ trong tên: {c:?}"),
            format!("invalid character in a name: {c:?}"),
        ));
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
