//! Reporting periods: a month (`2025-08`), a month with a cut-off day (`2023-02/16`: from
//! the 16th of the month before to the 15th, as Bắc Giang reports), a quarter (`2025-Q3`),
//! a half (`2025-H1`) and a year (`2025`). Days are Vietnam days; the window a period
//! covers runs from its first day's midnight to the midnight after its last day (UTC+7).

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use dancu_domain::Violation;

use dancu_store::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    Month,
    /// A month ending on `cutoff - 1` of the named month, starting on `cutoff` of the one before.
    CutOffMonth(u32),
    Quarter(u32),
    Half(u32),
    Year,
}

/// A reporting period: its kind, first and last Vietnam day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    pub year: i32,
    /// The named month (1–12) for months; the first month otherwise.
    pub month: u32,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

fn bad(rule: &'static str, vi: &str, en: &str) -> Violation {
    Violation::new("period", rule, vi, en)
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid day")
}

fn month_end(y: i32, m: u32) -> NaiveDate {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    ymd(ny, nm, 1) - Duration::days(1)
}

fn prev_month(y: i32, m: u32) -> (i32, u32) {
    if m == 1 {
        (y - 1, 12)
    } else {
        (y, m - 1)
    }
}

fn year_of(s: &str) -> Result<i32, Violation> {
    match s.parse::<i32>() {
        Ok(y) if s.len() == 4 && (2000..=2100).contains(&y) => Ok(y),
        _ => Err(bad(
            "period.year",
            "Năm phải có 4 chữ số, từ 2000 đến 2100",
            "the year must be 4 digits between 2000 and 2100",
        )),
    }
}

impl Period {
    /// Parses `YYYY-MM`, `YYYY-MM/DD`, `YYYY-Qn`, `YYYY-Hn` or `YYYY`.
    pub fn parse(s: &str) -> Result<Period, Violation> {
        let s = s.trim();
        let (year, rest) = match s.split_once('-') {
            None => {
                let y = year_of(s)?;
                return Ok(Period {
                    kind: PeriodKind::Year,
                    year: y,
                    month: 1,
                    first: ymd(y, 1, 1),
                    last: ymd(y, 12, 31),
                });
            }
            Some((y, rest)) => (year_of(y)?, rest),
        };
        if let Some(q) = rest.strip_prefix('Q') {
            let n = q.parse::<u32>().ok().filter(|n| (1..=4).contains(n)).ok_or_else(|| {
                bad("period.quarter", "Quý phải là Q1 đến Q4", "the quarter must be Q1 to Q4")
            })?;
            let m = 3 * (n - 1) + 1;
            return Ok(Period {
                kind: PeriodKind::Quarter(n),
                year,
                month: m,
                first: ymd(year, m, 1),
                last: month_end(year, m + 2),
            });
        }
        if let Some(h) = rest.strip_prefix('H') {
            let n = h.parse::<u32>().ok().filter(|n| (1..=2).contains(n)).ok_or_else(|| {
                bad("period.half", "Nửa năm phải là H1 hoặc H2", "the half must be H1 or H2")
            })?;
            let m = 6 * (n - 1) + 1;
            return Ok(Period {
                kind: PeriodKind::Half(n),
                year,
                month: m,
                first: ymd(year, m, 1),
                last: month_end(year, m + 5),
            });
        }
        let (month, cutoff) = match rest.split_once('/') {
            Some((m, d)) => (m, Some(d)),
            None => (rest, None),
        };
        let m = month.parse::<u32>().ok().filter(|m| month.len() == 2 && (1..=12).contains(m)).ok_or_else(
            || {
                bad(
                    "period.format",
                    "Kỳ báo cáo phải có dạng YYYY-MM, YYYY-MM/DD (ngày chốt), YYYY-Qn, YYYY-Hn hoặc YYYY",
                    "the period must be YYYY-MM, YYYY-MM/DD (cut-off day), YYYY-Qn, YYYY-Hn or YYYY",
                )
            },
        )?;
        match cutoff {
            None => Ok(Period {
                kind: PeriodKind::Month,
                year,
                month: m,
                first: ymd(year, m, 1),
                last: month_end(year, m),
            }),
            Some(d) => {
                let d = d.parse::<u32>().ok().filter(|d| (2..=28).contains(d)).ok_or_else(|| {
                    bad(
                        "period.cutoff_day",
                        "Ngày chốt số liệu phải từ 2 đến 28",
                        "the cut-off day must be between 2 and 28",
                    )
                })?;
                let (py, pm) = prev_month(year, m);
                Ok(Period {
                    kind: PeriodKind::CutOffMonth(d),
                    year,
                    month: m,
                    first: ymd(py, pm, d),
                    last: ymd(year, m, d - 1),
                })
            }
        }
    }

    /// The window in UTC: midnight (UTC+7) of the first day to midnight after the last.
    pub fn window(&self) -> (Timestamp, Timestamp) {
        let start = |d: NaiveDate| {
            Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")) - Duration::hours(7)
        };
        (start(self.first), start(self.last + Duration::days(1)))
    }

    /// The calendar months submitted figures are read for (`YYYY-MM`): the named month of a
    /// month with a cut-off day, every month of a longer period.
    pub fn months(&self) -> Vec<String> {
        let n = match self.kind {
            PeriodKind::Month | PeriodKind::CutOffMonth(_) => 1,
            PeriodKind::Quarter(_) => 3,
            PeriodKind::Half(_) => 6,
            PeriodKind::Year => 12,
        };
        (0..n).map(|i| format!("{:04}-{:02}", self.year, self.month + i)).collect()
    }

    /// Whether the period ends before the reform of 1 July 2025 (reports by district).
    pub fn before_reform(&self) -> bool {
        self.last < ymd(2025, 7, 1)
    }

    /// The month periods ending with this one's named month, `n` of them, oldest first
    /// (the dashboard's trend).
    pub fn trailing_months(&self, n: u32) -> Vec<Period> {
        let (mut y, mut m) = (self.last.year(), self.last.month());
        if let PeriodKind::CutOffMonth(_) = self.kind {
            (y, m) = (self.year, self.month);
        }
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(Period {
                kind: PeriodKind::Month,
                year: y,
                month: m,
                first: ymd(y, m, 1),
                last: month_end(y, m),
            });
            (y, m) = prev_month(y, m);
        }
        out.reverse();
        out
    }

    /// "tháng 02/2023 (từ ngày 16/01/2023 đến ngày 15/02/2023)" and the like.
    pub fn label_vi(&self) -> String {
        let d = |x: NaiveDate| x.format("%d/%m/%Y").to_string();
        match self.kind {
            PeriodKind::Month => format!("tháng {:02}/{}", self.month, self.year),
            PeriodKind::CutOffMonth(_) => {
                format!(
                    "tháng {:02}/{} (từ ngày {} đến ngày {})",
                    self.month,
                    self.year,
                    d(self.first),
                    d(self.last)
                )
            }
            PeriodKind::Quarter(n) => format!("quý {} năm {}", roman(n), self.year),
            PeriodKind::Half(1) => format!("6 tháng đầu năm {}", self.year),
            PeriodKind::Half(_) => format!("6 tháng cuối năm {}", self.year),
            PeriodKind::Year => format!("năm {}", self.year),
        }
    }

    pub fn label_en(&self) -> String {
        let d = |x: NaiveDate| x.format("%d/%m/%Y").to_string();
        match self.kind {
            PeriodKind::Month => format!("{:02}/{}", self.month, self.year),
            PeriodKind::CutOffMonth(_) => {
                format!("{:02}/{} ({} to {})", self.month, self.year, d(self.first), d(self.last))
            }
            PeriodKind::Quarter(n) => format!("Q{n} {}", self.year),
            PeriodKind::Half(n) => format!("H{n} {}", self.year),
            PeriodKind::Year => format!("{}", self.year),
        }
    }
}

fn roman(n: u32) -> &'static str {
    ["I", "II", "III", "IV"].get(n as usize - 1).copied().unwrap_or("?")
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Month => write!(f, "{:04}-{:02}", self.year, self.month),
            PeriodKind::CutOffMonth(d) => write!(f, "{:04}-{:02}/{d:02}", self.year, self.month),
            PeriodKind::Quarter(n) => write!(f, "{}-Q{n}", self.year),
            PeriodKind::Half(n) => write!(f, "{}-H{n}", self.year),
            PeriodKind::Year => write!(f, "{}", self.year),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_with_named_rules() {
        let p = Period::parse("2023-02/16").unwrap();
        assert_eq!((p.first, p.last), (ymd(2023, 1, 16), ymd(2023, 2, 15)));
        assert_eq!(p.months(), vec!["2023-02"]);
        let p = Period::parse("2024-03/16").unwrap();
        assert_eq!((p.first, p.last), (ymd(2024, 2, 16), ymd(2024, 3, 15)));
        let p = Period::parse("2025-Q3").unwrap();
        assert_eq!((p.first, p.last), (ymd(2025, 7, 1), ymd(2025, 9, 30)));
        assert_eq!(p.months(), vec!["2025-07", "2025-08", "2025-09"]);
        let p = Period::parse("2024-H1").unwrap();
        assert_eq!((p.first, p.last), (ymd(2024, 1, 1), ymd(2024, 6, 30)));
        assert!(p.before_reform());
        let p = Period::parse("2025").unwrap();
        assert_eq!((p.first, p.last), (ymd(2025, 1, 1), ymd(2025, 12, 31)));
        let p = Period::parse("2025-02").unwrap();
        assert_eq!(p.last, ymd(2025, 2, 28));
        for (s, rule) in [
            ("2025-13", "period.format"),
            ("25-01", "period.year"),
            ("2025-Q5", "period.quarter"),
            ("2025-H3", "period.half"),
            ("2025-02/31", "period.cutoff_day"),
            ("2025/02", "period.year"),
        ] {
            assert_eq!(Period::parse(s).unwrap_err().rule, rule, "{s}");
        }
        for s in ["2023-02/16", "2025-Q3", "2024-H1", "2025", "2025-02"] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn window_is_vietnam_midnight_to_midnight() {
        let (from, to) = Period::parse("2025-08").unwrap().window();
        assert_eq!(from.to_rfc3339(), "2025-07-31T17:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2025-08-31T17:00:00+00:00");
        let t = Period::parse("2023-02/16").unwrap().trailing_months(3);
        assert_eq!(t.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["2022-12", "2023-01", "2023-02"]);
    }
}
