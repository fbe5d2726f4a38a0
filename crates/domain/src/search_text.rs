//! What an officer types in the one search box, read the way they mean it: a personal ID
//! written with spaces, dots or dashes (`001 085 001 234`, `001.085.001.234`); name words in
//! any order, each possibly cut short (`an nguyen`, `nguy v an`); and a birth year among
//! them (`An 1985`). Marks, case and `đ` do not matter (`fold_key`).

use crate::text::fold_key;

/// The search box's text, interpreted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchText {
    /// Only digits (and separators) were typed: the digits, to be checked as an ID.
    pub digits: Option<String>,
    /// Folded name words, in the order typed; each matches the start of a word of the name.
    pub words: Vec<String>,
    /// A four-digit year (1900–2100) typed among the words.
    pub birth_year: Option<i32>,
}

/// Reads the search box. Separators inside an ID are dropped; any other punctuation
/// separates words.
pub fn read_search_text(text: &str) -> SearchText {
    let trimmed = text.trim();
    let compact: String = trimmed.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}')).collect();
    if !compact.is_empty() && compact.bytes().all(|b| b.is_ascii_digit()) && compact.len() >= 9 {
        return SearchText { digits: Some(compact), ..Default::default() };
    }
    let folded = fold_key(trimmed);
    let mut out = SearchText::default();
    for w in folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let year =
            (w.len() == 4).then(|| w.parse::<i32>().ok()).flatten().filter(|y| (1900..=2100).contains(y));
        match year {
            Some(y) if out.birth_year.is_none() => out.birth_year = Some(y),
            _ => out.words.push(w.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_separators_are_ids() {
        for typed in ["001085001234", "001 085 001 234", "001.085.001.234", " 001-085-001-234 "] {
            assert_eq!(read_search_text(typed).digits.as_deref(), Some("001085001234"), "{typed}");
        }
    }

    #[test]
    fn words_in_any_order_with_a_year() {
        let s = read_search_text("Ấn  NGUYỄN 1985");
        assert_eq!(s.words, vec!["an", "nguyen"]);
        assert_eq!(s.birth_year, Some(1985));
        assert_eq!(s.digits, None);
        let s = read_search_text("Đặng-thị, Hoà");
        assert_eq!(s.words, vec!["dang", "thi", "hoa"]);
    }

    #[test]
    fn short_numbers_are_not_ids_or_years() {
        let s = read_search_text("an 85");
        assert_eq!((s.words, s.birth_year, s.digits), (vec!["an".to_string(), "85".to_string()], None, None));
    }
}
