//! Vietnam's working-day calendar: which days public bodies work, and due dates counted in
//! working days ("trong thời hạn N ngày làm việc"), as the statutory processing times of
//! public services and the card appointment slip require.
//!
//! - [`lunar`]: the Vietnamese lunar calendar (Tết and Hùng Kings' day move with it);
//! - [`holidays`]: the Labour Code's holidays plus the government's yearly announcements
//!   (`data/holidays.csv`, configurable);
//! - [`WorkingCalendar`]: a precomputed table per day over a range of years, so a due date
//!   is two array reads (millions per second; `examples/due_bench.rs` measures it).
//!
//! Rules and sources: docs/CALENDAR.md.

pub mod holidays;
pub mod lunar;

pub use holidays::{is_weekend, HolidayKind, HolidayRules};
pub use lunar::{from_lunar, to_lunar, LunarDate};

use chrono::{Datelike, Duration, NaiveDate};
use std::ops::RangeInclusive;
use std::sync::LazyLock;

/// Working days of public bodies over a range of years, precomputed; dates outside the range
/// are answered from the rules directly (slower, same result).
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    rules: HolidayRules,
    years: RangeInclusive<i32>,
    /// Day number (chrono's days from CE) of 1 January of the first year.
    base: i32,
    /// `before[i]`: working days among the days `base .. base + i` (exclusive), so
    /// `before.len()` is the number of days covered plus one.
    before: Vec<u32>,
    /// `working[k]`: offset from `base` of the k-th working day in the range.
    working: Vec<u32>,
}

/// The years the shipped calendar precomputes.
pub const SHIPPED_YEARS: RangeInclusive<i32> = 2000..=2100;

static VIETNAM: LazyLock<WorkingCalendar> =
    LazyLock::new(|| WorkingCalendar::new(HolidayRules::shipped(), SHIPPED_YEARS));

impl WorkingCalendar {
    /// The calendar of `rules`, precomputed over `years`.
    pub fn new(rules: HolidayRules, years: RangeInclusive<i32>) -> Self {
        let first = NaiveDate::from_ymd_opt(*years.start(), 1, 1).expect("year in chrono's range");
        let base = first.num_days_from_ce();
        let mut before = vec![0u32];
        let mut working = Vec::new();
        let mut offset = 0u32;
        for year in years.clone() {
            let special = rules.year(year);
            let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            while d.year() == year {
                let is_working = match special.get(&d) {
                    Some(kind) => !kind.is_day_off(),
                    None => !is_weekend(d),
                };
                if is_working {
                    working.push(offset);
                }
                before.push(working.len() as u32);
                offset += 1;
                d += Duration::days(1);
            }
        }
        WorkingCalendar { rules, years, base, before, working }
    }

    /// The shipped calendar: the Labour Code's rules with `data/holidays.csv`.
    pub fn vietnam() -> &'static WorkingCalendar {
        &VIETNAM
    }

    /// The rules this calendar was built from.
    pub fn rules(&self) -> &HolidayRules {
        &self.rules
    }

    /// The years precomputed.
    pub fn years(&self) -> RangeInclusive<i32> {
        self.years.clone()
    }

    /// Offset of `d` from the start of the table, if inside it.
    fn index(&self, d: NaiveDate) -> Option<usize> {
        let i = d.num_days_from_ce() - self.base;
        (i >= 0 && (i as usize) + 1 < self.before.len()).then_some(i as usize)
    }

    fn slow_is_working(&self, d: NaiveDate) -> bool {
        match self.rules.year(d.year()).get(&d) {
            Some(kind) => !kind.is_day_off(),
            None => !is_weekend(d),
        }
    }

    /// Whether public bodies work on `d`.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.index(d) {
            Some(i) => self.before[i + 1] > self.before[i],
            None => self.slow_is_working(d),
        }
    }

    /// Why `d` is special: a holiday or day off (also on weekends), or a swapped working day.
    /// `None` for an ordinary weekday or weekend day.
    pub fn holiday(&self, d: NaiveDate) -> Option<HolidayKind> {
        self.rules.year(d.year()).get(&d).copied()
    }

    /// The `n`th working day after `start` (`start` itself does not count; `n = 0` gives
    /// `start`). This is the due date of "within n working days from receipt on `start`".
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return start;
        }
        if let Some(i) = self.index(start) {
            let k = self.before[i + 1] as usize + n as usize - 1;
            if let Some(&off) = self.working.get(k) {
                return NaiveDate::from_num_days_from_ce_opt(self.base + off as i32)
                    .expect("inside the table");
            }
        }
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days in `(from, to]` (negative if `to` is before `from`): the inverse of
    /// [`add_working_days`](Self::add_working_days), and how late an application finished
    /// when `from` is its due date and `to` the completion day.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        if let (Some(a), Some(b)) = (self.index(from), self.index(to)) {
            return i64::from(self.before[b + 1]) - i64::from(self.before[a + 1]);
        }
        let mut count = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_working_day(d) {
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn due_dates_skip_tet_and_swaps() {
        let cal = WorkingCalendar::vietnam();
        // Received Wednesday 07/02/2024: Tết 08/02–14/02 is off, so 7 working days end on
        // Friday 23/02 (15, 16, 19, 20, 21, 22, 23).
        assert_eq!(cal.add_working_days(day(2024, 2, 7), 7), day(2024, 2, 23));
        // Saturday 04/05/2024 is worked (swap for Monday 29/04).
        assert!(cal.is_working_day(day(2024, 5, 4)));
        assert!(!cal.is_working_day(day(2024, 4, 29)));
        assert_eq!(cal.holiday(day(2024, 4, 29)), Some(HolidayKind::Announced));
        // Friday 26/04/2024 + 3 working days: 02/05 (29/04, 30/04, 01/05 off), 03/05, 04/05.
        assert_eq!(cal.add_working_days(day(2024, 4, 26), 3), day(2024, 5, 4));
        // Quốc khánh 2025: 01–02/09 off; Friday 29/08 + 1 = Wednesday 03/09.
        assert_eq!(cal.add_working_days(day(2025, 8, 29), 1), day(2025, 9, 3));
    }

    #[test]
    fn working_days_per_year_are_plausible() {
        let cal = WorkingCalendar::vietnam();
        for y in 2020..=2035 {
            let n = cal.working_days_between(day(y - 1, 12, 31), day(y, 12, 31));
            // 260–262 weekdays a year, minus 10–11 holidays and their compensations.
            assert!((243..=252).contains(&n), "{y}: {n}");
        }
        // 2024 exactly: 262 weekdays − 12 weekdays off + 1 swapped Saturday = 251.
        assert_eq!(cal.working_days_between(day(2023, 12, 31), day(2024, 12, 31)), 251);
    }

    #[test]
    fn outside_the_table_agrees_with_inside() {
        let narrow = WorkingCalendar::new(HolidayRules::shipped(), 2024..=2024);
        let wide = WorkingCalendar::vietnam();
        for (start, n) in [(day(2024, 12, 20), 30), (day(2023, 12, 1), 40), (day(2022, 6, 1), 500)] {
            assert_eq!(narrow.add_working_days(start, n), wide.add_working_days(start, n));
            let end = wide.add_working_days(start, n);
            assert_eq!(narrow.working_days_between(start, end), i64::from(n));
        }
        assert!(!narrow.is_working_day(day(2025, 1, 29)));
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // 1995..=2105: inside and outside the shipped table.
        (0i64..(111 * 365)).prop_map(|i| day(1995, 1, 1) + Duration::days(i))
    }

    proptest! {
        #[test]
        fn add_lands_on_a_working_day_and_between_inverts_it(d in any_date(), n in 1u32..400) {
            let cal = WorkingCalendar::vietnam();
            let due = cal.add_working_days(d, n);
            prop_assert!(due > d);
            prop_assert!(cal.is_working_day(due));
            prop_assert_eq!(cal.working_days_between(d, due), i64::from(n));
            prop_assert_eq!(cal.working_days_between(due, d), -i64::from(n));
            // The day before the due date is still short of n.
            prop_assert_eq!(cal.working_days_between(d, due - Duration::days(1)), i64::from(n) - 1);
        }

        #[test]
        fn adding_is_additive(d in any_date(), a in 0u32..200, b in 0u32..200) {
            let cal = WorkingCalendar::vietnam();
            prop_assert_eq!(cal.add_working_days(cal.add_working_days(d, a), b), cal.add_working_days(d, a + b));
        }

        #[test]
        fn weekends_work_only_when_swapped(d in any_date()) {
            let cal = WorkingCalendar::vietnam();
            if is_weekend(d) && cal.is_working_day(d) {
                prop_assert_eq!(cal.holiday(d), Some(HolidayKind::SwappedWorkday));
            }
            if !is_weekend(d) && !cal.is_working_day(d) {
                prop_assert!(cal.holiday(d).is_some_and(HolidayKind::is_day_off));
            }
        }

        #[test]
        fn between_counts_the_table(a in any_date(), len in 0i64..800) {
            let cal = WorkingCalendar::vietnam();
            let b = a + Duration::days(len);
            let mut count = 0;
            let mut d = a;
            while d < b {
                d += Duration::days(1);
                if cal.is_working_day(d) { count += 1; }
            }
            prop_assert_eq!(cal.working_days_between(a, b), count);
        }
    }
}
