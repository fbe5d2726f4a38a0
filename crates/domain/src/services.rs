//! The catalogue of public services as data (`data/services.csv`): the 25 essential services
//! of Decision 06 with their agency, deciding level, statutory processing time in working
//! days, whether they can be done entirely online, and their fee. Kept as data because the
//! list is revised (and extended to later lists) by decision, not by release.
//!
//! Due dates: [`Service::due_date`] counts the processing time on the working-day calendar
//! ([`crate::calendar::WorkingCalendar`]).

use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::LazyLock;

use crate::calendar::WorkingCalendar;
use crate::error::Violation;

/// The agency responsible for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agency {
    Police,
    Justice,
    SocialInsurance,
    Land,
    Transport,
    Education,
    Labour,
    Electricity,
}

impl Agency {
    const ALL: [Agency; 8] = [
        Agency::Police,
        Agency::Justice,
        Agency::SocialInsurance,
        Agency::Land,
        Agency::Transport,
        Agency::Education,
        Agency::Labour,
        Agency::Electricity,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Agency::Police => "police",
            Agency::Justice => "justice",
            Agency::SocialInsurance => "social_insurance",
            Agency::Land => "land",
            Agency::Transport => "transport",
            Agency::Education => "education",
            Agency::Labour => "labour",
            Agency::Electricity => "electricity",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Agency::Police => "Công an",
            Agency::Justice => "Tư pháp",
            Agency::SocialInsurance => "Bảo hiểm xã hội",
            Agency::Land => "Tài nguyên và Môi trường (đất đai)",
            Agency::Transport => "Giao thông vận tải",
            Agency::Education => "Giáo dục và Đào tạo",
            Agency::Labour => "Lao động, Thương binh và Xã hội",
            Agency::Electricity => "Điện lực",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Agency::Police => "Police",
            Agency::Justice => "Justice",
            Agency::SocialInsurance => "Social insurance",
            Agency::Land => "Land administration",
            Agency::Transport => "Transport",
            Agency::Education => "Education",
            Agency::Labour => "Labour and social affairs",
            Agency::Electricity => "Electricity",
        }
    }
}

/// The level of government that decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Commune,
    Province,
    Ministry,
}

impl Level {
    const ALL: [Level; 3] = [Level::Commune, Level::Province, Level::Ministry];

    pub fn code(self) -> &'static str {
        match self {
            Level::Commune => "commune",
            Level::Province => "province",
            Level::Ministry => "ministry",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Level::Commune => "Cấp xã",
            Level::Province => "Cấp tỉnh",
            Level::Ministry => "Cấp bộ",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Level::Commune => "Commune",
            Level::Province => "Province",
            Level::Ministry => "Ministry",
        }
    }
}

/// One service of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub code: String,
    pub agency: Agency,
    pub level: Level,
    /// Statutory processing time in working days from a complete file; 0 = at once.
    pub working_days: u32,
    pub fully_online: bool,
    /// Fee in đồng; `None` when it varies (see `basis`).
    pub fee_vnd: Option<u64>,
    /// Whether time and fee were checked against the original legal text.
    pub confirmed: bool,
    pub name_vi: String,
    pub name_en: String,
    /// Legal basis and remarks.
    pub basis: String,
    /// One of the 25 essential services of Decision 06 (`data/services.csv`); the others
    /// (`data/services-other.csv`) are procedures dancu runs beside them.
    pub essential: bool,
}

impl Service {
    /// The day the result is due for a complete file received on `received`.
    pub fn due_date(&self, calendar: &WorkingCalendar, received: NaiveDate) -> NaiveDate {
        calendar.add_working_days(received, self.working_days)
    }
}

const HEADER: [&str; 10] = [
    "code",
    "agency",
    "level",
    "working_days",
    "fully_online",
    "fee_vnd",
    "confirmed",
    "name_vi",
    "name_en",
    "basis",
];

/// Splits one CSV line: comma-separated, fields may be double-quoted (`""` is a quote).
fn split_csv(line: &str, n: usize) -> Result<Vec<String>, Violation> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if cur.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (true, '"') => {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            (false, '"') => {
                return Err(Violation::new(
                    format!("services[{n}]"),
                    "services.quote",
                    format!("Dòng {n}: dấu nháy kép đặt sai chỗ"),
                    format!("Line {n}: misplaced double quote"),
                ))
            }
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return Err(Violation::new(
            format!("services[{n}]"),
            "services.quote",
            format!("Dòng {n}: thiếu dấu nháy kép đóng"),
            format!("Line {n}: unclosed double quote"),
        ));
    }
    fields.push(cur);
    Ok(fields)
}

fn field_error(n: usize, field: &str, rule: &'static str, vi: String, en: String) -> Violation {
    Violation::new(format!("services[{n}].{field}"), rule, vi, en)
}

fn yes_no(n: usize, field: &str, v: &str) -> Result<bool, Violation> {
    match v {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(field_error(
            n,
            field,
            "services.yes_no",
            format!("Dòng {n}: {field} phải là yes hoặc no, không phải \"{v}\""),
            format!("Line {n}: {field} must be yes or no, not \"{v}\""),
        )),
    }
}

/// Reads a catalogue. Every error names the line, the field and the rule.
pub fn parse_catalogue(text: &str) -> Result<Vec<Service>, Violation> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    match lines.next() {
        Some((_, h)) if h.split(',').eq(HEADER) => {}
        _ => {
            return Err(Violation::new(
                "services.header",
                "services.header",
                format!("Dòng đầu phải là \"{}\"", HEADER.join(",")),
                format!("The first line must be \"{}\"", HEADER.join(",")),
            ))
        }
    }
    let mut services = Vec::new();
    let mut codes = HashSet::new();
    for (n, line) in lines {
        let f = split_csv(line, n)?;
        if f.len() != HEADER.len() {
            return Err(Violation::new(
                format!("services[{n}]"),
                "services.columns",
                format!("Dòng {n}: có {} cột, cần {}", f.len(), HEADER.len()),
                format!("Line {n}: {} columns, {} expected", f.len(), HEADER.len()),
            ));
        }
        let code = f[0].trim();
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(field_error(
                n,
                "code",
                "services.code",
                format!("Dòng {n}: mã \"{code}\" chỉ gồm chữ thường a–z, số và dấu _"),
                format!("Line {n}: code \"{code}\" must be lower-case a–z, digits and _"),
            ));
        }
        if !codes.insert(code.to_string()) {
            return Err(field_error(
                n,
                "code",
                "services.duplicate",
                format!("Dòng {n}: mã \"{code}\" bị trùng"),
                format!("Line {n}: code \"{code}\" appears twice"),
            ));
        }
        let agency = Agency::ALL.into_iter().find(|a| a.code() == f[1]).ok_or_else(|| {
            field_error(
                n,
                "agency",
                "services.agency",
                format!("Dòng {n}: cơ quan \"{}\" không có trong danh sách", f[1]),
                format!("Line {n}: agency \"{}\" is not a known agency", f[1]),
            )
        })?;
        let level = Level::ALL.into_iter().find(|l| l.code() == f[2]).ok_or_else(|| {
            field_error(
                n,
                "level",
                "services.level",
                format!("Dòng {n}: cấp \"{}\" phải là commune, province hoặc ministry", f[2]),
                format!("Line {n}: level \"{}\" must be commune, province or ministry", f[2]),
            )
        })?;
        let working_days = f[3].parse::<u32>().ok().filter(|d| *d <= 90).ok_or_else(|| {
            field_error(
                n,
                "working_days",
                "services.working_days",
                format!("Dòng {n}: thời hạn \"{}\" phải là số ngày làm việc từ 0 đến 90", f[3]),
                format!("Line {n}: processing time \"{}\" must be 0 to 90 working days", f[3]),
            )
        })?;
        let fully_online = yes_no(n, "fully_online", &f[4])?;
        let fee_vnd = if f[5].is_empty() {
            None
        } else {
            Some(f[5].parse::<u64>().map_err(|_| {
                field_error(
                    n,
                    "fee_vnd",
                    "services.fee",
                    format!("Dòng {n}: lệ phí \"{}\" phải là số đồng (hoặc để trống nếu thay đổi)", f[5]),
                    format!(
                        "Line {n}: fee \"{}\" must be a whole number of đồng (or empty when it varies)",
                        f[5]
                    ),
                )
            })?)
        };
        let confirmed = yes_no(n, "confirmed", &f[6])?;
        for (i, name) in [(7, "name_vi"), (8, "name_en")] {
            if f[i].trim().is_empty() {
                return Err(field_error(
                    n,
                    name,
                    "services.name",
                    format!("Dòng {n}: thiếu tên dịch vụ ({name})"),
                    format!("Line {n}: the service name ({name}) is missing"),
                ));
            }
        }
        services.push(Service {
            code: code.to_string(),
            agency,
            level,
            working_days,
            fully_online,
            fee_vnd,
            confirmed,
            name_vi: f[7].trim().to_string(),
            name_en: f[8].trim().to_string(),
            basis: f[9].trim().to_string(),
            essential: true,
        });
    }
    Ok(services)
}

static CATALOGUE: LazyLock<Vec<Service>> = LazyLock::new(|| {
    let mut all = parse_catalogue(include_str!("../../../data/services.csv"))
        .expect("data/services.csv is valid (tested)");
    let other = parse_catalogue(include_str!("../../../data/services-other.csv"))
        .expect("data/services-other.csv is valid (tested)");
    let essential: HashSet<String> = all.iter().map(|s| s.code.clone()).collect();
    all.extend(
        other.into_iter().filter(|s| !essential.contains(&s.code)).map(|s| Service { essential: false, ..s }),
    );
    all
});

/// The shipped catalogue: the 25 essential services first, then the other procedures.
pub fn catalogue() -> &'static [Service] {
    &CATALOGUE
}

/// A service by its code.
pub fn service(code: &str) -> Option<&'static Service> {
    CATALOGUE.iter().find(|s| s.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_has_the_25_services() {
        let c: Vec<_> = catalogue().iter().filter(|s| s.essential).collect();
        assert_eq!(c.len(), 25);
        assert_eq!(c.iter().filter(|s| s.agency == Agency::Police).count(), 13);
        let other: Vec<_> = catalogue().iter().filter(|s| !s.essential).map(|s| s.code.as_str()).collect();
        assert_eq!(other, ["residence_removal", "household_split", "household_head_change"]);
        let days = |code| service(code).unwrap().working_days;
        // Residence Law 2020: permanent 7, temporary 3, absence 1, stay at once.
        assert_eq!(days("residence_permanent"), 7);
        assert_eq!(days("residence_temporary"), 3);
        assert_eq!(days("residence_absence"), 1);
        assert_eq!(days("residence_stay"), 0);
        assert_eq!(
            service("seal_replace").unwrap().name_en,
            "Re-registration of a seal, embossed, reduced or wax seal"
        );
        assert_eq!(service("traffic_fine").unwrap().fee_vnd, None);
    }

    #[test]
    fn due_dates_use_the_working_day_calendar() {
        let cal = WorkingCalendar::vietnam();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let temp = service("residence_temporary").unwrap();
        // Received Friday 26/04/2024: 29/04 (swap), 30/04, 01/05 off; 02, 03, Sat 04/05 worked.
        assert_eq!(temp.due_date(cal, d(2024, 4, 26)), d(2024, 5, 4));
        assert_eq!(service("residence_stay").unwrap().due_date(cal, d(2024, 2, 10)), d(2024, 2, 10));
    }

    fn err(body: &str) -> Violation {
        parse_catalogue(&format!("{}\n{body}\n", HEADER.join(","))).unwrap_err()
    }

    #[test]
    fn bad_rows_name_field_and_rule() {
        let ok = "x,police,commune,3,yes,0,no,Tên,Name,basis";
        assert!(parse_catalogue(&format!("{}\n{ok}\n", HEADER.join(","))).is_ok());
        let e = err("x,army,commune,3,yes,0,no,Tên,Name,b");
        assert_eq!((e.field.as_str(), e.rule), ("services[2].agency", "services.agency"));
        assert_eq!(err("x,police,district,3,yes,0,no,T,N,b").rule, "services.level");
        assert_eq!(err("x,police,commune,-1,yes,0,no,T,N,b").rule, "services.working_days");
        assert_eq!(err("x,police,commune,3,maybe,0,no,T,N,b").field, "services[2].fully_online");
        assert_eq!(err("x,police,commune,3,yes,free,no,T,N,b").rule, "services.fee");
        assert_eq!(err("X Y,police,commune,3,yes,0,no,T,N,b").rule, "services.code");
        assert_eq!(err("x,police,commune,3,yes,0,no,,N,b").field, "services[2].name_vi");
        assert_eq!(err("x,police,commune,3,yes,0,no,T,N").rule, "services.columns");
        assert_eq!(err("x,police,commune,3,yes,0,no,\"T,N,b").rule, "services.quote");
        assert_eq!(err(&format!("{ok}\n{ok}")).rule, "services.duplicate");
        assert_eq!(parse_catalogue("code,agency\n").unwrap_err().rule, "services.header");
    }

    #[test]
    fn quoted_fields_keep_commas_and_quotes() {
        let f = split_csv(r#"a,"b, c","say ""hi""",d"#, 1).unwrap();
        assert_eq!(f, vec!["a", "b, c", "say \"hi\"", "d"]);
    }
}
