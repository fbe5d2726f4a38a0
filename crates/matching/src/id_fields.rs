//! What a personal ID says besides itself. A Vietnamese personal ID encodes the birth year
//! (4th digit the century, 5th–6th the year) and the sex (4th digit even for men, odd for
//! women): a row with an ID and no birth date or sex still says them, and a birth year read
//! from the ID that contradicts the other row's date tells same-name siblings apart
//! (`compare::date_level`). That holds for real IDs. A list whose ID column holds numbers
//! that only look like IDs (made up, or another register's numbers) would inject noise, so
//! the list itself is asked first: among its rows that give both an ID and a birth date
//! (a sex), do the two agree? Only when they mostly do are the encoded fields used.

use crate::record::{Record, Sym};

/// Rows giving both an ID and the field below which the list is too small to judge, and
/// the IDs are trusted (a registry export, a test).
const MIN_ROWS: u64 = 100;
/// Share of such rows that must agree. Real lists agree far above it (a birth-date typo or
/// a wrong sex in a few percent of rows); IDs unrelated to the row agree on the year in
/// about one row in a hundred and on the sex in about half.
const MIN_AGREEMENT: f64 = 0.8;

/// How the list's IDs fared, for the run's summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdFields {
    pub year_agreement: Option<f64>,
    pub sex_agreement: Option<f64>,
    pub year_used: bool,
    pub sex_used: bool,
}

/// Checks the encoded birth year and sex against the rows' own fields, clears them when the
/// list's IDs do not carry them, and fills the sex category (`sex` = the symbols of `m` and
/// `f`) of rows that leave it empty.
pub fn check(records: &mut [Record], sex: Option<(usize, Sym, Sym)>) -> IdFields {
    let share = |(agree, all): (u64, u64)| (all >= MIN_ROWS).then(|| agree as f64 / all as f64);
    let trusted = |s: Option<f64>| s.is_none_or(|s| s >= MIN_AGREEMENT);
    let years = records
        .iter()
        .filter(|r| r.id_year != 0 && r.date.year != 0)
        .fold((0, 0), |(a, n), r| (a + (r.id_year == r.date.year) as u64, n + 1));
    let year_agreement = share(years);
    let sexes = match sex {
        Some((k, m, f)) => {
            records.iter().filter(|r| r.id_sex != 0 && r.cats[k] != 0).fold((0, 0), |(a, n), r| {
                let given = if r.cats[k] == m {
                    1
                } else if r.cats[k] == f {
                    2
                } else {
                    0
                };
                (a + (given == r.id_sex) as u64, n + 1)
            })
        }
        None => (0, 0),
    };
    let sex_agreement = share(sexes);
    let year_used = trusted(year_agreement);
    let sex_used = year_used && sex.is_some() && trusted(sex_agreement);
    for r in records.iter_mut() {
        if !year_used {
            r.id_year = 0;
        }
        if let (true, Some((k, m, f))) = (sex_used, sex) {
            if r.cats[k] == 0 && r.id_sex != 0 {
                r.cats[k] = if r.id_sex == 1 { m } else { f };
            }
        }
        if !sex_used {
            r.id_sex = 0;
        }
    }
    IdFields { year_agreement, sex_agreement, year_used, sex_used }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::Ymd;

    fn row(id_year: u16, id_sex: u8, year: u16, sex: Sym) -> Record {
        let mut r = Record { id_year, id_sex, date: Ymd { year, month: 1, day: 2 }, ..Default::default() };
        r.cats[0] = sex;
        r
    }

    const M: Sym = 7;
    const F: Sym = 9;

    #[test]
    fn ids_that_agree_with_their_rows_fill_the_sex() {
        let mut rows: Vec<Record> =
            (0..200).map(|i| row(1980, 1 + (i % 2) as u8, 1980, [M, F][i % 2])).collect();
        rows.push(row(1990, 2, 0, 0));
        let c = check(&mut rows, Some((0, M, F)));
        assert!(c.year_used && c.sex_used, "{c:?}");
        assert_eq!(rows[200].cats[0], F);
        assert_eq!(rows[200].id_year, 1990);
    }

    #[test]
    fn ids_that_say_another_year_are_not_read() {
        // Made-up IDs: the year they encode is unrelated to the row's date.
        let mut rows: Vec<Record> =
            (0..200).map(|i| row(1900 + (i * 37 % 100) as u16, 1, 1950 + (i % 50) as u16, M)).collect();
        rows.push(row(1990, 2, 0, 0));
        let c = check(&mut rows, Some((0, M, F)));
        assert!(!c.year_used && !c.sex_used, "{c:?}");
        assert!(rows.iter().all(|r| r.id_year == 0 && r.id_sex == 0));
        assert_eq!(rows[200].cats[0], 0);
    }

    #[test]
    fn ids_whose_sex_digit_is_unrelated_keep_their_year_only() {
        let mut rows: Vec<Record> = (0..200).map(|i| row(1980, 1 + (i % 2) as u8, 1980, M)).collect();
        rows.push(row(1990, 2, 0, 0));
        let c = check(&mut rows, Some((0, M, F)));
        assert!(c.year_used && !c.sex_used, "{c:?}");
        assert_eq!(rows[200].cats[0], 0);
        assert_eq!(rows[200].id_year, 1990);
    }

    #[test]
    fn a_small_list_trusts_its_ids() {
        let mut rows = vec![row(1980, 1, 1999, F), row(1990, 2, 0, 0)];
        let c = check(&mut rows, Some((0, M, F)));
        assert!(c.year_used && c.sex_used && c.year_agreement.is_none());
        assert_eq!(rows[1].cats[0], F);
    }
}
