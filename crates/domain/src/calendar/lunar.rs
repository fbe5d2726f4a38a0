//! The Vietnamese lunisolar calendar (âm lịch), computed at UTC+7.
//!
//! Algorithm: Hồ Ngọc Đức, "Thuật toán tính âm lịch" (public, https://www.informatik.uni-leipzig.de/~duc/amlich/calrules.html),
//! itself built on the new-moon and solar-longitude series of Jean Meeus, *Astronomical
//! Algorithms* (1998). A lunar month starts on the day (local time) of a new moon; month 11
//! is the month containing the winter solstice; in a year with 13 months the first month
//! after month 11 that contains no principal solar term is the leap month.
//!
//! Vietnam computes at UTC+7 and China at UTC+8, so the two calendars differ in some years
//! (Tết 1985: 21 January in Vietnam, 20 February in China). The time zone is a parameter
//! here only so that a test can show that difference.

use chrono::NaiveDate;
use std::f64::consts::PI;

/// Vietnam's time zone, in hours east of UTC.
pub const VIETNAM_UTC_OFFSET: f64 = 7.0;

/// Julian day number of 0001-01-01 (proleptic Gregorian) minus chrono's day number of it.
const JD_OF_CE_DAY_ZERO: i64 = 1_721_425;

/// A date in the lunar calendar. `leap` marks the intercalary copy of `month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LunarDate {
    pub day: u32,
    pub month: u32,
    pub year: i32,
    pub leap: bool,
}

fn jd(d: NaiveDate) -> i64 {
    i64::from(chrono::Datelike::num_days_from_ce(&d)) + JD_OF_CE_DAY_ZERO
}

fn from_jd(jd: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(jd - JD_OF_CE_DAY_ZERO).ok()?)
}

fn floor(x: f64) -> i64 {
    x.floor() as i64
}

/// Julian day (with fraction, UT) of the `k`th new moon after 1900-01-01 (Meeus ch. 49,
/// abridged as in Hồ Ngọc Đức's code).
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let t2 = t * t;
    let t3 = t2 * t;
    let dr = PI / 180.0;
    let mut jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3;
    jd1 += 0.00033 * ((166.56 + 132.87 * t - 0.009173 * t2) * dr).sin();
    let m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3;
    let mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3;
    let f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3;
    let mut c1 = (0.1734 - 0.000393 * t) * (m * dr).sin() + 0.0021 * (2.0 * dr * m).sin();
    c1 = c1 - 0.4068 * (mpr * dr).sin() + 0.0161 * (dr * 2.0 * mpr).sin();
    c1 -= 0.0004 * (dr * 3.0 * mpr).sin();
    c1 = c1 + 0.0104 * (dr * 2.0 * f).sin() - 0.0051 * (dr * (m + mpr)).sin();
    c1 = c1 - 0.0074 * (dr * (m - mpr)).sin() + 0.0004 * (dr * (2.0 * f + m)).sin();
    c1 = c1 - 0.0004 * (dr * (2.0 * f - m)).sin() - 0.0006 * (dr * (2.0 * f + mpr)).sin();
    c1 = c1 + 0.0010 * (dr * (2.0 * f - mpr)).sin() + 0.0005 * (dr * (2.0 * mpr + m)).sin();
    let deltat = if t < -11.0 {
        0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    } else {
        -0.000278 + 0.000265 * t + 0.000262 * t2
    };
    jd1 + c1 - deltat
}

/// The sun's apparent longitude in radians, normalised to [0, 2π), at Julian day `jdn` (UT).
fn sun_longitude(jdn: f64) -> f64 {
    let t = (jdn - 2451545.0) / 36525.0;
    let t2 = t * t;
    let dr = PI / 180.0;
    let m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
    let l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
    let mut dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * (dr * m).sin();
    dl += (0.019993 - 0.000101 * t) * (dr * 2.0 * m).sin() + 0.000290 * (dr * 3.0 * m).sin();
    let l = (l0 + dl) * dr;
    l - 2.0 * PI * (l / (2.0 * PI)).floor()
}

/// Which of the 12 principal-term sectors (0..=11, 30° each) the sun is in at the start of
/// local day `day`.
fn sun_sector(day: i64, tz: f64) -> i64 {
    floor(sun_longitude(day as f64 - 0.5 - tz / 24.0) / PI * 6.0)
}

/// The local day (Julian day number) of the `k`th new moon.
fn new_moon_day(k: i64, tz: f64) -> i64 {
    floor(new_moon(k) + 0.5 + tz / 24.0)
}

/// The first day of lunar month 11 of Gregorian year `year` (the month of the winter
/// solstice).
fn month_11(year: i32, tz: f64) -> i64 {
    let off = jd(NaiveDate::from_ymd_opt(year, 12, 31).unwrap()) - 2415021;
    let k = floor(off as f64 / 29.530588853);
    let nm = new_moon_day(k, tz);
    if sun_sector(nm, tz) >= 9 {
        new_moon_day(k - 1, tz)
    } else {
        nm
    }
}

/// In a 13-month year starting at month 11 on day `a11`: the offset of the leap month
/// (the first month without a principal term).
fn leap_month_offset(a11: i64, tz: f64) -> i64 {
    let k = floor((a11 as f64 - 2415021.076998695) / 29.530588853 + 0.5);
    let mut i = 1;
    let mut arc = sun_sector(new_moon_day(k + i, tz), tz);
    loop {
        let last = arc;
        i += 1;
        arc = sun_sector(new_moon_day(k + i, tz), tz);
        if arc == last || i >= 14 {
            break;
        }
    }
    i - 1
}

/// The lunar date of a Gregorian date, computed in time zone `tz` (hours east of UTC).
pub fn to_lunar_at(date: NaiveDate, tz: f64) -> LunarDate {
    let day_number = jd(date);
    let year = chrono::Datelike::year(&date);
    // The month containing the day: the last new moon on or before it. The estimate of `k`
    // can be one lunation off near a month boundary (2054-05-07 is one such day, where the
    // published algorithm's single step back gives day 0), so step until it is right.
    let mut k = floor((day_number as f64 - 2415021.076998695) / 29.530588853) + 1;
    while new_moon_day(k, tz) > day_number {
        k -= 1;
    }
    while new_moon_day(k + 1, tz) <= day_number {
        k += 1;
    }
    let month_start = new_moon_day(k, tz);
    let mut a11 = month_11(year, tz);
    let mut b11 = a11;
    let mut lunar_year;
    if a11 >= month_start {
        lunar_year = year;
        a11 = month_11(year - 1, tz);
    } else {
        lunar_year = year + 1;
        b11 = month_11(year + 1, tz);
    }
    let lunar_day = day_number - month_start + 1;
    let diff = (month_start - a11) / 29;
    let mut leap = false;
    let mut month = diff + 11;
    if b11 - a11 > 365 {
        let leap_diff = leap_month_offset(a11, tz);
        if diff >= leap_diff {
            month = diff + 10;
            leap = diff == leap_diff;
        }
    }
    if month > 12 {
        month -= 12;
    }
    if month >= 11 && diff < 4 {
        lunar_year -= 1;
    }
    LunarDate { day: lunar_day as u32, month: month as u32, year: lunar_year, leap }
}

/// The Gregorian date of a lunar date, computed in time zone `tz`. `None` when the lunar
/// date does not exist (a leap month that year does not have, day 0, or beyond day 30).
pub fn from_lunar_at(l: LunarDate, tz: f64) -> Option<NaiveDate> {
    if !(1..=30).contains(&l.day) || !(1..=12).contains(&l.month) {
        return None;
    }
    let (a11, b11) = if l.month < 11 {
        (month_11(l.year - 1, tz), month_11(l.year, tz))
    } else {
        (month_11(l.year, tz), month_11(l.year + 1, tz))
    };
    let k = floor(0.5 + (a11 as f64 - 2415021.076998695) / 29.530588853);
    let mut off = i64::from(l.month) - 11;
    if off < 0 {
        off += 12;
    }
    if b11 - a11 > 365 {
        let leap_off = leap_month_offset(a11, tz);
        let mut leap_month = leap_off - 2;
        if leap_month < 0 {
            leap_month += 12;
        }
        if l.leap && i64::from(l.month) != leap_month {
            return None;
        }
        if l.leap || off >= leap_off {
            off += 1;
        }
    } else if l.leap {
        return None;
    }
    let month_start = new_moon_day(k + off, tz);
    let next_start = new_moon_day(k + off + 1, tz);
    if i64::from(l.day) > next_start - month_start {
        return None;
    }
    from_jd(month_start + i64::from(l.day) - 1)
}

/// The lunar date of a Gregorian date in Vietnam.
pub fn to_lunar(date: NaiveDate) -> LunarDate {
    to_lunar_at(date, VIETNAM_UTC_OFFSET)
}

/// The Gregorian date of a lunar date in Vietnam (`None` if it does not exist).
pub fn from_lunar(l: LunarDate) -> Option<NaiveDate> {
    from_lunar_at(l, VIETNAM_UTC_OFFSET)
}

/// Tết Nguyên đán: the first day of the lunar year that begins in Gregorian `year`.
pub fn tet(year: i32) -> NaiveDate {
    from_lunar(LunarDate { day: 1, month: 1, year, leap: false })
        .expect("month 1 day 1 exists every lunar year")
}

/// Giỗ Tổ Hùng Vương: the 10th day of (the ordinary) lunar month 3 of `year`.
pub fn hung_kings(year: i32) -> NaiveDate {
    from_lunar(LunarDate { day: 10, month: 3, year, leap: false })
        .expect("month 3 day 10 exists every lunar year")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Tết dates as the Vietnamese government announced them for each year's holiday
    /// (Tết Canh Tý 2020 … Tết Bính Ngọ 2026), and as printed in Vietnamese calendars.
    #[test]
    fn tet_matches_published_dates() {
        let published = [
            (2020, day(2020, 1, 25)),
            (2021, day(2021, 2, 12)),
            (2022, day(2022, 2, 1)),
            (2023, day(2023, 1, 22)),
            (2024, day(2024, 2, 10)),
            (2025, day(2025, 1, 29)),
            (2026, day(2026, 2, 17)),
        ];
        for (y, d) in published {
            assert_eq!(tet(y), d, "Tết {y}");
        }
    }

    /// Hùng Kings' day (10/3 âm lịch) as announced: Thursday 18/04/2024, Monday 07/04/2025.
    #[test]
    fn hung_kings_matches_published_dates() {
        assert_eq!(hung_kings(2024), day(2024, 4, 18));
        assert_eq!(hung_kings(2025), day(2025, 4, 7));
    }

    /// 1985: Vietnam (UTC+7) and China (UTC+8) celebrated the new year a month apart,
    /// because the new moon of 21 January 1985 fell just before midnight in Hà Nội.
    #[test]
    fn vietnam_and_china_differ_in_1985() {
        assert_eq!(tet(1985), day(1985, 1, 21));
        let china = from_lunar_at(LunarDate { day: 1, month: 1, year: 1985, leap: false }, 8.0);
        assert_eq!(china, Some(day(1985, 2, 20)));
    }

    /// 2023 had a leap second month (tháng 2 nhuận), starting 22/03/2023.
    #[test]
    fn leap_month_2023() {
        let l = to_lunar(day(2023, 3, 22));
        assert_eq!(l, LunarDate { day: 1, month: 2, year: 2023, leap: true });
        assert_eq!(from_lunar(l), Some(day(2023, 3, 22)));
        // No leap month 5 in 2023.
        assert_eq!(from_lunar(LunarDate { day: 1, month: 5, year: 2023, leap: true }), None);
    }

    #[test]
    fn round_trip_every_day_1990_to_2100() {
        let mut d = day(1990, 1, 1);
        let end = day(2100, 12, 31);
        let mut prev = to_lunar(d - Duration::days(1));
        while d <= end {
            let l = to_lunar(d);
            assert_eq!(from_lunar(l), Some(d), "{d} → {l:?}");
            // Lunar days advance by one or restart at 1 after day 29 or 30.
            assert!(
                l.day == prev.day + 1 || (l.day == 1 && (prev.day == 29 || prev.day == 30)),
                "{d}: {prev:?} → {l:?}"
            );
            prev = l;
            d += Duration::days(1);
        }
    }
}
