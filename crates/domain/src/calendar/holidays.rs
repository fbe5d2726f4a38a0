//! Vietnam's public holidays year by year: the statutory rules of the Labour Code, plus the
//! government's yearly decisions (the Tết days, compensatory days off, swapped working days)
//! read from a data file (`data/holidays.csv`) so that an administrator can add a new year's
//! announcement without a new release.
//!
//! Statutory rules (Labour Code No. 45/2019/QH14, Art. 112(1), in force 01/01/2021; before
//! 2021 the Labour Code 2012, Art. 115, which gave Quốc khánh one day only):
//! - Tết Dương lịch: 1 January;
//! - Tết Âm lịch: 5 days, placed by the Prime Minister each year;
//! - Giỗ Tổ Hùng Vương: 10/3 of the lunar calendar;
//! - Ngày Chiến thắng: 30 April; Quốc tế lao động: 1 May;
//! - Quốc khánh: 2 September and one adjacent day (1 or 3 September), placed by the
//!   Prime Minister.
//!
//! Weekly rest for public bodies is Saturday and Sunday (Decision 188/1999/QĐ-TTg, 40-hour
//! week). A holiday that falls on a weekly rest day is compensated on the next working day
//! (Labour Code 2019 Art. 111(3)).
//!
//! When the data file lists no Tết days for a year, the default placement is the last day of
//! the lunar year and the 1st to 4th of month 1, each one falling on a weekend compensated
//! on the next working day. When 2 September's adjacent day is not announced, the default is
//! the one that joins a weekend: 3 September when 2 September is a Sunday, Monday or
//! Thursday, 1 September otherwise (Wednesday: 1 September, our choice, *unconfirmed*).
//! Lines of kind `off` or `work` in the file override everything for their date.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use std::collections::BTreeMap;

use super::lunar;
use crate::error::Violation;

/// Why a day is not a working day (or, for `SwappedWorkday`, why a weekend day is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidayKind {
    NewYear,
    Tet,
    HungKings,
    Reunification,
    Labour,
    NationalDay,
    /// A holiday fell on a weekend: the next working day is off (Art. 111(3)).
    Compensatory,
    /// A day off the government announced (a swap, or a one-off decision).
    Announced,
    /// A weekend day worked in exchange for an announced day off (làm bù).
    SwappedWorkday,
}

impl HolidayKind {
    /// The stable code used in the data file and in APIs.
    pub fn code(self) -> &'static str {
        match self {
            HolidayKind::NewYear => "new_year",
            HolidayKind::Tet => "tet",
            HolidayKind::HungKings => "hung_kings",
            HolidayKind::Reunification => "reunification",
            HolidayKind::Labour => "labour",
            HolidayKind::NationalDay => "national_day",
            HolidayKind::Compensatory => "compensatory",
            HolidayKind::Announced => "off",
            HolidayKind::SwappedWorkday => "work",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            HolidayKind::NewYear => "Tết Dương lịch",
            HolidayKind::Tet => "Tết Âm lịch",
            HolidayKind::HungKings => "Giỗ Tổ Hùng Vương",
            HolidayKind::Reunification => "Ngày Chiến thắng",
            HolidayKind::Labour => "Ngày Quốc tế lao động",
            HolidayKind::NationalDay => "Quốc khánh",
            HolidayKind::Compensatory => "Nghỉ bù",
            HolidayKind::Announced => "Nghỉ theo thông báo của Chính phủ",
            HolidayKind::SwappedWorkday => "Làm bù",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            HolidayKind::NewYear => "New Year's Day",
            HolidayKind::Tet => "Lunar New Year (Tết)",
            HolidayKind::HungKings => "Hùng Kings' Commemoration Day",
            HolidayKind::Reunification => "Reunification Day",
            HolidayKind::Labour => "International Workers' Day",
            HolidayKind::NationalDay => "National Day",
            HolidayKind::Compensatory => "Compensatory day off",
            HolidayKind::Announced => "Day off announced by the government",
            HolidayKind::SwappedWorkday => "Swapped working day",
        }
    }

    /// Whether the day is off (every kind but `SwappedWorkday`).
    pub fn is_day_off(self) -> bool {
        self != HolidayKind::SwappedWorkday
    }
}

/// Saturday or Sunday.
pub fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The statutory rules plus the government's announced decisions.
#[derive(Debug, Clone, Default)]
pub struct HolidayRules {
    /// Announced Tết days off (weekdays) by Gregorian year; replaces the default placement.
    tet: BTreeMap<i32, Vec<NaiveDate>>,
    /// `off` / `work` lines: the final word for their date.
    overrides: BTreeMap<NaiveDate, HolidayKind>,
}

/// The table shipped with dancu (announcements 2020–2026; see the file's comments).
pub const SHIPPED_TABLE: &str = include_str!("../../../../data/holidays.csv");

impl HolidayRules {
    /// Only the statutory rules and default placements, no announcements.
    pub fn statutory() -> Self {
        HolidayRules::default()
    }

    /// The rules with the shipped table of announcements.
    pub fn shipped() -> Self {
        HolidayRules::parse(SHIPPED_TABLE).expect("data/holidays.csv is valid (tested)")
    }

    /// Reads a table: a header `date,kind,note`, then one line per date; `kind` is `tet`
    /// (an announced Tết day off), `off` (a day off: swap or one-off decision) or `work` (a
    /// weekend day worked in exchange). Lines starting with `#` and blank lines are skipped.
    /// The note is free text (it may contain commas).
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let mut rules = HolidayRules::default();
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        match lines.next() {
            Some((_, h)) if h.trim() == "date,kind,note" => {}
            _ => {
                return Err(Violation::new(
                    "holidays.header",
                    "holidays.header",
                    "Dòng đầu phải là \"date,kind,note\"",
                    "The first line must be \"date,kind,note\"",
                ))
            }
        }
        for (i, line) in lines {
            let n = i + 1;
            let mut parts = line.splitn(3, ',');
            let date_s = parts.next().unwrap_or("").trim();
            let kind_s = parts.next().unwrap_or("").trim();
            let date = NaiveDate::parse_from_str(date_s, "%Y-%m-%d").map_err(|_| {
                Violation::new(
                    format!("holidays[{n}].date"),
                    "holidays.date",
                    format!("Dòng {n}: ngày \"{date_s}\" không đúng dạng YYYY-MM-DD"),
                    format!("Line {n}: date \"{date_s}\" is not YYYY-MM-DD"),
                )
            })?;
            let dup = |what: &str| {
                Violation::new(
                    format!("holidays[{n}].date"),
                    "holidays.duplicate",
                    format!("Dòng {n}: ngày {date_s} đã có {what}"),
                    format!("Line {n}: date {date_s} is already listed"),
                )
            };
            match kind_s {
                "tet" => {
                    if is_weekend(date) {
                        return Err(Violation::new(
                            format!("holidays[{n}].date"),
                            "holidays.tet_weekend",
                            format!("Dòng {n}: ngày nghỉ Tết {date_s} là thứ Bảy hoặc Chủ nhật; chỉ ghi các ngày làm việc được nghỉ"),
                            format!("Line {n}: Tết day {date_s} is a weekend day; list only the weekdays off"),
                        ));
                    }
                    let days = rules.tet.entry(date.year()).or_default();
                    if days.contains(&date) {
                        return Err(dup("ở trên"));
                    }
                    days.push(date);
                }
                "off" | "work" => {
                    let kind =
                        if kind_s == "off" { HolidayKind::Announced } else { HolidayKind::SwappedWorkday };
                    if kind == HolidayKind::SwappedWorkday && !is_weekend(date) {
                        return Err(Violation::new(
                            format!("holidays[{n}].date"),
                            "holidays.work_weekday",
                            format!("Dòng {n}: ngày làm bù {date_s} phải là thứ Bảy hoặc Chủ nhật"),
                            format!("Line {n}: swapped working day {date_s} must be a Saturday or Sunday"),
                        ));
                    }
                    if rules.overrides.insert(date, kind).is_some() {
                        return Err(dup("ở trên"));
                    }
                }
                other => {
                    return Err(Violation::new(
                        format!("holidays[{n}].kind"),
                        "holidays.kind",
                        format!("Dòng {n}: loại \"{other}\" không hợp lệ (tet, off, work)"),
                        format!("Line {n}: kind \"{other}\" is not one of tet, off, work"),
                    ))
                }
            }
        }
        for (year, days) in &rules.tet {
            if days.len() != 5 {
                return Err(Violation::new(
                    format!("holidays.tet.{year}"),
                    "holidays.tet_count",
                    format!(
                        "Năm {year}: Tết Âm lịch có 5 ngày nghỉ (Điều 112 Bộ luật Lao động), bảng ghi {}",
                        days.len()
                    ),
                    format!(
                        "Year {year}: Tết has 5 days off (Labour Code Art. 112), the table lists {}",
                        days.len()
                    ),
                ));
            }
        }
        Ok(rules)
    }

    /// Whether the government's Tết days for `year` come from the table.
    pub fn tet_announced(&self, year: i32) -> bool {
        self.tet.contains_key(&year)
    }

    /// Every date of `year` that differs from the plain Monday–Friday week, with the reason:
    /// days off (including those on weekends, for display) and swapped working days.
    pub fn year(&self, year: i32) -> BTreeMap<NaiveDate, HolidayKind> {
        let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).unwrap();
        let mut days: BTreeMap<NaiveDate, HolidayKind> = BTreeMap::new();
        days.insert(ymd(1, 1), HolidayKind::NewYear);
        days.insert(lunar::hung_kings(year), HolidayKind::HungKings);
        days.insert(ymd(4, 30), HolidayKind::Reunification);
        days.insert(ymd(5, 1), HolidayKind::Labour);
        let national = ymd(9, 2);
        days.insert(national, HolidayKind::NationalDay);
        if year >= 2021 {
            let adjacent = match national.weekday() {
                Weekday::Sun | Weekday::Mon | Weekday::Thu => ymd(9, 3),
                _ => ymd(9, 1),
            };
            if !self.overrides.contains_key(&adjacent) {
                days.insert(adjacent, HolidayKind::NationalDay);
            }
        }
        // Holidays on a weekend, each compensated on the next free weekday, in date order.
        let mut to_compensate: Vec<NaiveDate> = days.keys().copied().filter(|d| is_weekend(*d)).collect();
        match self.tet.get(&year) {
            Some(announced) => {
                for d in announced {
                    days.insert(*d, HolidayKind::Tet);
                }
            }
            None => {
                let first = lunar::tet(year);
                for i in -1..=3 {
                    let d = first + Duration::days(i);
                    days.insert(d, HolidayKind::Tet);
                    if is_weekend(d) {
                        to_compensate.push(d);
                    }
                }
            }
        }
        to_compensate.sort();
        for h in to_compensate {
            let mut d = h + Duration::days(1);
            while is_weekend(d) || days.contains_key(&d) {
                d += Duration::days(1);
            }
            days.insert(d, HolidayKind::Compensatory);
        }
        for (d, kind) in self.overrides.range(ymd(1, 1)..=ymd(12, 31)) {
            days.insert(*d, *kind);
        }
        days
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn weekdays_off(rules: &HolidayRules, y: i32) -> Vec<NaiveDate> {
        rules.year(y).into_iter().filter(|(d, k)| k.is_day_off() && !is_weekend(*d)).map(|(d, _)| d).collect()
    }

    #[test]
    fn shipped_table_parses() {
        let r = HolidayRules::shipped();
        for y in 2020..=2026 {
            assert!(r.tet_announced(y), "{y}");
        }
    }

    /// 2023 as announced: Tết 20/01 and 23–26/01; 02/01 for New Year (a Sunday); 02–03/05
    /// for Hùng Kings (Saturday 29/04) and 30/04 (Sunday); 01/09 and 04/09 for Quốc khánh
    /// (Saturday 02/09).
    #[test]
    fn year_2023_as_announced() {
        let r = HolidayRules::shipped();
        assert_eq!(
            weekdays_off(&r, 2023),
            vec![
                day(2023, 1, 2),
                day(2023, 1, 20),
                day(2023, 1, 23),
                day(2023, 1, 24),
                day(2023, 1, 25),
                day(2023, 1, 26),
                day(2023, 5, 1),
                day(2023, 5, 2),
                day(2023, 5, 3),
                day(2023, 9, 1),
                day(2023, 9, 4),
            ]
        );
    }

    /// 2021, 2022 and 2025 as announced: compensatory days for holidays on weekends (03/05/2021;
    /// 03/01, 11/04, 02–03/05/2022), Quốc khánh's adjacent day (03/09/2021, 01/09/2022,
    /// 01/09/2025) and the 2025 swap of Friday 02/05 with Saturday 26/04.
    #[test]
    fn years_2021_2022_2025_as_announced() {
        let r = HolidayRules::shipped();
        let days = |y, list: &[(u32, u32)]| list.iter().map(|(m, d)| day(y, *m, *d)).collect::<Vec<_>>();
        assert_eq!(
            weekdays_off(&r, 2021),
            days(
                2021,
                &[
                    (1, 1),
                    (2, 10),
                    (2, 11),
                    (2, 12),
                    (2, 15),
                    (2, 16),
                    (4, 21),
                    (4, 30),
                    (5, 3),
                    (9, 2),
                    (9, 3)
                ]
            )
        );
        assert_eq!(
            weekdays_off(&r, 2022),
            days(
                2022,
                &[(1, 3), (1, 31), (2, 1), (2, 2), (2, 3), (2, 4), (4, 11), (5, 2), (5, 3), (9, 1), (9, 2)]
            )
        );
        assert_eq!(
            weekdays_off(&r, 2025),
            days(
                2025,
                &[
                    (1, 1),
                    (1, 27),
                    (1, 28),
                    (1, 29),
                    (1, 30),
                    (1, 31),
                    (4, 7),
                    (4, 30),
                    (5, 1),
                    (5, 2),
                    (9, 1),
                    (9, 2)
                ]
            )
        );
        assert_eq!(r.year(2025).get(&day(2025, 4, 26)), Some(&HolidayKind::SwappedWorkday));
    }

    /// 2024: Tết 08–09/02 and 12–14/02; Hùng Kings Thursday 18/04; the swap of Monday 29/04
    /// with Saturday 04/05; Quốc khánh Monday 02/09 and Tuesday 03/09.
    #[test]
    fn year_2024_with_a_swap() {
        let r = HolidayRules::shipped();
        let y = r.year(2024);
        assert_eq!(y.get(&day(2024, 4, 29)), Some(&HolidayKind::Announced));
        assert_eq!(y.get(&day(2024, 5, 4)), Some(&HolidayKind::SwappedWorkday));
        assert_eq!(y.get(&day(2024, 4, 18)), Some(&HolidayKind::HungKings));
        assert_eq!(y.get(&day(2024, 9, 3)), Some(&HolidayKind::NationalDay));
        assert_eq!(weekdays_off(&r, 2024).len(), 1 + 5 + 1 + 1 + 2 + 2);
    }

    /// Without announcements, Tết 2022 (Tuesday 01/02) falls on five weekdays: 31/01–04/02,
    /// which is what the government announced; Tết 2024 (a Saturday) gets two compensatory days.
    #[test]
    fn default_tet_placement() {
        let r = HolidayRules::statutory();
        let tet22: Vec<_> =
            r.year(2022).into_iter().filter(|(_, k)| *k == HolidayKind::Tet).map(|(d, _)| d).collect();
        assert_eq!(tet22, (0..5).map(|i| day(2022, 1, 31) + Duration::days(i)).collect::<Vec<_>>());
        let y24 = r.year(2024);
        assert_eq!(y24.get(&day(2024, 2, 14)), Some(&HolidayKind::Compensatory));
        assert_eq!(y24.get(&day(2024, 2, 15)), Some(&HolidayKind::Compensatory));
    }

    #[test]
    fn national_day_has_one_day_before_2021() {
        let r = HolidayRules::statutory();
        assert_eq!(weekdays_off(&r, 2020).iter().filter(|d| d.month() == 9).count(), 1);
        // 2025: Tuesday 02/09 with Monday 01/09.
        assert_eq!(r.year(2025).get(&day(2025, 9, 1)), Some(&HolidayKind::NationalDay));
    }

    #[test]
    fn bad_tables_name_the_field_and_rule() {
        let rule = |t: &str| HolidayRules::parse(t).unwrap_err().rule;
        assert_eq!(rule("x,y\n"), "holidays.header");
        assert_eq!(rule("date,kind,note\n2024-13-01,off,\n"), "holidays.date");
        assert_eq!(rule("date,kind,note\n2024-04-29,holiday,\n"), "holidays.kind");
        assert_eq!(rule("date,kind,note\n2024-04-29,work,\n"), "holidays.work_weekday");
        assert_eq!(rule("date,kind,note\n2024-02-10,tet,\n"), "holidays.tet_weekend");
        assert_eq!(rule("date,kind,note\n2024-02-08,tet,\n"), "holidays.tet_count");
        assert_eq!(rule("date,kind,note\n2024-04-29,off,a\n2024-04-29,off,b\n"), "holidays.duplicate");
        let e = HolidayRules::parse("date,kind,note\n# c\n2024-04-29,of,\n").unwrap_err();
        assert_eq!(e.field, "holidays[3].kind");
    }
}
