//! The day a card is ready, written on the appointment slip (giấy hẹn trả kết quả) an officer
//! hands the citizen at intake.
//!
//! Law on Identification No. 26/2023/QH15, Art. 26 (our reading, *unconfirmed* like the other
//! article numbers in docs/IDENTITY.md): the identification authority issues, changes or
//! re-issues the card within 7 working days of receiving a complete file. Working days are
//! Monday to Friday; public holidays (Tết, 30/4, 1/5, 2/9 …) are not modelled, so an
//! appointment across one may need moving by hand.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Working days from a complete file to the card (Art. 26).
pub const PROCESSING_WORKING_DAYS: u32 = 7;

fn working(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The appointment day for a file taken in on `intake`: the [`PROCESSING_WORKING_DAYS`]th
/// working day after it (the intake day itself does not count).
pub fn appointment_day(intake: NaiveDate) -> NaiveDate {
    let mut d = intake;
    let mut left = PROCESSING_WORKING_DAYS;
    while left > 0 {
        d += Duration::days(1);
        if working(d) {
            left -= 1;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn seven_working_days_skip_weekends() {
        // Thursday 03/12/2026: Fri 4, Mon 7 … Fri 11 (6 days), Mon 14 (7).
        assert_eq!(appointment_day(day(2026, 12, 3)), day(2026, 12, 14));
        // Monday 07/12/2026: Tue 8 … Fri 11 (4), Mon 14, Tue 15, Wed 16 (7).
        assert_eq!(appointment_day(day(2026, 12, 7)), day(2026, 12, 16));
        // A file taken on a Saturday counts from Monday.
        assert_eq!(appointment_day(day(2026, 12, 5)), day(2026, 12, 15));
    }

    #[test]
    fn the_appointment_is_a_working_day_nine_to_eleven_days_later() {
        let mut d = day(2026, 1, 1);
        for _ in 0..400 {
            let a = appointment_day(d);
            assert!(working(a), "{a}");
            let gap = (a - d).num_days();
            assert!((9..=11).contains(&gap), "{d} → {a}");
            d += Duration::days(1);
        }
    }
}
