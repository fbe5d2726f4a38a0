//! Code lists kept as data (`data/ethnicities.csv`, `data/religions.csv`): the 54 ethnic
//! groups (1979 statistics-office numbering) and the 16 recognised religions (00 = none).
//! The share column is an approximate population share used by the generator.

use std::sync::LazyLock;

#[derive(Debug, Clone)]
pub struct CodeEntry {
    pub code: String,
    pub name: String,
    pub share: f64,
}

fn load(csv: &str) -> Vec<CodeEntry> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut p = l.split(',');
            CodeEntry {
                code: p.next().unwrap().into(),
                name: p.next().unwrap().into(),
                share: p.next().unwrap().trim().parse().unwrap(),
            }
        })
        .collect()
}

static ETHNICITIES: LazyLock<Vec<CodeEntry>> =
    LazyLock::new(|| load(include_str!("../../../data/ethnicities.csv")));
static RELIGIONS: LazyLock<Vec<CodeEntry>> =
    LazyLock::new(|| load(include_str!("../../../data/religions.csv")));

pub fn ethnicities() -> &'static [CodeEntry] {
    &ETHNICITIES
}

pub fn religions() -> &'static [CodeEntry] {
    &RELIGIONS
}

pub fn ethnicity_name(code: &str) -> Option<&'static str> {
    ETHNICITIES.iter().find(|e| e.code == code).map(|e| e.name.as_str())
}

pub fn religion_name(code: &str) -> Option<&'static str> {
    RELIGIONS.iter().find(|e| e.code == code).map(|e| e.name.as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_are_complete() {
        assert_eq!(super::ethnicities().len(), 54);
        assert_eq!(super::religions().len(), 17);
        assert_eq!(super::ethnicity_name("01"), Some("Kinh"));
    }
}
