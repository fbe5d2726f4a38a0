//! A cell's value as typed: numbers in the Vietnamese style (`2.208`, `15,81%`) or the
//! English one (`2,208`, `15.81%`), spreadsheet errors (`#DIV/0!`), text, or nothing.

/// What one cell holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    /// A number; a percentage typed with `%` is stored divided by 100 (`15,81%` → 0.1581).
    Number {
        value: f64,
        /// Typed with a `%` sign.
        percent: bool,
        /// Digits typed after the decimal separator (for the rounding tolerance); `None`
        /// for a number read from a workbook (full precision).
        decimals: Option<u32>,
    },
    /// A spreadsheet error as shown (`#DIV/0!`, `#N/A`, `#VALUE!` …).
    Error(String),
    Text(String),
}

impl Value {
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Number { value, .. } => Some(*value),
            _ => None,
        }
    }

    /// Nothing, or a lone dash (typed for "none", or as a bullet in a label column).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(t) => is_dash(t),
            _ => false,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Reads typed text: blank and a lone dash (typed for "none") are empty.
    pub fn parse(raw: &str) -> Value {
        let s = raw.trim().trim_matches('\u{feff}');
        if s.is_empty() {
            return Value::Empty;
        }
        if is_error_text(s) {
            return Value::Error(s.to_ascii_uppercase());
        }
        let (body, percent) = match s.strip_suffix('%') {
            Some(b) => (b.trim_end(), true),
            None => (s, false),
        };
        match parse_number(body) {
            Some((v, decimals)) => Value::Number {
                value: if percent { v / 100.0 } else { v },
                percent,
                decimals: Some(decimals),
            },
            None => Value::Text(s.to_string()),
        }
    }
}

fn is_dash(s: &str) -> bool {
    matches!(s.trim(), "-" | "–" | "—")
}

fn is_error_text(s: &str) -> bool {
    const ERRORS: [&str; 8] = ["#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!"];
    ERRORS.iter().any(|e| s.eq_ignore_ascii_case(e))
}

/// A number with `.` or `,` as thousands or decimal separator, and how many decimals were
/// typed. Both present: the last is the decimal separator. One kind, repeated: thousands.
/// One kind, once: thousands when exactly three digits follow and one to three precede
/// (`2.208`, `36,017`), else decimals (`15,81`). Spaces between digit groups are ignored.
pub fn parse_number(s: &str) -> Option<(f64, u32)> {
    let s: String = s.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.as_str()),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return None;
    }
    if !body.starts_with(|c: char| c.is_ascii_digit()) || !body.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let dots = body.matches('.').count();
    let commas = body.matches(',').count();
    let decimal_sep = match (dots, commas) {
        (0, 0) => None,
        (_, 0) | (0, _) => {
            let sep = if dots > 0 { '.' } else { ',' };
            let n = dots + commas;
            let (head, tail) = body.rsplit_once(sep).unwrap();
            if n > 1 || (tail.len() == 3 && (1..=3).contains(&head.len()) && head != "0") {
                None
            } else {
                Some(sep)
            }
        }
        _ => {
            let last = body.rfind(['.', ',']).unwrap();
            Some(body.as_bytes()[last] as char)
        }
    };
    let (int_part, frac) = match decimal_sep {
        Some(sep) => {
            let (i, f) = body.rsplit_once(sep).unwrap();
            if f.contains(['.', ',']) {
                return None;
            }
            (i, f)
        }
        None => (body, ""),
    };
    // Thousands groups: the first of one to three digits, then groups of exactly three.
    let groups: Vec<&str> = int_part.split(['.', ',']).collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let digits: String = groups.concat();
    let text = if frac.is_empty() { digits } else { format!("{digits}.{frac}") };
    let v: f64 = text.parse().ok()?;
    Some((if neg { -v } else { v }, frac.len() as u32))
}

/// `36.017` (Vietnamese grouping) or `36,017`; decimals kept when not whole.
pub fn fmt_number(v: f64, vi: bool) -> String {
    let (group, dec) = if vi { ('.', ',') } else { (',', '.') };
    let neg = v < 0.0;
    let a = v.abs();
    let whole = a.trunc() as u64;
    let mut s = whole.to_string();
    let mut out = String::new();
    while s.len() > 3 {
        let tail = s.split_off(s.len() - 3);
        out = format!("{group}{tail}{out}");
    }
    out = format!("{s}{out}");
    let frac = a - a.trunc();
    if frac > 1e-9 {
        let f = format!("{:.2}", frac);
        out.push(dec);
        out.push_str(f.trim_start_matches("0.").trim_start_matches("1."));
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// A fraction as a percentage with two decimals: `85,29%` / `85.29%`.
pub fn fmt_pct(fraction: f64, vi: bool) -> String {
    let s = format!("{:.2}%", fraction * 100.0);
    if vi {
        s.replace('.', ",")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> f64 {
        Value::parse(s).number().unwrap_or(f64::NAN)
    }

    #[test]
    fn vietnamese_and_english_numbers() {
        assert_eq!(num("2.208"), 2208.0);
        assert_eq!(num("36,017"), 36017.0);
        assert_eq!(num("1.657.082"), 1657082.0);
        assert_eq!(num("1.234,5"), 1234.5);
        assert_eq!(num("1,234.5"), 1234.5);
        assert_eq!(num("0,5"), 0.5);
        assert_eq!(num("-3"), -3.0);
        assert!((num("15,81%") - 0.1581).abs() < 1e-12);
        assert!((num("100.00%") - 1.0).abs() < 1e-12);
        assert_eq!(Value::parse("12.34.5"), Value::Text("12.34.5".into()));
        assert!(Value::parse(" - ").is_empty() && Value::parse(" - ").number().is_none());
        assert_eq!(Value::parse("#div/0!"), Value::Error("#DIV/0!".into()));
        assert_eq!(Value::parse("x"), Value::Text("x".into()));
        match Value::parse("90,12%") {
            Value::Number { percent: true, decimals: Some(2), .. } => {}
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_number(36017.0, true), "36.017");
        assert_eq!(fmt_number(1657082.0, false), "1,657,082");
        assert_eq!(fmt_number(-5.0, true), "-5");
        assert_eq!(fmt_pct(0.852864, true), "85,29%");
        assert_eq!(fmt_pct(0.852864, false), "85.29%");
    }
}
