//! The indicator catalogue (`data/indicators.csv`): each indicator is a formula over the
//! platform's counts or over approved submitted figures. Rates are computed here from their
//! counts, never typed; a rate whose denominator is zero has no value (shown "—").

use std::collections::BTreeMap;
use std::sync::LazyLock;

use dancu_domain::services::{self, Level};
use dancu_domain::Violation;
use dancu_store::report_counts::ReportCounts;
use serde::Serialize;

use crate::figures::{ApprovedFigure, FORM_SERVICES};

static CATALOGUE_CSV: &str = include_str!("../../../data/indicators.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Direction {
    Higher,
    Lower,
}

/// One source of counts in a formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Applications: measure, optional service code or level code.
    Apps(AppMeasure, Option<String>),
    Cards(String),
    /// eID events: event code, optional level.
    Eid(Option<String>, Option<i64>),
    /// Logins by outcome (`None`: all).
    Logins(Option<String>),
    Partner(String, Option<String>),
    /// Data cleaning: measure 0–3 (found, fixed, failed, remaining), optional rule.
    Quality(usize, Option<String>),
    /// Documents: digitised (false) or reused (true).
    Docs(bool),
    /// Submitted figures: form, row (`None`: every row), column.
    Submitted(String, Option<String>, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppMeasure {
    Received,
    Online,
    OnTime,
    Overdue,
    NotAccepted,
    Decided,
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formula {
    Sum(Vec<Term>),
    Rate(Vec<Term>, Vec<Term>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub unit: String,
    pub formula_text: String,
    pub formula: Formula,
    pub direction: Direction,
    pub target: Option<f64>,
    pub group: String,
}

/// A computed value: a count, or a rate with the counts it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Value {
    Count(i64),
    Rate { num: i64, den: i64 },
}

impl Value {
    /// The number compared with a target (a rate in percent); `None` for a zero denominator.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Value::Count(n) => Some(n as f64),
            Value::Rate { den: 0, .. } => None,
            Value::Rate { num, den } => Some(num as f64 * 100.0 / den as f64),
        }
    }

    /// Vietnamese number format: `36.017`, `85,29%`, `—`.
    pub fn display(&self) -> String {
        match *self {
            Value::Count(n) => fmt_count(n),
            Value::Rate { .. } => fmt_rate(self.number()),
        }
    }
}

/// `36017` → `36.017`.
pub fn fmt_count(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A percentage with two decimals and a comma, or `—` when it has no value.
pub fn fmt_rate(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) => format!("{p:.2}%").replace('.', ","),
    }
}

/// `num / den` in percent, `None` for a zero denominator.
pub fn rate(num: i64, den: i64) -> Option<f64> {
    Value::Rate { num, den }.number()
}

fn bad_formula(text: &str, why: &str) -> Violation {
    Violation::new(
        "formula",
        "indicator.formula",
        format!("Công thức không hợp lệ «{text}»: {why}"),
        format!("invalid formula «{text}»: {why}"),
    )
}

fn parse_term(t: &str) -> Result<Term, Violation> {
    let t = t.trim();
    let (src, rest) = t.split_once(':').ok_or_else(|| bad_formula(t, "thiếu nguồn (nguồn:khóa)"))?;
    let (key, sub) = match rest.split_once('.') {
        Some((k, s)) => (k, Some(s.to_string())),
        None => (rest, None),
    };
    let term = match src {
        "apps" => {
            let m = match key {
                "received" => AppMeasure::Received,
                "online" => AppMeasure::Online,
                "on_time" => AppMeasure::OnTime,
                "overdue" => AppMeasure::Overdue,
                "not_accepted" => AppMeasure::NotAccepted,
                "decided" => AppMeasure::Decided,
                "open" => AppMeasure::Open,
                _ => return Err(bad_formula(t, "chỉ số hồ sơ không có")),
            };
            if let Some(s) = &sub {
                if services::service(s).is_none()
                    && !["commune", "province", "ministry"].contains(&s.as_str())
                {
                    return Err(bad_formula(t, "không có thủ tục hoặc cấp này"));
                }
            }
            Term::Apps(m, sub)
        }
        "cards" if sub.is_none() => Term::Cards(key.into()),
        "eid" => {
            let level =
                sub.map(|l| l.parse::<i64>().map_err(|_| bad_formula(t, "mức phải là số"))).transpose()?;
            Term::Eid(Some(key.into()), level)
        }
        "logins" if sub.is_none() => Term::Logins((key != "*").then(|| key.to_string())),
        "partner" => Term::Partner(key.into(), sub),
        "quality" => {
            let i = ["found", "fixed", "failed", "remaining"]
                .iter()
                .position(|m| *m == key)
                .ok_or_else(|| bad_formula(t, "chỉ số làm sạch không có"))?;
            Term::Quality(i, sub)
        }
        "docs" if sub.is_none() => match key {
            "digitised" => Term::Docs(false),
            "reused" => Term::Docs(true),
            _ => return Err(bad_formula(t, "chỉ số giấy tờ không có")),
        },
        "submitted" => {
            let parts: Vec<&str> = rest.split('.').collect();
            if parts.len() != 3 {
                return Err(bad_formula(t, "số liệu gửi phải là submitted:biểu.dòng.cột"));
            }
            Term::Submitted(parts[0].into(), (parts[1] != "*").then(|| parts[1].to_string()), parts[2].into())
        }
        _ => return Err(bad_formula(t, "nguồn không có")),
    };
    Ok(term)
}

fn parse_sum(s: &str) -> Result<Vec<Term>, Violation> {
    s.split('+').map(parse_term).collect()
}

/// `a + b` or `rate(a; b)`.
pub fn parse_formula(s: &str) -> Result<Formula, Violation> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let (n, d) = inner.split_once(';').ok_or_else(|| bad_formula(s, "rate(tử số; mẫu số)"))?;
        return Ok(Formula::Rate(parse_sum(n)?, parse_sum(d)?));
    }
    Ok(Formula::Sum(parse_sum(s)?))
}

/// Parses a catalogue (the shipped one is [`catalogue`]); errors name the line and field.
pub fn parse_catalogue(text: &str) -> Result<Vec<Indicator>, Violation> {
    let body: String = text.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| {
            Violation::new(
                "indicators",
                "indicator.csv",
                format!("dòng {line}: {e}"),
                format!("line {line}: {e}"),
            )
        })?;
        let f = |n: usize| rec.get(n).unwrap_or("").trim().to_string();
        let at = |mut v: Violation| {
            v.field = format!("line {line}: {}", v.field);
            v
        };
        let formula = parse_formula(&f(4)).map_err(at)?;
        let direction = match f(5).as_str() {
            "higher" => Direction::Higher,
            "lower" => Direction::Lower,
            _ => {
                return Err(at(Violation::new(
                    "direction",
                    "indicator.direction",
                    "Chiều phải là higher hoặc lower",
                    "direction must be higher or lower",
                )))
            }
        };
        let target = match f(6).as_str() {
            "" => None,
            t => Some(t.parse::<f64>().map_err(|_| {
                at(Violation::new(
                    "target",
                    "indicator.target",
                    "Chỉ tiêu phải là số",
                    "the target must be a number",
                ))
            })?),
        };
        out.push(Indicator {
            code: f(0),
            name_vi: f(1),
            name_en: f(2),
            unit: f(3),
            formula_text: f(4),
            formula,
            direction,
            target,
            group: f(7),
        });
    }
    Ok(out)
}

static CATALOGUE: LazyLock<Vec<Indicator>> =
    LazyLock::new(|| parse_catalogue(CATALOGUE_CSV).expect("data/indicators.csv is valid (tested)"));

/// The shipped catalogue.
pub fn catalogue() -> &'static [Indicator] {
    &CATALOGUE
}

pub fn indicator(code: &str) -> Option<&'static Indicator> {
    CATALOGUE.iter().find(|i| i.code == code)
}

impl Indicator {
    /// Whether `v` meets the target; `None` without a target or a value.
    pub fn meets(&self, v: &Value) -> Option<bool> {
        let (t, x) = (self.target?, v.number()?);
        Some(match self.direction {
            Direction::Higher => x >= t,
            Direction::Lower => x <= t,
        })
    }

    pub fn eval(&self, b: &Bucket) -> Value {
        match &self.formula {
            Formula::Sum(t) => Value::Count(b.sum(t)),
            Formula::Rate(n, d) => Value::Rate { num: b.sum(n), den: b.sum(d) },
        }
    }
}

/// Application figures of one service (platform and submitted added).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AppCounts {
    pub received: i64,
    pub online: i64,
    pub on_time: i64,
    pub overdue: i64,
    pub not_accepted: i64,
    pub decided: i64,
    pub open: i64,
}

impl AppCounts {
    pub fn add(&mut self, o: &AppCounts) {
        self.received += o.received;
        self.online += o.online;
        self.on_time += o.on_time;
        self.overdue += o.overdue;
        self.not_accepted += o.not_accepted;
        self.decided += o.decided;
        self.open += o.open;
    }

    pub fn get(&self, m: AppMeasure) -> i64 {
        match m {
            AppMeasure::Received => self.received,
            AppMeasure::Online => self.online,
            AppMeasure::OnTime => self.on_time,
            AppMeasure::Overdue => self.overdue,
            AppMeasure::NotAccepted => self.not_accepted,
            AppMeasure::Decided => self.decided,
            AppMeasure::Open => self.open,
        }
    }
}

/// Counts of a set of communes (and submitted figures of a set of units) that formulas read.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// Per service code.
    pub services: BTreeMap<String, AppCounts>,
    /// Per service code: whether any submitted figure was added.
    pub submitted_services: BTreeMap<String, bool>,
    pub cards: BTreeMap<String, i64>,
    pub eid: BTreeMap<(String, i64), i64>,
    pub logins: BTreeMap<String, i64>,
    pub partner: BTreeMap<(String, String), i64>,
    pub quality: BTreeMap<String, [i64; 4]>,
    pub docs: [i64; 2],
    pub submitted: BTreeMap<(String, String, String), i64>,
}

fn n(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

impl Bucket {
    /// The counts of the communes `holds` accepts and the submitted figures of the units
    /// `holds_submitted` accepts.
    pub fn collect(
        counts: &[ReportCounts],
        figures: &[ApprovedFigure],
        holds: &dyn Fn(&str) -> bool,
        holds_submitted: &dyn Fn(&str) -> bool,
    ) -> Bucket {
        let mut b = Bucket::default();
        for c in counts {
            for a in c.applications.iter().filter(|a| holds(&a.commune)) {
                let e = b.services.entry(a.service_code.clone()).or_default();
                e.received += n(a.received);
                if a.channel == "online" {
                    e.online += n(a.received);
                }
                e.on_time += n(a.on_time);
                e.overdue += n(a.decided_late + a.open_overdue);
                e.not_accepted += n(a.not_accepted);
                e.decided += n(a.decided);
                e.open += n(a.open);
            }
            for k in c.card_stages.iter().filter(|k| holds(&k.commune)) {
                *b.cards.entry(k.key.clone()).or_default() += n(k.count);
            }
            for k in c.eid_events.iter().filter(|k| holds(&k.commune)) {
                *b.eid.entry((k.key.clone(), k.level)).or_default() += n(k.count);
            }
            for k in c.logins.iter().filter(|k| holds(&k.commune)) {
                *b.logins.entry(k.key.clone()).or_default() += n(k.count);
            }
            for p in &c.partner_calls {
                *b.partner.entry((p.operation.clone(), p.outcome.clone())).or_default() += n(p.count);
            }
            for q in c.quality.iter().filter(|q| holds(&q.commune)) {
                let e = b.quality.entry(q.rule.clone()).or_default();
                for (i, x) in [q.found, q.fixed, q.failed, q.remaining].into_iter().enumerate() {
                    e[i] += n(x);
                }
            }
            for d in c.documents.iter().filter(|d| holds(&d.commune)) {
                b.docs[0] += n(d.digitised);
                b.docs[1] += n(d.reused);
            }
        }
        for f in figures.iter().filter(|f| holds_submitted(&f.unit)) {
            *b.submitted.entry((f.form.clone(), f.row.clone(), f.column.clone())).or_default() += f.value;
            if f.form == FORM_SERVICES {
                let e = b.services.entry(f.row.clone()).or_default();
                b.submitted_services.insert(f.row.clone(), true);
                match f.column.as_str() {
                    "received" => e.received += f.value,
                    "online" => e.online += f.value,
                    "on_time" => {
                        e.on_time += f.value;
                        e.decided += f.value;
                    }
                    "overdue" => {
                        e.overdue += f.value;
                        e.decided += f.value;
                    }
                    "not_accepted" => e.not_accepted += f.value,
                    _ => {}
                }
            }
        }
        b
    }

    /// Only the applications of one service (the per-service table).
    pub fn service(&self, code: &str) -> AppCounts {
        self.services.get(code).copied().unwrap_or_default()
    }

    /// All applications added up.
    pub fn all_services(&self) -> AppCounts {
        let mut t = AppCounts::default();
        for c in self.services.values() {
            t.add(c);
        }
        t
    }

    pub fn sum(&self, terms: &[Term]) -> i64 {
        terms.iter().map(|t| self.term(t)).sum()
    }

    fn term(&self, t: &Term) -> i64 {
        match t {
            Term::Apps(m, filter) => self
                .services
                .iter()
                .filter(|(code, _)| match filter.as_deref() {
                    None => true,
                    Some(f @ ("commune" | "province" | "ministry")) => {
                        services::service(code).is_some_and(|s| level_code(s.level) == f)
                    }
                    Some(f) => code.as_str() == f,
                })
                .map(|(_, c)| c.get(*m))
                .sum(),
            Term::Cards(stage) => self.cards.get(stage).copied().unwrap_or(0),
            Term::Eid(event, level) => self
                .eid
                .iter()
                .filter(|((e, l), _)| event.as_ref().is_none_or(|x| x == e) && level.is_none_or(|x| x == *l))
                .map(|(_, c)| *c)
                .sum(),
            Term::Logins(outcome) => self
                .logins
                .iter()
                .filter(|(o, _)| outcome.as_ref().is_none_or(|x| x == *o))
                .map(|(_, c)| *c)
                .sum(),
            Term::Partner(op, outcome) => self
                .partner
                .iter()
                .filter(|((o, r), _)| o == op && outcome.as_ref().is_none_or(|x| x == r))
                .map(|(_, c)| *c)
                .sum(),
            Term::Quality(i, rule) => self
                .quality
                .iter()
                .filter(|(r, _)| rule.as_ref().is_none_or(|x| x == *r))
                .map(|(_, c)| c[*i])
                .sum(),
            Term::Docs(reused) => self.docs[usize::from(*reused)],
            Term::Submitted(form, row, column) => self
                .submitted
                .iter()
                .filter(|((f, r, c), _)| f == form && c == column && row.as_ref().is_none_or(|x| x == r))
                .map(|(_, v)| *v)
                .sum(),
        }
    }
}

pub fn level_code(l: Level) -> &'static str {
    l.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_parses_and_covers_the_seeds() {
        let c = catalogue();
        for group in ["services", "cards", "eid", "partners", "quality", "documents", "outreach"] {
            assert!(c.iter().any(|i| i.group == group), "{group}");
        }
        let mut codes: Vec<_> = c.iter().map(|i| &i.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), c.len(), "codes are unique");
        assert!(matches!(indicator("apps_online_share").unwrap().formula, Formula::Rate(..)));
    }

    #[test]
    fn bad_formulas_and_fields_are_named() {
        for f in
            ["apps:sent", "nowhere:x", "rate(apps:online)", "submitted:outreach.count", "apps:online.nosuch"]
        {
            assert_eq!(parse_formula(f).unwrap_err().rule, "indicator.formula", "{f}");
        }
        let head = "code,name_vi,name_en,unit,formula,direction,target,group\n";
        let e = parse_catalogue(&format!("{head}x,a,b,c,apps:received,up,,services\n")).unwrap_err();
        assert_eq!((e.rule, e.field.as_str()), ("indicator.direction", "line 2: direction"));
        let e = parse_catalogue(&format!("{head}x,a,b,c,apps:received,higher,lots,services\n")).unwrap_err();
        assert_eq!(e.rule, "indicator.target");
    }

    #[test]
    fn rates_are_computed_and_a_zero_denominator_has_no_value() {
        assert_eq!(Value::Rate { num: 0, den: 0 }.display(), "—");
        assert_eq!(Value::Rate { num: 36017, den: 42328 }.display(), "85,09%");
        assert_eq!(Value::Count(36017).display(), "36.017");
        assert_eq!(fmt_count(-1234567), "-1.234.567");
        let i = indicator("apps_online_share").unwrap();
        assert_eq!(i.meets(&Value::Rate { num: 0, den: 0 }), None);
        assert_eq!(i.meets(&Value::Rate { num: 61, den: 100 }), Some(true));
    }
}
