//! The day a card is ready, written on the appointment slip (giấy hẹn trả kết quả) an officer
//! hands the citizen at intake.
//!
//! Law on Identification No. 26/2023/QH15, Art. 26 (our reading, *unconfirmed* like the other
//! article numbers in docs/IDENTITY.md): the identification authority issues, changes or
//! re-issues the card within 7 working days of receiving a complete file. Working days are
//! those of the public bodies' calendar (`dancu_domain::calendar`): Monday to Friday without
//! public holidays, Tết and compensatory days off, plus swapped working Saturdays.

use chrono::NaiveDate;
use dancu_domain::WorkingCalendar;

/// Working days from a complete file to the card (Art. 26).
pub const PROCESSING_WORKING_DAYS: u32 = 7;

/// The appointment day for a file taken in on `intake`: the [`PROCESSING_WORKING_DAYS`]th
/// working day after it (the intake day itself does not count), on the shipped calendar.
pub fn appointment_day(intake: NaiveDate) -> NaiveDate {
    appointment_day_in(WorkingCalendar::vietnam(), intake)
}

/// [`appointment_day`] on a given calendar (for a province's configured table, or tests).
pub fn appointment_day_in(calendar: &WorkingCalendar, intake: NaiveDate) -> NaiveDate {
    calendar.add_working_days(intake, PROCESSING_WORKING_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

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
    fn public_holidays_are_skipped() {
        // Thursday 12/02/2026: Fri 13, then Tết Bính Ngọ 14/02–22/02 is off; Mon 23 … Thu 26,
        // Fri 27 (6), Mon 02/03 (7).
        assert_eq!(appointment_day(day(2026, 2, 12)), day(2026, 3, 2));
        // Friday 24/04/2026: Hùng Kings' day is Sunday 26/04, compensated Monday 27/04; 30/04
        // and 01/05 are off: Tue 28, Wed 29, Mon 04/05 … Fri 08/05 (7).
        assert_eq!(appointment_day(day(2026, 4, 24)), day(2026, 5, 8));
        // Friday 26/04/2024 with the swap: Saturday 04/05/2024 is a working day.
        assert_eq!(appointment_day(day(2024, 4, 26)), day(2024, 5, 9));
    }

    #[test]
    fn the_appointment_is_a_working_day_seven_working_days_later() {
        let cal = WorkingCalendar::vietnam();
        let mut d = day(2026, 1, 1);
        for _ in 0..400 {
            let a = appointment_day(d);
            assert!(cal.is_working_day(a), "{a}");
            assert_eq!(cal.working_days_between(d, a), 7, "{d} → {a}");
            // Never earlier than seven weekdays would give.
            assert!((a - d).num_days() >= 9, "{d} → {a}");
            d += Duration::days(1);
        }
    }
}
